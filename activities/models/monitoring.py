"""Tabel 7 monitoring reports and SOP evaluations, signed off by the unit."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from activities.models.sops import Sop
from activities.models.units import Unit
from activities.time.periods import Period


class Assessment(models.TextChoices):
    GOOD = "good", _("Berjalan dengan baik")
    POOR = "poor", _("Tidak berjalan dengan baik")
    # No kegiatan finished in the period: nothing to judge the SOP by yet.
    NONE = "none", _("Belum ada kegiatan")


class SignOff(models.Model):
    """A record the penilai edits as a draft and then signs off (paraf: name, NIP, date).

    Once signed it is final; every saved state is kept in its history table.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draf")
        SIGNED = "signed", _("Sudah diparaf")

    period_start = models.DateField(_("periode dari"))
    period_end = models.DateField(_("periode sampai"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    reviewer_name = models.CharField(_("nama penilai"), max_length=200, blank=True)
    reviewer_nip = models.CharField(_("NIP penilai"), max_length=30, blank=True)
    signed_on = models.DateField(_("tanggal paraf"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("diparaf oleh"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dibuat oleh"),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    class Meta:
        abstract = True

    @property
    def is_signed(self):
        return self.status == self.Status.SIGNED

    @property
    def period(self):
        return Period(self.period_start, self.period_end)


class MonitoringReport(SignOff):
    """Tabel 7: the six-monthly monitoring of one SOP, or of all SOPs of a unit (sop empty)."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="monitoring_reports",
        verbose_name=_("unit kerja"),
    )
    sop = models.ForeignKey(
        Sop,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="monitoring_reports",
        verbose_name=_("SOP"),
        help_text=_("Kosong: satu formulir untuk semua SOP unit."),
    )
    on_time_threshold = models.PositiveSmallIntegerField(
        _("ambang tepat waktu (%)"),
        default=80,
        help_text=_(
            "Berjalan dengan baik bila bagian langkah dalam waktu baku paling sedikit ini."
        ),
    )
    return_threshold = models.PositiveSmallIntegerField(
        _("ambang pengembalian (%)"),
        default=30,
        help_text=_("… dan tidak ada langkah yang dikembalikan lebih sering dari ini."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "unit", "sop"]
        verbose_name = _("monitoring SOP (Tabel 7)")
        verbose_name_plural = _("monitoring SOP (Tabel 7)")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "sop", "period_start", "period_end"],
                name="unique_monitoring_per_sop_period",
            ),
            # NULLs are distinct in a unique constraint: the unit-wide form needs its own.
            models.UniqueConstraint(
                fields=["unit", "period_start", "period_end"],
                condition=Q(sop__isnull=True),
                name="unique_unit_monitoring_per_period",
            ),
        ]

    def __str__(self):
        subject = self.sop.name if self.sop_id else self.unit.short_name
        return f"{subject} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"


class MonitoringRow(models.Model):
    """One procedure (row) of a Tabel 7 form: proposed from the data, decided by the penilai."""

    report = models.ForeignKey(
        MonitoringReport, on_delete=models.CASCADE, related_name="rows", verbose_name=_("Tabel 7")
    )
    position = models.PositiveSmallIntegerField(_("no."), default=1)
    sop = models.ForeignKey(Sop, on_delete=models.PROTECT, related_name="+", verbose_name=_("SOP"))
    proposed = models.CharField(_("usulan penilaian"), max_length=10, choices=Assessment)
    basis = models.TextField(_("dasar usulan"), blank=True)
    assessment = models.CharField(_("penilaian"), max_length=10, choices=Assessment)
    notes = models.TextField(_("catatan"), blank=True)
    action = models.TextField(_("tindakan yang harus diambil"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "position"]
        verbose_name = _("baris monitoring")
        verbose_name_plural = _("baris monitoring")
        constraints = [
            models.UniqueConstraint(fields=["report", "sop"], name="unique_monitoring_row_sop"),
        ]

    def __str__(self):
        return f"{self.position}. {self.sop.name}"


class Answer(models.TextChoices):
    YES = "ya", _("Ya")
    NO = "tidak", _("Tidak")


def _answer_field(number):
    return models.CharField(
        _("jawaban %(number)s") % {"number": number},
        max_length=5,
        choices=Answer,
        blank=True,
    )


def _note_field(number):
    return models.TextField(_("catatan %(number)s") % {"number": number}, blank=True)


class SopEvaluation(SignOff):
    """The evaluation of an SOP: seven Ya/Tidak criteria with notes (Permenpan RB 35/2012)."""

    CRITERIA = (
        (1, _("Mampu mendorong peningkatan kinerja")),
        (2, _("Mudah dipahami")),
        (3, _("Mudah dilaksanakan")),
        (4, _("Semua orang dapat menjalankan perannya masing-masing")),
        (5, _("Mampu mengatasi permasalahan yang berkaitan dengan proses")),
        (6, _("Mampu menjawab kebutuhan peningkatan kinerja organisasi")),
        (7, _("Sinergi satu dengan lainnya")),
    )
    # Each criterion as the question the printed evaluation asks (Permenpan RB 35/2012).
    QUESTIONS = {
        1: _("Apakah SOP mampu mendorong peningkatan kinerja?"),
        2: _("Apakah SOP mudah dipahami?"),
        3: _("Apakah SOP mudah dilaksanakan?"),
        4: _("Apakah dengan SOP semua orang dapat menjalankan perannya masing-masing?"),
        5: _("Apakah SOP mampu mengatasi permasalahan yang berkaitan dengan proses?"),
        6: _("Apakah SOP mampu menjawab kebutuhan peningkatan kinerja organisasi?"),
        7: _("Apakah SOP dapat bersinergi satu dengan lainnya?"),
    }

    sop = models.ForeignKey(
        Sop, on_delete=models.PROTECT, related_name="evaluations", verbose_name=_("SOP")
    )
    answer_1 = _answer_field(1)
    note_1 = _note_field(1)
    answer_2 = _answer_field(2)
    note_2 = _note_field(2)
    answer_3 = _answer_field(3)
    note_3 = _note_field(3)
    answer_4 = _answer_field(4)
    note_4 = _note_field(4)
    answer_5 = _answer_field(5)
    note_5 = _note_field(5)
    answer_6 = _answer_field(6)
    note_6 = _note_field(6)
    answer_7 = _answer_field(7)
    note_7 = _note_field(7)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "sop"]
        verbose_name = _("evaluasi SOP")
        verbose_name_plural = _("evaluasi SOP")
        constraints = [
            models.UniqueConstraint(
                fields=["sop", "period_start", "period_end"], name="unique_evaluation_per_period"
            ),
        ]

    def __str__(self):
        return f"{self.sop.name} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"

    def answers(self):
        """[(number, criterion, answer, note)] in order."""
        return [
            (number, text, getattr(self, f"answer_{number}"), getattr(self, f"note_{number}"))
            for number, text in self.CRITERIA
        ]
