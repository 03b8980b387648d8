"""sopflow's domain: SOP definitions (Unit, Role, Sop, Step) and their runs (Run, StepRun, Event).

State changes of runs live in `activities.workflow`; time maths in `activities.durations` and
`activities.calendar`. Models here hold data, named queries and small derived values.
"""

import functools
import threading

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, connections, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords

from activities import chain, durations
from activities.calendar import DEFAULT_WEEK, RAMADAN_WEEK, OfficeCalendar
from activities.periods import Period


def validate_emblem(file):
    # Imported here: letterhead imports nothing from the models, but keeps the rule in one place.
    from activities.letterhead import check_emblem

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


def _policy():
    # The policy reads these models; it is imported when a query is built, not at load time.
    from activities import policy

    return policy


class UnitQuerySet(models.QuerySet):
    def for_user(self, user):
        """Units whose SOPs and runs the user may see (`policy.visible_units`)."""
        return self & _policy().visible_units(user)

    def calendars(self, unit_ids):
        """{unit id: OfficeCalendar} for these units: one query for their calendar versions,
        the calendars themselves from the process's cache (`unit_calendar`)."""
        if not unit_ids:
            return {}
        versions = self.filter(pk__in=unit_ids).values_list("pk", "calendar_version")
        return {pk: unit_calendar(pk, version) for pk, version in versions}


class Unit(models.Model):
    """An office (perangkat daerah) that owns SOPs, roles and runs."""

    name = models.CharField(_("nama"), max_length=200)
    short_name = models.CharField(_("singkatan"), max_length=40, unique=True)
    parent_name = models.CharField(
        _("pemerintah"), max_length=200, default="Pemerintah Kota Tangerang"
    )
    address = models.CharField(_("alamat"), max_length=300, blank=True)
    # The kop surat, as the unit writes it (see activities/letterhead.py).
    emblem = models.FileField(
        _("lambang"),
        upload_to="lambang/",
        max_length=300,
        blank=True,
        validators=[validate_emblem],
        help_text=_("Lambang di kop surat: PNG, JPEG atau SVG, paling besar 1 MB."),
    )
    letterhead_name = models.TextField(
        _("nama unit di kop"),
        blank=True,
        help_text=_("Seperti ditulis di kop surat, satu baris per baris; kosong: nama unit kerja."),
    )
    phone = models.CharField(_("telepon"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), max_length=200, blank=True)
    website = models.CharField(_("laman"), max_length=200, blank=True)
    letterhead_rule = models.CharField(
        _("garis kop"),
        max_length=10,
        choices=LetterheadRule,
        default=LetterheadRule.DOUBLE,
    )
    head_title = models.CharField(
        _("jabatan pimpinan"),
        max_length=200,
        blank=True,
        help_text=_("Dicetak di blok tanda tangan laporan, mis. “Kepala Kantor Kesbangpol”."),
    )
    head_name = models.CharField(_("nama pimpinan"), max_length=200, blank=True)
    head_rank = models.CharField(_("pangkat/golongan pimpinan"), max_length=100, blank=True)
    head_nip = models.CharField(_("NIP pimpinan"), max_length=30, blank=True)
    # Moves by one (an F() update, `bump_calendar_version`) whenever a row of the unit's working
    # hours, days off or special periods is saved or deleted: the key of the built calendar in
    # each process's cache, so a change made in one process is seen by the others on their next
    # read of the unit row. Not configuration, so not in the history.
    calendar_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    objects = UnitQuerySet.as_manager()
    history = ConfigurationHistory(excluded_fields=["calendar_version"])

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit kerja")
        verbose_name_plural = _("unit kerja")

    def __str__(self):
        return self.short_name

    def save(self, *args, **kwargs):
        # calendar_version moves only by its F() update: a unit read before a calendar change
        # and saved after it must not write the older number back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            skipped = {"calendar_version", *self.get_deferred_fields()}
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key and field.attname not in skipped
            ]
        super().save(*args, **kwargs)

    def clean(self):
        if self.head_nip:
            self.head_nip = normalize_nip(self.head_nip)

    @functools.cached_property
    def calendar(self):
        """The unit's office calendar (`unit_calendar`), for the calendar version this unit row
        was read with."""
        return unit_calendar(self.pk, self.calendar_version)


# Built calendars by (unit id, calendar version), shared by the requests of this process. A
# city has a few dozen units; an old version is never asked for again, so the oldest entries
# go when the cache is full.
CALENDAR_CACHE_SIZE = 256
_calendars = {}
_calendars_lock = threading.Lock()


def unit_calendar(unit_id, version):
    """The office calendar of the unit at `version` of its calendar: its working week, national
    holidays, its own days off, and its special (Ramadan) hours on the dates of its special
    periods. A unit that has not written a week of its own works the ASN default
    (activities.calendar).

    Built from the rows on the first request for the version, then taken from this process's
    cache; the calendar is shared, so it must not be changed. A calendar built inside a
    transaction that changed calendar rows is not kept: the transaction may roll back and
    its version number come again with other rows.
    """
    key = (unit_id, version)
    calendar = _calendars.get(key)
    if calendar is not None:
        return calendar
    calendar = _build_calendar(unit_id)
    if _may_keep_calendars():
        with _calendars_lock:
            while len(_calendars) >= CALENDAR_CACHE_SIZE:
                del _calendars[next(iter(_calendars))]
            _calendars[key] = calendar
    return calendar


def _build_calendar(unit_id):
    weeks = {kind: {} for kind in UnitWorkingHours.Week.values}
    hours = UnitWorkingHours.objects.filter(unit_id=unit_id).order_by()
    for week, weekday, start, end in hours.values_list("week", "weekday", "start", "end"):
        weeks[week].setdefault(weekday, []).append((start, end))
    regular = weeks[UnitWorkingHours.Week.REGULAR] or DEFAULT_WEEK
    special_week = weeks[UnitWorkingHours.Week.SPECIAL] or RAMADAN_WEEK
    days_off = dict(
        UnitDayOff.objects.filter(unit_id=unit_id).order_by().values_list("date", "description")
    )
    special = [
        (start_date, end_date, special_week)
        for start_date, end_date in UnitSpecialSchedule.objects.filter(unit_id=unit_id)
        .order_by("start_date")
        .values_list("start_date", "end_date")
    ]
    return OfficeCalendar(
        tz=settings.TIME_ZONE, week=regular, days_off=days_off, special_weeks=special
    )


def _may_keep_calendars():
    if not connection.in_atomic_block:
        connection.sopflow_calendar_changed = False
        return True
    return not getattr(connection, "sopflow_calendar_changed", False)


