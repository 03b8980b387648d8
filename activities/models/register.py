"""The register of naskah numbers: the kode klasifikasi arsip and the yearly sequence per unit.

An archived laporan is a naskah dinas: it carries a number from its unit's register of the year
(`<klasifikasi>/<urut>/<kode unit>/<tahun>` by default, SOPFLOW_NOMOR_NASKAH_FORMAT). Each
number given is a `NaskahNumber` row, bound to its run for good (activities/documents/register.py
says when it is taken), so the sequence has neither gaps nor doubles. The kode klasifikasi follows the office's classification scheme (Permendagri
83/2022 for local governments); its records unit keeps the list in the admin, with history.
"""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from activities.models.base import ConfigurationHistory
from activities.models.runs import Run
from activities.models.units import Unit

CODE_VALIDATOR = RegexValidator(
    r"^\d{3}(\.\d{1,3}){0,4}$",
    _("Kode klasifikasi terdiri dari tiga angka, boleh diikuti sub-kode bertitik (000.1.2)."),
)


class Klasifikasi(models.Model):
    """One code of the classification scheme of archives (kode klasifikasi arsip)."""

    code = models.CharField(_("kode"), max_length=30, unique=True, validators=[CODE_VALIDATOR])
    title = models.CharField(_("uraian"), max_length=300)
    active = models.BooleanField(
        _("dipakai"),
        default=True,
        help_text=_("Kode yang tidak dipakai lagi tetap tercatat pada naskah lama."),
    )
    history = ConfigurationHistory()

    class Meta:
        ordering = ["code"]
        verbose_name = _("kode klasifikasi arsip")
        verbose_name_plural = _("kode klasifikasi arsip")

    def __str__(self):
        return f"{self.code} – {self.title}"


class NaskahCounter(models.Model):
    """The last number a unit gave a naskah in a year; locked while the next is taken."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit kerja")
    )
    year = models.PositiveSmallIntegerField(_("tahun"))
    last = models.PositiveIntegerField(_("nomor urut terakhir"), default=0)

    class Meta:
        verbose_name = _("register nomor naskah")
        verbose_name_plural = _("register nomor naskah")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="one_counter_per_unit_year"),
        ]

    def __str__(self):
        return f"{self.unit} {self.year}: {self.last}"


class NaskahNumber(models.Model):
    """One number of a unit's register of a year, and the run whose laporan carries it.

    Taken once per run and never given to another: a laporan printed with it for its officials'
    TTE keeps it whether or not the signing succeeds the first time."""

    run = models.OneToOneField(
        Run, on_delete=models.PROTECT, related_name="naskah_number", verbose_name=_("kegiatan")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit kerja")
    )
    year = models.PositiveSmallIntegerField(_("tahun"))
    number = models.PositiveIntegerField(_("nomor urut"))
    taken_at = models.DateTimeField(_("diambil"))

    class Meta:
        ordering = ["unit", "year", "number"]
        verbose_name = _("nomor naskah")
        verbose_name_plural = _("nomor naskah")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "number"], name="one_naskah_number"),
        ]

    def __str__(self):
        return f"{self.unit} {self.year}/{self.number}"
