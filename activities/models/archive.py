"""Archived laporan of finished runs and period reports prepared by the worker."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models.runs import Run
from activities.models.sops import Sop
from activities.models.units import Unit


class ArchivedReport(models.Model):
    """The final laporan of a finished run, rendered once; downloads serve exactly these bytes."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="archived_report")
    file = models.FileField(_("berkas"), upload_to="arsip/%Y/", max_length=300)
    # Indexed: /verifikasi/ looks an uploaded PDF up by its hash.
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("ukuran"))
    archived_at = models.DateTimeField(_("diarsipkan"))
    # Printed on the document with its QR code; see activities/documents/verification.py. Reports
    # archived before verification existed have none printed; they got one by migration.
    code = models.CharField(_("kode verifikasi"), max_length=12, unique=True)
    signed_by = models.CharField(
        _("ditandatangani secara elektronik oleh"),
        max_length=300,
        blank=True,
        help_text=_("Subjek sertifikat penanda tangan; kosong bila tidak ditandatangani."),
    )
    # The naskah number as the document prints it (its place in the register is the run's
    # NaskahNumber, models/register.py); empty on laporan archived before the register existed.
    nomor = models.CharField(_("nomor naskah"), max_length=120, blank=True)
    klasifikasi = models.CharField(_("kode klasifikasi"), max_length=30, blank=True)
    # "B-B", "B-T" or "B-LT": the PAdES level the signature reached (timestamp, validation data).
    signature_level = models.CharField(_("tingkat tanda tangan"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("laporan arsip")
        verbose_name_plural = _("laporan arsip")

    def __str__(self):
        return f"{self.run} ({self.sha256[:12]})"


class SignedLaporan(models.Model):
    """The final laporan of a finished run while its officials sign it (TTE): rendered once at
    the first signature with its verification code, each signature added to the stored file;
    the worker seals the last one and archives it as the `ArchivedReport`."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="signed_laporan")
    code = models.CharField(_("kode verifikasi"), max_length=12, unique=True)
    file = models.FileField(_("berkas"), upload_to="tte/%Y/", max_length=300)
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(_("dibuat"))
    # Who signs, as the document prints them (decided on the day it was rendered).
    reporter = models.ForeignKey(
        "activities.Pegawai", on_delete=models.PROTECT, related_name="+", verbose_name=_("pelapor")
    )
    reporter_as = models.CharField(_("jabatan pelapor"), max_length=300)
    acknowledger = models.ForeignKey(
        "activities.Pegawai",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("mengetahui"),
    )
    acknowledger_as = models.CharField(_("jabatan yang mengetahui"), max_length=300)
    # The naskah number the page prints (the run's NaskahNumber, formatted on the day it was
    # rendered): the archive records exactly what the officials signed.
    nomor = models.CharField(_("nomor naskah"), max_length=120, blank=True)
    klasifikasi = models.CharField(_("kode klasifikasi"), max_length=30, blank=True)
    # Bumped by every signature: a signature made on an older file is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("laporan dalam penandatanganan")
        verbose_name_plural = _("laporan dalam penandatanganan")

    def __str__(self):
        return f"{self.run} ({self.code})"


class LaporanSignature(models.Model):
    """One official's TTE on a laporan: 1 the pelapor, 2 the official who acknowledges."""

    class Position(models.IntegerChoices):
        REPORTER = 1, _("Pelapor")
        ACKNOWLEDGER = 2, _("Mengetahui")

    laporan = models.ForeignKey(SignedLaporan, on_delete=models.PROTECT, related_name="signatures")
    position = models.PositiveSmallIntegerField(_("urutan"), choices=Position.choices)
    pegawai = models.ForeignKey(
        "activities.Pegawai", on_delete=models.PROTECT, related_name="+", verbose_name=_("pegawai")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("akun")
    )
    signed_as = models.CharField(_("sebagai"), max_length=300)
    signed_at = models.DateTimeField(_("ditandatangani"))
    sha256 = models.CharField(_("SHA-256 sesudahnya"), max_length=64)
    certificate_subject = models.CharField(_("subjek sertifikat"), max_length=500)

    class Meta:
        ordering = ["laporan", "position"]
        verbose_name = _("tanda tangan laporan")
        verbose_name_plural = _("tanda tangan laporan")
        constraints = [
            models.UniqueConstraint(fields=["laporan", "position"], name="one_signature_per_block"),
        ]

    def __str__(self):
        return f"{self.laporan} {self.get_position_display()}"


class PeriodReport(models.Model):
    """A period report (laporan arsip) too large to render in the request, prepared by the
    worker for the user who asked (`activities.documents.period_reports`) and kept for
    SOPFLOW_PERIOD_REPORT_KEEP_HOURS."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Menunggu giliran")
        RUNNING = "running", _("Sedang disiapkan")
        READY = "ready", _("Siap diunduh")
        FAILED = "failed", _("Gagal")
        EXPIRED = "expired", _("Kedaluwarsa")

    # A report in one of these states answers a second request for the same period.
    LIVE = (Status.QUEUED, Status.RUNNING, Status.READY)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="period_reports",
        verbose_name=_("diminta oleh"),
    )
    units = models.ManyToManyField(Unit, related_name="+", verbose_name=_("unit kerja"))
    # The sorted ids of `units` ("1,4"): the units' part of the one-live-report constraint,
    # which cannot reach into a many-to-many table. Text: a superuser's report covers every unit.
    unit_ids = models.TextField(editable=False)
    sop = models.ForeignKey(
        Sop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SOP"),
    )
    date_from = models.DateField(_("dari tanggal"))
    date_to = models.DateField(_("sampai tanggal"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(_("kegiatan diolah"), default=0)
    total = models.PositiveIntegerField(_("jumlah kegiatan"), default=0)
    file = models.FileField(
        _("berkas"), upload_to="laporan-periode/%Y/", max_length=300, blank=True
    )
    created_at = models.DateTimeField(_("diminta"), default=timezone.now)
    # Stamped by the worker that claimed the report; its later writes name this moment, so a
    # second worker (or a stale one) never writes over the first.
    started_at = models.DateTimeField(_("mulai disiapkan"), null=True, blank=True)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kedaluwarsa"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)
    error = models.TextField(_("galat"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("laporan periode")
        verbose_name_plural = _("laporan periode")
        constraints = [
            # One live report per user and parameters: a double click or two racing requests
            # get the same row (an SOP left empty counts as the same "all SOPs").
            models.UniqueConstraint(
                models.F("requested_by"),
                models.F("unit_ids"),
                Coalesce(models.F("sop"), models.Value(0)),
                models.F("date_from"),
                models.F("date_to"),
                condition=Q(status__in=["queued", "running", "ready"]),
                name="one_live_period_report",
            ),
        ]
        indexes = [
            # The expiry job: ready reports whose time is up.
            models.Index(fields=["status", "expires_at"], name="period_report_expiry"),
        ]

    def __str__(self):
        return f"{self.date_from}–{self.date_to} ({self.requested_by})"

    def get_absolute_url(self):
        return reverse("period_report", args=[self.pk])

    @property
    def pending(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def is_expired(self, now=None):
        if self.status == self.Status.EXPIRED:
            return True
        return (
            self.status == self.Status.READY
            and self.expires_at is not None
            and self.expires_at <= (now or timezone.now())
        )

    @property
    def percent(self):
        """How far the worker is, 0–100, for the progress bar."""
        if self.status == self.Status.READY:
            return 100
        if not self.total:
            return 0
        return min(100, round(100 * self.done / self.total))