def bump_calendar_version(unit_id):
    """A row of the unit's calendar changed: the next read of the unit row builds it again.

    `UnitCalendarRow.save()`/`delete()` call it; a queryset `update()`, `delete()` or
    `bulk_create()` of those rows bypasses them and must call it itself.
    """
    Unit.objects.filter(pk=unit_id).update(calendar_version=F("calendar_version") + 1)
    if connection.in_atomic_block:
        connection.sopflow_calendar_changed = True


def forget_calendars():
    """Empty this process's calendar cache (tests: a rolled-back test's unit ids come again)."""
    with _calendars_lock:
        _calendars.clear()
    connection.sopflow_calendar_changed = False


class UnitCalendarRow(models.Model):
    """A row of a unit's calendar: saving or deleting it moves the unit's calendar version."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._calendar_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self._calendar_changed()
        return result

    def _calendar_changed(self):
        bump_calendar_version(self.unit_id)
        # The unit this row was saved with (an admin form's, a test's) reads its calendar
        # afresh too.
        if self._meta.get_field("unit").is_cached(self):
            self.unit.refresh_from_db(fields=["calendar_version"])
            self.unit.__dict__.pop("calendar", None)


class UnitWorkingHours(UnitCalendarRow):
    """One working interval of a weekday of a unit's week: the regular week, or the week of its
    special periods (Ramadan). A day with two intervals has a break between them."""

    class Week(models.TextChoices):
        REGULAR = "regular", _("Minggu kerja biasa")
        SPECIAL = "special", _("Periode khusus (Ramadan)")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Senin")
        TUESDAY = 1, _("Selasa")
        WEDNESDAY = 2, _("Rabu")
        THURSDAY = 3, _("Kamis")
        FRIDAY = 4, _("Jumat")
        SATURDAY = 5, _("Sabtu")
        SUNDAY = 6, _("Minggu")

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="working_hours", verbose_name=_("unit kerja")
    )
    week = models.CharField(_("pola"), max_length=10, choices=Week, default=Week.REGULAR)
    weekday = models.PositiveSmallIntegerField(_("hari"), choices=Weekday)
    start = models.TimeField(_("mulai"))
    end = models.TimeField(_("sampai"))
    history = ConfigurationHistory()

    class Meta:
        ordering = ["unit", "week", "weekday", "start"]
        verbose_name = _("jam kerja")
        verbose_name_plural = _("jam kerja")

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("Jam selesai harus sesudah jam mulai.")})


class UnitDayOff(UnitCalendarRow):
    """A day the unit does not work beyond national holidays (a local holiday, an election)."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="days_off", verbose_name=_("unit kerja")
    )
    date = models.DateField(_("tanggal"))
    description = models.CharField(_("keterangan"), max_length=200)
    history = ConfigurationHistory()

    class Meta:
        ordering = ["date"]
        verbose_name = _("hari libur unit")
        verbose_name_plural = _("hari libur unit")
        constraints = [
            models.UniqueConstraint(fields=["unit", "date"], name="unique_unit_day_off"),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.description}"


