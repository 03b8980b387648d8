"""Units (offices) and their office calendars: working hours, days off, special periods,
and the per-process cache of each unit's calendar.

The calendar answers how long a day of the unit is (`OfficeCalendar.day_minutes`). The one
figure stored from it is `Step.standard_minutes` (a "N hari" standard in office minutes, which
statistics and Tabel 7 compare with in SQL): every change of the calendar's rows passes
`bump_calendar_version`, which sets those minutes of all the unit's steps again, frozen
versions included (their text, the standard as the document writes it, never changes). Figures
stored on closed rounds and runs are measured office minutes, history that no day length
changes.
"""

import functools
import threading

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from activities.models.base import (
    ConfigurationHistory,
    LetterheadRule,
    normalize_nip,
    validate_emblem,
)
from activities.time.calendar import DEFAULT_WEEK, RAMADAN_WEEK, OfficeCalendar


class UnitQuerySet(models.QuerySet):
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
    # The kop surat, as the unit writes it (see activities/documents/letterhead.py).
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
    (activities.time.calendar).

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
    """A row of the unit's calendar changed: the next read of the unit row builds it again,
    and the standards in minutes of the unit's steps follow its day (`follow_day_length`).

    `UnitCalendarRow.save()`/`delete()` call it; a queryset `update()`, `delete()` or
    `bulk_create()` of those rows bypasses them and must call it itself.
    """
    Unit.objects.filter(pk=unit_id).update(calendar_version=F("calendar_version") + 1)
    if connection.in_atomic_block:
        connection.sopflow_calendar_changed = True
    follow_day_length(unit_id)


def follow_day_length(unit_id):
    """Set `Step.standard_minutes` of every step of the unit's SOPs (all versions) from its
    standard and the unit's working day as its calendar rows now are. Returns how many
    changed; only "N hari" standards can.

    The steps are reached through the app registry: `sops` builds on this module."""
    Step = apps.get_model("activities", "Step")
    day_minutes = _build_calendar(unit_id).day_minutes
    changed = []
    steps = Step.objects.filter(sop__unit_id=unit_id).only(
        "pk", "standard_text", "standard_minutes"
    )
    for step in steps.order_by("pk"):
        minutes = step.standard.minutes(day_minutes)
        if minutes != step.standard_minutes:
            step.standard_minutes = minutes
            changed.append(step)
    # A bulk update writes no history row: the standard as configured did not change.
    Step.objects.bulk_update(changed, ["standard_minutes"], batch_size=500)
    return len(changed)


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
