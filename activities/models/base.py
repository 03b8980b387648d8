"""Pieces the models share: configuration history and the append-only base."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from activities.documents.letterhead import check_emblem


def validate_emblem(file):
    check_emblem(file)


class LetterheadRule(models.TextChoices):
    DOUBLE = "double", _("Garis ganda (tebal dan tipis)")
    SINGLE = "single", _("Satu garis")
    NONE = "none", _("Tanpa garis")


class ConfigurationHistory(HistoricalRecords):
    """django-simple-history for the configuration models: who changed what, when, with the
    values before and after (shown in the admin's "Riwayat").

    A many-to-many change made from the other side (`user.sop_roles.add(role)`) is recorded
    on the changed objects of this side too, so "who made this person the Kepala" is always
    in the role's history.
    """

    def m2m_changed(self, instance, action, attr, pk_set, reverse, model=None, **kwargs):
        if not reverse:
            return super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        if action in ("post_add", "post_remove") and pk_set:
            for obj in model.objects.filter(pk__in=pk_set):
                super().m2m_changed(obj, action, attr, None, False, **kwargs)
        return None


class AppendOnly(models.Model):
    """A record that is written once: saving an existing row or deleting one is refused."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("Catatan perubahan tidak dapat diubah."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Catatan perubahan tidak dapat dihapus."))


def normalize_nip(value):
    return "".join(ch for ch in value if ch.isdigit()) or value.strip()


def nip_problem(value, *, today=None):
    """Why `value` is not a NIP, or "". A NIP is 18 digits: birth date (yyyymmdd), the month of
    appointment as civil servant (TMT, yyyymm), sex (1 man, 2 woman) and a serial (001–999)."""
    import datetime

    today = today or datetime.date.today()
    digits = normalize_nip(value or "")
    if len(digits) != 18 or not digits.isdigit():
        return _("NIP terdiri dari 18 angka.")
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return _("Delapan angka pertama NIP bukan tanggal lahir yang sah.")
    if not 1930 <= born.year <= today.year - 17:
        return _("Tanggal lahir dalam NIP (%(year)s) tidak masuk akal.") % {"year": born.year}
    year, month = int(digits[8:12]), int(digits[12:14])
    if not 1 <= month <= 12:
        return _("Bulan TMT dalam NIP (angka ke-13 dan ke-14) bukan bulan yang sah.")
    if year < born.year + 17 or (year, month) > (today.year, today.month):
        return _("TMT dalam NIP (%(year)s) tidak masuk akal untuk tanggal lahirnya.") % {
            "year": year
        }
    if digits[14] not in "12":
        return _("Angka ke-15 NIP (jenis kelamin) harus 1 atau 2.")
    if digits[15:] == "000":
        return _("Nomor urut NIP (tiga angka terakhir) tidak boleh 000.")
    return ""


def validate_nip(value):
    problem = nip_problem(value)
    if problem:
        raise ValidationError(problem, code="nip")


def format_nip(value):
    """NIP 196406061985031015 → 19640606 198503 1 015 (birth date, appointment, sex, serial)."""
    digits = normalize_nip(value or "")
    if len(digits) != 18 or not digits.isdigit():
        return value or ""
    return f"{digits[:8]} {digits[8:14]} {digits[14]} {digits[15:]}"


def _sop_list(sops):
    return ", ".join(f"{sop.name} v{sop.version}" for sop in sops[:3])