class UnitSpecialSchedule(UnitCalendarRow):
    """A period with the Ramadan working hours (32.5 hours a week from 08:00)."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        related_name="special_schedules",
        verbose_name=_("unit kerja"),
    )
    name = models.CharField(_("nama"), max_length=100, default="Ramadan")
    start_date = models.DateField(_("mulai"))
    end_date = models.DateField(_("sampai"))
    history = ConfigurationHistory()

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("jadwal kerja Ramadan")
        verbose_name_plural = _("jadwal kerja Ramadan")

    def __str__(self):
        return f"{self.name} {self.start_date:%Y-%m-%d}–{self.end_date:%Y-%m-%d}"

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError(
                {"end_date": _("Tanggal akhir tidak boleh sebelum tanggal mulai.")}
            )


# Kept so that a membership changed through the through model (the user admin's inline)
# can be recorded on the role as well.
ROLE_HISTORY = ConfigurationHistory(m2m_fields=["members"])


def record_membership_change(role):
    """A history row for `role` with its current holders, after its membership changed."""
    ROLE_HISTORY.create_historical_record(role, "~")


class Role(models.Model):
    """A position (pelaksana) in a unit. Users hold roles; a role is one column of an SOP."""

    class Kind(models.TextChoices):
        HEAD = "head", _("Pimpinan")
        RECORDS = "records", _("Tata usaha")
        MEMBER = "member", _("Pelaksana")

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="roles", verbose_name=_("unit kerja")
    )
    name = models.CharField(_("nama jabatan"), max_length=120)
    kind = models.CharField(
        _("jenis"),
        max_length=10,
        choices=Kind,
        default=Kind.MEMBER,
        help_text=_("Pimpinan menandatangani laporan; tata usaha mengelola surat."),
    )
    position = models.PositiveSmallIntegerField(
        _("urutan kolom"), default=0, help_text=_("Urutan kolom pelaksana di tabel SOP.")
    )
    reports_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subordinates",
        verbose_name=_("atasan"),
        help_text=_("Jabatan yang menerima eskalasi bila langkah jabatan ini terlambat."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sop_roles",
        blank=True,
        verbose_name=_("pemegang jabatan"),
    )
    # Capabilities of the role's holders in its unit; `activities.policy` reads them. Acting
    # for a role (Plt./Plh.) gives its steps, not these.
    opens_runs = models.BooleanField(
        _("membuka kegiatan"), default=False, help_text=_("Membuka kegiatan dari SOP unit ini.")
    )
    cancels_runs = models.BooleanField(
        _("membatalkan kegiatan"), default=False, help_text=_("Membatalkan kegiatan yang berjalan.")
    )
    keeps_archive = models.BooleanField(
        _("membuka arsip"), default=False, help_text=_("Membuka arsip kegiatan unit.")
    )
    exports_archive = models.BooleanField(
        _("mengekspor arsip"),
        default=False,
        help_text=_("Mengunduh arsip sebagai CSV/XLSX dan laporan periode."),
    )
    maintains_sops = models.BooleanField(
        _("menyusun SOP"), default=False, help_text=_("Menyusun dan memelihara SOP unit.")
    )
    appoints_acting = models.BooleanField(
        _("menunjuk Plt./Plh."),
        default=False,
        help_text=_("Menunjuk pelaksana tugas/harian untuk jabatan di unit."),
    )
    sees_statistics = models.BooleanField(
        _("melihat statistik"), default=False, help_text=_("Melihat statistik kinerja unit.")
    )
    approves_sops = models.BooleanField(
        _("mengesahkan SOP"),
        default=False,
        help_text=_("Mengesahkan SOP unit yang diajukan (atau mengembalikannya dengan catatan)."),
    )
    history = ROLE_HISTORY

    class Meta:
        ordering = ["unit", "position", "name"]
        verbose_name = _("jabatan")
        verbose_name_plural = _("jabatan")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="unique_role_name_per_unit"),
        ]

    def __str__(self):
        return self.name

    def frozen_sops(self):
        """The SOP versions with runs whose steps name this role: they fix its unit and life."""
        if self.pk is None:
            return Sop.objects.none()
        return Sop.objects.filter(steps__roles=self, runs__isnull=False).distinct()

    def clean(self):
        self._clean_unit()
        self._clean_reports_to()

    def _clean_unit(self):
        if self.pk is None:
            return
        old_unit = Role.objects.filter(pk=self.pk).values_list("unit_id", flat=True).first()
        if old_unit is not None and old_unit != self.unit_id and self.frozen_sops().exists():
            raise ValidationError(
                {
                    "unit": _(
                        "Jabatan ini dipakai SOP yang sudah dijalankan (%(sops)s), jadi tidak "
                        "dapat dipindah ke unit lain. Buat jabatan baru di unit tujuan."
                    )
                    % {"sops": _sop_list(self.frozen_sops())}
                }
            )

    def _clean_reports_to(self):
        if self.reports_to_id is None:
            return
        if self.reports_to.unit_id != self.unit_id:
            raise ValidationError(
                {"reports_to": _("Atasan harus jabatan di unit kerja yang sama.")}
            )
        seen, role = {self.pk}, self.reports_to
        while role is not None:
            if role.pk in seen:
                raise ValidationError({"reports_to": _("Rantai atasan tidak boleh melingkar.")})
            seen.add(role.pk)
            role = role.reports_to

    def delete(self, *args, **kwargs):
        frozen = self.frozen_sops()
        if frozen.exists():
            raise ValidationError(
                _(
                    "Jabatan “%(role)s” dipakai SOP yang sudah dijalankan (%(sops)s) dan tidak "
                    "dapat dihapus."
                )
                % {"role": self.name, "sops": _sop_list(frozen)}
            )
        return super().delete(*args, **kwargs)


def _sop_list(sops):
    return ", ".join(f"{sop.name} v{sop.version}" for sop in sops[:3])


# The labels of an SOP document's identity block as Permenpan RB 35/2012 writes them; an SOP
# whose document says otherwise ("Tgl Pengesahan") keeps its own in its label_* fields.
SOP_LABELS = {
    "number": "Nomor SOP",
    "made_on": "Tanggal Pembuatan",
    "revised_on": "Tanggal Revisi",
    "effective_on": "Tanggal Efektif",
    "approved_by": "Disahkan Oleh",
    "name": "Nama SOP",
}


class SopQuerySet(models.QuerySet):
    def for_user(self, user):
        """SOPs the user may see (`policy.visible_sops`)."""
        return self & _policy().visible_sops(user)

    def active(self):
        return self.filter(status=Sop.Status.ACTIVE)


class Sop(models.Model):
    """One version of a Standard Operating Procedure, as its official document states it.

    A version that has runs is frozen: changes are made in a new version (the admin's
    "buat revisi" action), so every run keeps the procedure it was opened from.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draf")
        SUBMITTED = "submitted", _("Diajukan untuk disahkan")
        ACTIVE = "active", _("Berlaku")
        RETIRED = "retired", _("Tidak berlaku")

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="sops", verbose_name=_("unit kerja")
    )
    section_name = models.CharField(
        _("bidang/seksi"), max_length=200, blank=True, help_text=_("Seperti tertulis di kop SOP.")
    )
    number = models.CharField(_("nomor SOP"), max_length=120, blank=True)
    name = models.CharField(_("nama SOP"), max_length=300)
    # The documents write these loosely ("-----September 2018", or nothing at all), so they
    # are kept as written rather than forced into dates that were never decided.
    made_on = models.CharField(_("tanggal pembuatan"), max_length=60, blank=True)
    revised_on = models.CharField(_("tanggal revisi"), max_length=60, blank=True)
    effective_on = models.CharField(_("tanggal efektif/pengesahan"), max_length=60, blank=True)
    approver_title = models.CharField(_("disahkan oleh (jabatan)"), max_length=200, blank=True)
    approver_name = models.CharField(_("disahkan oleh (nama)"), max_length=200, blank=True)
    approver_rank = models.CharField(_("pangkat/golongan"), max_length=100, blank=True)
    approver_nip = models.CharField(_("NIP"), max_length=30, blank=True)
    # The document's own words: SOPs of different offices label the same particulars
    # differently ("Tgl Pengesahan", "Nomor"); the defaults are Permenpan RB 35/2012's.
    heading = models.TextField(
        _("kop SOP"),
        blank=True,
        help_text=_(
            "Baris-baris di sel kop dokumen SOP, satu baris per baris; kosong: pemerintah, "
            "unit kerja dan bidang/seksi."
        ),
    )
    label_number = models.CharField(
        _("label nomor"), max_length=60, blank=True, default=SOP_LABELS["number"]
    )
    label_made_on = models.CharField(
        _("label tanggal pembuatan"), max_length=60, blank=True, default=SOP_LABELS["made_on"]
    )
    label_revised_on = models.CharField(
        _("label tanggal revisi"), max_length=60, blank=True, default=SOP_LABELS["revised_on"]
    )
    label_effective_on = models.CharField(
        _("label tanggal efektif/pengesahan"),
        max_length=60,
        blank=True,
        default=SOP_LABELS["effective_on"],
    )
    label_approved_by = models.CharField(
        _("label disahkan oleh"), max_length=60, blank=True, default=SOP_LABELS["approved_by"]
    )
    label_name = models.CharField(
        _("label nama SOP"), max_length=60, blank=True, default=SOP_LABELS["name"]
    )
    version = models.PositiveIntegerField(_("versi"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    # The pelaksana names as they were when the first run of this version opened: a role
    # renamed later keeps its old name in this version's document and its runs' laporan.
    role_names = models.JSONField(
        _("nama jabatan saat dibekukan"), default=dict, blank=True, editable=False
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("versi sebelumnya"),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    objects = SopQuerySet.as_manager()
    history = ConfigurationHistory()

    class Meta:
        ordering = ["unit", "name", "-version"]
        verbose_name = _("SOP")
        verbose_name_plural = _("SOP")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name", "version"], name="unique_sop_version"),
            models.UniqueConstraint(
                fields=["unit", "name"],
                condition=Q(status="active"),
                name="one_active_version_per_sop",
            ),
        ]

    def __str__(self):
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self):
        return reverse("sop_detail", args=[self.pk])

    def clean(self):
        if self.approver_nip:
            self.approver_nip = normalize_nip(self.approver_nip)

    @property
    def is_frozen(self):
        """A version that runs were opened from never changes again."""
        return self.pk is not None and self.runs.exists()

    @property
    def labels(self):
        """{particular: label} of the identity block; an empty label is the official one."""
        return {
            key: getattr(self, f"label_{key}").strip() or default
            for key, default in SOP_LABELS.items()
        }

    @property
    def heading_lines(self):
        """The lines of the document's kop cell, as the SOP writes them."""
        lines = [line.strip() for line in self.heading.splitlines() if line.strip()]
        if lines:
            return lines
        return [line for line in (self.unit.parent_name, self.unit.name, self.section_name) if line]

    def items(self, section):
        return [item.text for item in self.sop_items.all() if item.section == section]

    def standard_total(self, steps=None):
        """(days, minutes) as the document totals it: days as days, the rest as minutes."""
        steps = self.steps.all() if steps is None else steps
        return durations.total(step.standard for step in steps)

    def standard_total_display(self, steps=None):
        return durations.format_total(*self.standard_total(steps))

    def columns(self, steps=None):
        """The pelaksana columns of the document: every role a step uses, in column order."""
        steps = self.steps.all() if steps is None else steps
        roles = {role.pk: role for step in steps for role in step.roles.all()}
        return sorted(roles.values(), key=lambda role: (role.position, role.name))

    def role_name(self, role):
        """`role`'s name as this version prints it: as it was when the version froze."""
        return self.role_names.get(str(role.pk), role.name)

    def freeze_role_names(self):
        """Keep the names of this version's pelaksana, once (its first run is opening)."""
        if self.role_names:
            return
        roles = Role.objects.filter(steps__sop=self).distinct()
        self.role_names = {str(role.pk): role.name for role in roles}
        Sop.objects.filter(pk=self.pk).update(role_names=self.role_names)


class SopItem(models.Model):
    """One numbered line of an identity section (dasar hukum, peralatan, …) of an SOP."""

    class Section(models.TextChoices):
        LEGAL_BASIS = "legal_basis", _("Dasar hukum")
        QUALIFICATION = "qualification", _("Kualifikasi pelaksana")
        RELATED = "related", _("Keterkaitan")
        EQUIPMENT = "equipment", _("Peralatan/perlengkapan")
        WARNING = "warning", _("Peringatan")
        RECORDS = "records", _("Pencatatan dan pendataan")

    sop = models.ForeignKey(
        Sop, on_delete=models.CASCADE, related_name="sop_items", verbose_name=_("SOP")
    )
    section = models.CharField(_("bagian"), max_length=20, choices=Section)
    position = models.PositiveSmallIntegerField(_("urutan"), default=0)
    text = models.TextField(_("isi"))
    history = ConfigurationHistory()

    class Meta:
        ordering = ["section", "position", "pk"]
        verbose_name = _("butir identitas SOP")
        verbose_name_plural = _("butir identitas SOP")

    def __str__(self):
        return self.text[:80]


def validate_standard_text(value):
    try:
        durations.parse(value)
    except durations.DurationError as error:
        raise ValidationError(duration_error_message(error), code=error.code) from None


def duration_error_message(error):
    messages = {
        "empty": _("Waktu wajib diisi, mis. “15 menit”, “2 jam” atau “1 hari”."),
        "format": _(
            "“%(text)s” bukan waktu yang dikenali. Tulis angka bulat lalu satuannya, "
            "mis. “15 menit”, “2 jam” atau “1 hari”."
        ),
        "negative": _("Waktu tidak boleh negatif: “%(text)s”."),
        "zero": _("Waktu harus lebih dari nol: “%(text)s”."),
        "unit": _("Satuan waktu pada “%(text)s” tidak dikenali; gunakan menit, jam atau hari."),
    }
    return messages.get(error.code, messages["format"]) % {"text": error.text}


class Step(models.Model):
    """One numbered activity of an SOP with its performer(s) and quality standard (mutu baku)."""

    class Kind(models.TextChoices):
        START = "start", _("Mulai")
        PROCESS = "process", _("Proses")
        DECISION = "decision", _("Keputusan/persetujuan")
        END = "end", _("Selesai")

    sop = models.ForeignKey(Sop, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(_("nomor"))
    activity = models.TextField(_("aktivitas"))
    kind = models.CharField(_("simbol"), max_length=10, choices=Kind, default=Kind.PROCESS)
    roles = models.ManyToManyField(Role, related_name="steps", verbose_name=_("pelaksana"))
    requirements = models.TextField(_("kelengkapan"), blank=True)
    standard_text = models.CharField(
        _("waktu"),
        max_length=40,
        validators=[validate_standard_text],
        help_text=_("Seperti di dokumen: “15 Menit”, “2 jam”, “1 hari”."),
    )
    standard_minutes = models.PositiveIntegerField(_("waktu (menit kerja)"), editable=False)
    output = models.TextField(_("output"), blank=True)
    remarks = models.TextField(_("keterangan"), blank=True)
    return_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dikembalikan ke langkah"),
        help_text=_("Untuk langkah persetujuan: langkah yang diulang bila dikembalikan."),
    )
    history = ConfigurationHistory(m2m_fields=[roles])

    class Meta:
        ordering = ["sop", "number"]
        verbose_name = _("langkah SOP")
        verbose_name_plural = _("langkah SOP")
        constraints = [
            models.UniqueConstraint(fields=["sop", "number"], name="unique_step_number"),
        ]

    def __str__(self):
        return f"{self.number}. {self.activity[:60]}"

    def save(self, *args, **kwargs):
        # A day counts as the full working day of the SOP's unit; due times count days as
        # working days of the unit's calendar (OfficeCalendar.due).
        self.standard_minutes = self.standard.minutes(self.sop.unit.calendar.day_minutes)
        super().save(*args, **kwargs)

    @property
    def standard(self):
        return durations.parse(self.standard_text)

    @property
    def standard_display(self):
        """The waktu as written, with the tab some documents put between number and unit."""
        return " ".join(self.standard_text.split())

    @property
    def is_approval(self):
        return self.kind == self.Kind.DECISION

    def requirement_items(self):
        """Kelengkapan as a checklist: the document separates items with commas and “dan”."""
        text = self.requirements.replace(" dan ", ", ")
        return [item.strip() for item in text.split(",") if item.strip()]


class ReviewNote(models.Model):
    """A cell of a draft that a person must check: an importer's guess, a doubtful waktu.

    Tied to a step (or to the SOP itself for identity fields); the editor shows it on its cell
    and removes it once the cell is changed or confirmed. A draft with notes left is not
    submitted for pengesahan.
    """

    sop = models.ForeignKey(
        Sop, on_delete=models.CASCADE, related_name="review_notes", verbose_name=_("SOP")
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="review_notes",
        verbose_name=_("langkah"),
    )
    field = models.CharField(_("isian"), max_length=40)
    message = models.TextField(_("catatan"))

    class Meta:
        ordering = ["sop", "step__number", "field", "pk"]
        verbose_name = _("catatan pemeriksaan")
        verbose_name_plural = _("catatan pemeriksaan")

    def __str__(self):
        return self.message[:80]


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


class SopAct(AppendOnly):
    """One act of pengesahan on an SOP version: submitted, returned with notes, approved.

    Append-only like `Event` (which belongs to runs): rows are never changed or deleted."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Diajukan untuk disahkan")
        RETURNED = "returned", _("Dikembalikan untuk diperbaiki")
        APPROVED = "approved", _("Disahkan")

    sop = models.ForeignKey(Sop, on_delete=models.PROTECT, related_name="acts")
    kind = models.CharField(_("tindakan"), max_length=10, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("oleh")
    )
    at = models.DateTimeField(_("waktu"))
    notes = models.TextField(_("catatan"), blank=True)
    # What changed with the act: the status before and after, the retired version, the date.
    after = models.JSONField(_("sesudah"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("tindakan pengesahan SOP")
        verbose_name_plural = _("tindakan pengesahan SOP")

    def __str__(self):
        return f"{self.sop} · {self.get_kind_display()}"


def normalize_nip(value):
    return "".join(ch for ch in value if ch.isdigit()) or value.strip()


def format_nip(value):
    """NIP 196406061985031015 → 19640606 198503 1 015 (birth date, appointment, sex, serial)."""
    digits = normalize_nip(value or "")
    if len(digits) != 18 or not digits.isdigit():
        return value or ""
    return f"{digits[:8]} {digits[8:14]} {digits[14]} {digits[15:]}"


class Acting(models.TextChoices):
    """Pelaksana tugas (Plt., a vacant post) and pelaksana harian (Plh., the holder is away)."""

    PLT = "plt", _("Plt.")
    PLH = "plh", _("Plh.")


def performed_as(role, acting, sop=None):
    """“Plh. Kepala” for an acting performer, else the role's name; as `sop` prints it."""
    if role is None:
        return ""
    name = sop.role_name(role) if sop is not None else role.name
    if acting:
        return f"{Acting(acting).label} {name}"
    return name


class ActingAppointmentQuerySet(models.QuerySet):
    def in_force(self, day):
        """Appointments whose range covers `day` (a date in Jakarta) and not ended early."""
        return self.filter(start_date__lte=day, end_date__gte=day, ended_at__isnull=True)


class ActingAppointment(models.Model):
    """A surat perintah: `person` acts as Plt./Plh. of `role` from start to end date.

    While it is in force the person has the role's steps in his inbox and acts on them as
    “Plh. <role>”; the role's holders keep their own access.
    """

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("unit kerja")
    )
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("jabatan")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="acting_appointments",
        verbose_name=_("pelaksana"),
    )
    kind = models.CharField(_("jenis"), max_length=3, choices=Acting.choices, default=Acting.PLH)
    start_date = models.DateField(_("mulai"))
    end_date = models.DateField(_("sampai"))
    letter_number = models.CharField(_("nomor surat perintah"), max_length=120)
    letter_date = models.DateField(_("tanggal surat perintah"))
    reason = models.CharField(_("alasan"), max_length=300)
    # As the surat perintah names the appointee; printed in the laporan's signature block.
    person_rank = models.CharField(_("pangkat/golongan"), max_length=100, blank=True)
    person_nip = models.CharField(_("NIP"), max_length=30, blank=True)
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ditunjuk oleh"),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    ended_at = models.DateTimeField(_("diakhiri"), null=True, blank=True)

    objects = ActingAppointmentQuerySet.as_manager()
    history = ConfigurationHistory()

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("penunjukan Plt./Plh.")
        verbose_name_plural = _("penunjukan Plt./Plh.")
        indexes = [
            # policy: the appointments in force for one person today.
            models.Index(fields=["person", "end_date"], name="appointment_person_end"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.role.name}: {self.person.get_username()}"

    @property
    def title(self):
        return performed_as(self.role, self.kind)

    def clean(self):
        if self.person_nip:
            self.person_nip = normalize_nip(self.person_nip)


class RunQuerySet(models.QuerySet):
    def for_user(self, user):
        """Runs the user may see (`policy.visible_runs`)."""
        return self & _policy().visible_runs(user)


class Run(models.Model):
    """One run (kegiatan) of an SOP version, e.g. one socialisation event."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Berjalan")
        FINISHED = "finished", _("Selesai")
        CANCELLED = "cancelled", _("Dibatalkan")

    sop = models.ForeignKey(
        Sop, on_delete=models.PROTECT, related_name="runs", verbose_name=_("SOP")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="runs", verbose_name=_("unit kerja")
    )
    title = models.CharField(_("judul kegiatan"), max_length=200)
    scheduled_on = models.DateField(_("tanggal pelaksanaan"))
    place = models.CharField(_("tempat"), max_length=200)
    notes = models.TextField(_("catatan"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.RUNNING)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dibuka oleh"),
    )
    opened_at = models.DateTimeField(_("dibuka"))
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("dibatalkan"), null=True, blank=True)
    cancel_reason = models.TextField(_("alasan pembatalan"), blank=True)
    # Where the run's event chain ends (see activities.chain): the number and hash of its latest
    # Event, so a deleted last event is visible too. Written only by Event's manager, with a
    # queryset update under the run's row lock.
    event_count = models.PositiveIntegerField(_("jumlah catatan"), default=0, editable=False)
    event_head = models.CharField(
        _("hash catatan terakhir"), max_length=64, blank=True, default="", editable=False
    )
    # The run's figures in office minutes, stored once when it finishes or is cancelled (see
    # `activities.timing.run_figures`): a later calendar edit changes only running runs.
    # Null while the run is running.
    standard_office_minutes = models.PositiveIntegerField(
        _("waktu baku (menit kerja)"), null=True, blank=True, editable=False
    )
    handling_office_minutes = models.FloatField(
        _("waktu pengerjaan (menit kerja)"), null=True, blank=True, editable=False
    )
    waiting_office_minutes = models.FloatField(
        _("waktu tunggu (menit kerja)"), null=True, blank=True, editable=False
    )
    lead_office_minutes = models.FloatField(
        _("waktu tempuh (menit kerja)"), null=True, blank=True, editable=False
    )
    steps_done = models.PositiveSmallIntegerField(
        _("langkah selesai"), null=True, blank=True, editable=False
    )
    steps_on_time = models.PositiveSmallIntegerField(
        _("langkah tepat waktu"), null=True, blank=True, editable=False
    )
    # When the run closed (finished or cancelled), null while it runs: a column the database
    # computes and stores, so the archive filters and sorts on one indexed value.
    closed_at = models.GeneratedField(
        expression=Coalesce("finished_at", "cancelled_at"),
        output_field=models.DateTimeField(_("ditutup"), null=True, blank=True),
        db_persist=True,
    )

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("kegiatan")
        verbose_name_plural = _("kegiatan")
        indexes = [
            # /kegiatan/: a unit's runs, newest first, keyset-paginated on (opened_at, id).
            models.Index(fields=["unit", "-opened_at", "-id"], name="run_unit_opened"),
            # /arsip/: a unit's closed runs by finish time, keyset-paginated.
            models.Index(
                fields=["unit", "status", "-finished_at", "-id"], name="run_unit_finished"
            ),
            # /arsip/: a unit's closed runs, last closed first, keyset-paginated; and the same
            # with a status filter (finished or cancelled only).
            models.Index(
                fields=["unit", "-closed_at", "-id"],
                condition=Q(closed_at__isnull=False),
                name="run_unit_closed",
            ),
            models.Index(
                fields=["unit", "status", "-closed_at", "-id"],
                condition=Q(closed_at__isnull=False),
                name="run_unit_status_closed",
            ),
            # Statistics over finished runs of one SOP version in a period (stored figures).
            models.Index(
                fields=["sop", "finished_at"],
                condition=Q(status="finished"),
                name="run_sop_finished",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("run_detail", args=[self.pk])

    @property
    def is_running(self):
        return self.status == self.Status.RUNNING

    @property
    def status_label(self):
        """`get_status_display()` for the rows of a list: the label of the status's member,
        without Django rebuilding the choices for each call."""
        return self.Status(self.status).label

    def acts(self):
        """{"opened"/"cancelled": Event}: who opened and who cancelled the run, and whether a
        superuser did it on behalf of step 1's role (the run row records neither)."""
        kinds = [Event.Kind.OPENED, Event.Kind.CANCELLED]
        events = self.events.filter(kind__in=kinds).select_related("actor").order_by("at", "id")
        return {event.kind: event for event in events}


class StepRunQuerySet(models.QuerySet):
    def for_user(self, user):
        """Active steps the user may act on (`policy.inbox`)."""
        return self & _policy().inbox(user)


class StepRun(models.Model):
    """One round of one step of a run. A returned step gets a new round; old rounds stay."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Menunggu")
        ACTIVE = "active", _("Aktif")
        DONE = "done", _("Selesai")
        RETURNED = "returned", _("Dikembalikan")

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Disetujui")
        RETURNED = "returned", _("Dikembalikan")

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="step_runs")
    round = models.PositiveSmallIntegerField(_("putaran"), default=1)
    state = models.CharField(_("status"), max_length=10, choices=State, default=State.WAITING)
    activated_at = models.DateTimeField(_("aktif sejak"), null=True, blank=True)
    started_at = models.DateTimeField(_("mulai"), null=True, blank=True)
    completed_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    entered_at = models.DateTimeField(_("dicatat"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pelaksana"),
    )
    completed_as = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sebagai"),
    )
    on_behalf = models.BooleanField(_("atas nama"), default=False)
    # Plt./Plh.: the performer acted for `completed_as` by an acting appointment.
    acting = models.CharField(
        _("pelaksana tugas/harian"), max_length=3, choices=Acting.choices, blank=True
    )
    requirements_checked = models.TextField(_("kelengkapan diperiksa"), blank=True)
    output = models.TextField(_("output"), blank=True)
    notes = models.TextField(_("catatan"), blank=True)
    decision = models.CharField(_("keputusan"), max_length=10, choices=Decision, blank=True)
    instruction = models.TextField(_("disposisi"), blank=True)
    deadline = models.DateField(_("batas waktu"), null=True, blank=True)
    # When an active step is due: its activation plus its standard on the unit's calendar, or
    # the batas waktu of the disposisi that ordered it. Set when the step becomes active.
    due_at = models.DateTimeField(_("jatuh tempo"), null=True, blank=True)
    # How far the deadline sweep has gone with this round: see activities.deadlines.Stage.
    alert_stage = models.PositiveSmallIntegerField(default=0)
    decision_notes = models.TextField(_("catatan disposisi"), blank=True)
    return_reason = models.TextField(_("alasan pengembalian"), blank=True)
    # Office minutes under the unit's calendar, computed once when the round closes (done or
    # returned) and stored, so a later calendar edit never changes a closed round:
    # waiting = activated → started, handling = started → completed (the step's "actual"
    # time). The round that was active when its run was cancelled keeps only its waiting time
    # (activated → cancelled). Null while a round is open.
    waiting_office_minutes = models.FloatField(
        _("waktu tunggu (menit kerja)"), null=True, blank=True, editable=False
    )
    handling_office_minutes = models.FloatField(
        _("waktu pengerjaan (menit kerja)"), null=True, blank=True, editable=False
    )
    # Bumped by every transition; a conditional UPDATE on it is the race guard that still
    # holds where select_for_update does not (SQLite).
    version = models.PositiveIntegerField(default=0)

    objects = StepRunQuerySet.as_manager()

    class Meta:
        ordering = ["run", "step__number", "round"]
        verbose_name = _("langkah kegiatan")
        verbose_name_plural = _("langkah kegiatan")
        constraints = [
            models.UniqueConstraint(fields=["run", "step", "round"], name="unique_step_round"),
            # At most one step of a run is active: a second guard against double advances.
            models.UniqueConstraint(
                fields=["run"], condition=Q(state="active"), name="one_active_step_per_run"
            ),
        ]
        indexes = [
            # /tugas/: active steps, oldest first.
            models.Index(
                fields=["activated_at"], condition=Q(state="active"), name="steprun_active"
            ),
            # /tugas/ sorted by due time, and the deadline sweep over active steps.
            models.Index(fields=["due_at"], condition=Q(state="active"), name="steprun_active_due"),
            # /tugas/ and its navigation badge: the active rounds of the user's steps, soonest
            # due first (`policy.inbox` filters on the step ids of the user's roles).
            models.Index(
                fields=["step", "due_at"],
                condition=Q(state="active"),
                name="steprun_active_step_due",
            ),
            # Statistics of one step (median, p90 of its stored figures) over a period of
            # completion: closed rounds only. It carries the figures and the state too, so the
            # GROUP BY of `statistics.for_sop` reads the index alone, never the wide rows
            # (fetching those rows was most of that query's time on SQLite).
            models.Index(
                fields=[
                    "step",
                    "completed_at",
                    "handling_office_minutes",
                    "waiting_office_minutes",
                    "state",
                ],
                condition=Q(handling_office_minutes__isnull=False),
                name="steprun_step_stats",
            ),
        ]

    def __str__(self):
        return f"{self.run} · {self.step.number}/{self.round}"

    def get_absolute_url(self):
        return reverse("step_action", args=[self.run_id, self.step.number])

    def requirements_checked_list(self):
        return [line for line in self.requirements_checked.splitlines() if line.strip()]

    @property
    def performed_as(self):
        """“Plh. Kepala” for an acting performer, else the role's name (or "")."""
        return performed_as(self.completed_as, self.acting, self.run.sop)

    @property
    def roles_display(self):
        """The step's pelaksana, as the run's SOP version prints them."""
        sop = self.run.sop
        return ", ".join(sop.role_name(role) for role in self.step.roles.all())

    def is_overdue(self, now=None):
        return (
            self.state == self.State.ACTIVE
            and self.due_at is not None
            and self.due_at < (now or timezone.now())
        )


# The advisory lock key of the chain of events without a run (any fixed 64-bit number).
RUNLESS_CHAIN_LOCK = 0x736F70_6576656E


class EventQuerySet(models.QuerySet):
    """Writes every Event into its run's hash chain (activities.chain), whoever the writer is.

    The previous event is read under the run's row lock, which every transition already holds;
    taking it here too makes a writer outside the transitions safe, and `unique_event_seq` turns
    a fork of the chain (two writers reading the same previous event) into an IntegrityError.
    """

    def _link(self, events, heads=None):
        runs = sorted({event.run_id for event in events if event.run_id is not None})
        last = dict(heads or {})
        runs = [run_id for run_id in runs if run_id not in last]
        if runs:
            # Lock the runs in id order, so two writers never wait on each other in a circle,
            # and read where each chain ends in the same query.
            rows = (
                Run.objects.select_for_update(of=("self",))
                .filter(pk__in=runs)
                .order_by("pk")
                .values_list("pk", "event_count", "event_head")
            )
            last = {pk: (count, head) for pk, count, head in rows}
        if any(event.run_id is None for event in events):
            last[None] = self._runless_head()
        for event in events:
            seq, prev_hash = last[event.run_id]
            event.seq, event.prev_hash = seq + 1, prev_hash
            event.hash = chain.event_hash(event)
            last[event.run_id] = (event.seq, event.hash)
        return last

    def _runless_head(self):
        """(seq, hash) of the last event without a run (SOP status, acting appointments).

        Those events have no row to lock: on PostgreSQL a transaction-scoped advisory lock
        serialises their writers (SQLite serialises every writer); `unique_runless_event_seq`
        turns a fork into an IntegrityError all the same.
        """
        if connections[self.db].vendor == "postgresql":
            with connections[self.db].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUNLESS_CHAIN_LOCK])
        latest = (
            Event._base_manager.using(self.db)
            .filter(run__isnull=True)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        return latest or (0, chain.GENESIS)

    def _set_heads(self, last):
        for run_id, (count, head) in last.items():
            if run_id is not None:
                Run.objects.filter(pk=run_id).update(event_count=count, event_head=head)

    def create(self, **kwargs):
        event = self.model(**kwargs)
        event.save(force_insert=True, using=self.db)
        return event

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if not objs:
            return objs
        with transaction.atomic(using=self.db, savepoint=False):
            last = self._link(objs)
            created = super().bulk_create(objs, *args, **kwargs)
            self._set_heads(last)
        return created

    def append(self, events, run):
        """Write `events` of `run` in one INSERT, continuing its chain from the run's
        `event_count` and `event_head` as the caller read them under the run's row lock (the
        transitions hold it; `events.batch`), and move the run's head in memory too."""
        if not events:
            return events
        with transaction.atomic(using=self.db, savepoint=False):
            last = self._link(events, heads={run.pk: (run.event_count, run.event_head)})
            created = super().bulk_create(events)
            self._set_heads(last)
        run.event_count, run.event_head = last[run.pk]
        return created


class Event(AppendOnly):
    """Append-only log of every change to a run, an SOP's status or an acting appointment.

    Rows are written by `activities.events.record` only, and never updated or deleted. Each row
    is a link of a hash chain (`seq`, `prev_hash`, `hash`), filled in when the row is inserted:
    its run's chain, or the one chain of the events without a run; `verify_archive` recomputes
    every chain.
    """

    class Kind(models.TextChoices):
        OPENED = "opened", _("Kegiatan dibuka")
        ACTIVATED = "activated", _("Langkah aktif")
        COMPLETED = "completed", _("Langkah diselesaikan")
        APPROVED = "approved", _("Disetujui")
        RETURNED = "returned", _("Dikembalikan")
        CANCELLED = "cancelled", _("Kegiatan dibatalkan")
        FINISHED = "finished", _("Kegiatan selesai")
        ATTACHED = "attached", _("Lampiran ditambahkan")
        ARCHIVED = "archived", _("Laporan diarsipkan")
        SOP_ACTIVATED = "sop_activated", _("SOP diberlakukan")
        SOP_RETIRED = "sop_retired", _("SOP dinyatakan tidak berlaku")
        SOP_REVISED = "sop_revised", _("Revisi SOP dibuat")
        APPOINTED = "appointed", _("Plt./Plh. ditunjuk")
        APPOINTMENT_ENDED = "appointment_ended", _("Penunjukan Plt./Plh. diakhiri")
        REMINDED = "reminded", _("Pengingat dikirim")
        ESCALATED = "escalated", _("Eskalasi ke atasan")

    run = models.ForeignKey(
        Run, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    step_run = models.ForeignKey(
        StepRun, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    sop = models.ForeignKey(
        Sop, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    appointment = models.ForeignKey(
        "ActingAppointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    kind = models.CharField(_("jenis"), max_length=20, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("oleh"),
    )
    on_behalf = models.BooleanField(_("atas nama"), default=False)
    # The role the actor acted as, and whether he did so as Plt./Plh. of it.
    role = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sebagai"),
    )
    acting = models.CharField(
        _("pelaksana tugas/harian"), max_length=3, choices=Acting.choices, blank=True
    )
    at = models.DateTimeField(_("waktu"))
    before = models.JSONField(_("sebelum"), default=dict, blank=True)
    after = models.JSONField(_("sesudah"), default=dict, blank=True)
    seq = models.PositiveIntegerField(_("urutan"), editable=False)
    prev_hash = models.CharField(_("hash sebelumnya"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("catatan perubahan")
        verbose_name_plural = _("catatan perubahan")
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_event_seq"),
            models.UniqueConstraint(
                fields=["seq"],
                condition=Q(run__isnull=True),
                name="unique_runless_event_seq",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            # AppendOnly refuses it.
            return super().save(*args, **kwargs)
        manager = type(self).objects.db_manager(kwargs.get("using"))
        # No savepoint of its own: an event that cannot be written fails the whole transition.
        with transaction.atomic(using=manager.db, savepoint=False):
            last = manager.get_queryset()._link([self])
            super().save(*args, **kwargs)
            manager.get_queryset()._set_heads(last)


def attachment_path(instance, filename):
    return f"lampiran/{instance.step_run.run_id}/{filename}"


def rendition_path(instance, filename):
    return f"lampiran/{instance.step_run.run_id}/kecil/{filename}"


class Attachment(models.Model):
    """A file recorded with a step: a draft letter, a signed SK, an attendance list, photos."""

    step_run = models.ForeignKey(StepRun, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("berkas"), upload_to=attachment_path, max_length=300)
    # A small JPEG of an image for thumbnails and PDFs, so reports never embed camera originals.
    rendition = models.FileField(
        _("versi kecil"), upload_to=rendition_path, max_length=300, blank=True
    )
    original_name = models.CharField(_("nama berkas"), max_length=255)
    content_type = models.CharField(_("jenis"), max_length=100)
    size = models.PositiveBigIntegerField(_("ukuran"))
    sha256 = models.CharField(max_length=64)
    caption = models.CharField(_("keterangan"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("diunggah"))

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("lampiran")
        verbose_name_plural = _("lampiran")

    def __str__(self):
        return self.original_name

    @property
    def is_image(self):
        return self.content_type.startswith("image/")


class ArchivedReport(models.Model):
    """The final laporan of a finished run, rendered once; downloads serve exactly these bytes."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="archived_report")
    file = models.FileField(_("berkas"), upload_to="arsip/%Y/", max_length=300)
    # Indexed: /verifikasi/ looks an uploaded PDF up by its hash.
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("ukuran"))
    archived_at = models.DateTimeField(_("diarsipkan"))
    # Printed on the document with its QR code; see activities/verification.py. Reports
    # archived before verification existed have none printed; they got one by migration.
    code = models.CharField(_("kode verifikasi"), max_length=12, unique=True)
    signed_by = models.CharField(
        _("ditandatangani secara elektronik oleh"),
        max_length=300,
        blank=True,
        help_text=_("Subjek sertifikat penanda tangan; kosong bila tidak ditandatangani."),
    )

    class Meta:
        verbose_name = _("laporan arsip")
        verbose_name_plural = _("laporan arsip")

    def __str__(self):
        return f"{self.run} ({self.sha256[:12]})"


class PeriodReport(models.Model):
    """A period report (laporan arsip) too large to render in the request, prepared by the
    worker for the user who asked (`activities.period_reports`) and kept for
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


class Notification(models.Model):
    """A message to one user about a run or a step: the in-app channel (the bell) itself, and
    what the other channels (e-mail, webhook) deliver.

    `key` names what the notification is about ("activated:<step run>", "digest:<date>"), so
    the same occasion never notifies a user twice, however often a task or the sweep reruns.
    """

    class Kind(models.TextChoices):
        ACTIVATED = "activated", _("Langkah menunggu Anda")
        RETURNED = "returned", _("Langkah dikembalikan kepada Anda")
        REMINDER = "reminder", _("Pengingat")
        ESCALATION = "escalation", _("Eskalasi")
        FINISHED = "finished", _("Kegiatan selesai")
        ARCHIVED = "archived", _("Laporan diarsipkan")
        DIGEST = "digest", _("Ringkasan harian")
        MONITORING = "monitoring", _("Monitoring SOP")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("penerima"),
    )
    kind = models.CharField(_("jenis"), max_length=12, choices=Kind)
    key = models.CharField(max_length=120)
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    step_run = models.ForeignKey(
        StepRun, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    subject = models.CharField(_("judul"), max_length=250)
    body = models.TextField(_("isi"))
    url = models.CharField(_("tautan"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("dibuat"))
    read_at = models.DateTimeField(_("dibaca"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notifikasi")
        verbose_name_plural = _("notifikasi")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="unique_notification_key"),
        ]
        indexes = [
            # /notifikasi/: a user's notifications, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_list"),
            # The bell: COUNT of a user's unread notifications.
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self):
        return self.subject


class Delivery(models.Model):
    """One notification sent through one outside channel (e-mail, webhook).

    The delivery task claims the row before it sends (`claimed_at`) and stamps `sent_at` after,
    so a second worker or a retry never sends a delivered notification again.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("saluran"), max_length=20)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("terkirim"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)
    last_error = models.TextField(_("galat terakhir"), blank=True)

    class Meta:
        verbose_name = _("pengiriman notifikasi")
        verbose_name_plural = _("pengiriman notifikasi")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="unique_delivery_channel"
            ),
        ]

    def __str__(self):
        return f"{self.channel}: {self.notification}"


class PeriodicJob(models.Model):
    """When a periodic job of the scheduler (activities/schedule.py) is next due.

    Schedulers claim a slot with a conditional UPDATE on `next_run_at`, so two of them running
    by mistake still enqueue each job once per interval.
    """

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tugas berkala")
        verbose_name_plural = _("tugas berkala")

    def __str__(self):
        return self.name


# Monitoring and evaluation (Permenpan RB 35/2012) -----------------------------------------------


class Assessment(models.TextChoices):
    GOOD = "good", _("Berjalan dengan baik")
    POOR = "poor", _("Tidak berjalan dengan baik")


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


class PasswordResetRequest(models.Model):
    """A password reset mail someone asked for; counted to limit how many are sent."""

    address = models.CharField(_("alamat e-mail"), max_length=254)
    client = models.GenericIPAddressField(_("alamat komputer"), null=True, blank=True)
    at = models.DateTimeField(_("waktu"))

    class Meta:
        verbose_name = _("permintaan kata sandi baru")
        verbose_name_plural = _("permintaan kata sandi baru")
        indexes = [
            # The rate limit: requests for one address, or from one client, in the last hour.
            models.Index(fields=["address", "at"], name="reset_address_at"),
            models.Index(fields=["client", "at"], name="reset_client_at"),
        ]

    def __str__(self):
        return f"{self.address} {self.at:%Y-%m-%d %H:%M}"


# Users are configuration too: who made an account staff, changed a name, deactivated it.
register(User, app="activities", records_class=ConfigurationHistory)
