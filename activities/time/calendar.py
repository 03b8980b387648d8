"""Office calendar: how much office time lies between two moments.

Working time follows the default ASN (civil servant) schedule of 37.5 hours a
week: Monday to Thursday 07:30-16:00 with a 12:00-13:00 break, Friday
07:30-16:30 with an 11:30-13:00 break, i.e. 450 minutes a day. Weekends,
Indonesian public holidays and cuti bersama (the government's joint leave
days, the "government" category of the ``holidays`` package) are off, as are
any extra days off of the unit. During Ramadan a shorter schedule
(``RAMADAN_WEEK``, 32.5 hours a week) can be applied to date ranges.

Office time deliberately ignores work done outside office hours: a step done
entirely on a Saturday or between 20:00 and 21:00 counts 0 office minutes.
Office time is what gets compared with the SOP standard, which is expressed
in office time; the application shows the wall-clock duration beside it.

``office_minutes`` returns a float, so seconds are kept (30 s = 0.5 minutes).

Due times (``due``) go the other way: from a moment and a standard to the moment the standard
is used up. Minutes and hours are office minutes; "N hari" is N working days of this calendar on
those dates, whatever their length (a Ramadan day is one day too).
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import holidays

from activities.time import durations

__all__ = [
    "DEFAULT_WEEK",
    "RAMADAN_WEEK",
    "Interval",
    "OfficeCalendar",
    "Week",
    "week_minutes",
]

Interval = tuple[datetime.time, datetime.time]
# Working intervals by weekday (0 is Monday), each day's in order.
Week = dict[int, tuple[Interval, ...]]
# (what the totals were built for, their first day, worked time before each following day).
_Totals = tuple[tuple[int, int, bool], datetime.date, list[datetime.timedelta]]

_t = datetime.time

DEFAULT_WEEK: Week = {
    **{day: ((_t(7, 30), _t(12, 0)), (_t(13, 0), _t(16, 0))) for day in range(4)},
    4: ((_t(7, 30), _t(11, 30)), (_t(13, 0), _t(16, 30))),
}

RAMADAN_WEEK: Week = {
    **{day: ((_t(8, 0), _t(12, 0)), (_t(12, 30), _t(15, 0))) for day in range(4)},
    4: ((_t(8, 0), _t(11, 30)), (_t(12, 30), _t(15, 30))),
}

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

UNIT_DAY_OFF = "Libur unit kerja"

_UTC = datetime.UTC
_DAY = datetime.timedelta(days=1)


@functools.lru_cache(maxsize=64)
def _holidays_for_year(
    country: str, year: int, categories: tuple[str, ...], language: str
) -> Mapping[datetime.date, str]:
    # Building a year of Indonesian holidays involves lunar calendars; cache it
    # across calendar instances since views may build one per request.
    found = holidays.country_holidays(country, years=year, categories=categories, language=language)
    return MappingProxyType(dict(found.items()))


def _normalize_week(week: Mapping[int, Iterable[Interval]]) -> Week:
    normalized: Week = {}
    for weekday, intervals in week.items():
        if weekday not in range(7):
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        ordered = tuple(sorted((start, end) for start, end in intervals))
        previous_end = None
        for start, end in ordered:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working hours must be naive times (local to the calendar)")
            if start >= end:
                raise ValueError(f"working interval {start}-{end} is empty or reversed")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"working intervals overlap on weekday {weekday}")
            previous_end = end
        if ordered:
            normalized[weekday] = ordered
    return normalized


def week_minutes(week: Mapping[int, Iterable[Interval]]) -> int:
    """Length in minutes of the longest working day of ``week`` (450 for ``DEFAULT_WEEK``)."""
    longest = 0
    for intervals in week.values():
        total = sum(
            (
                datetime.datetime.combine(datetime.date.min, end)
                - datetime.datetime.combine(datetime.date.min, start)
            )
            // datetime.timedelta(minutes=1)
            for start, end in intervals
        )
        longest = max(longest, total)
    return longest


# A calendar without a working day in this many days cannot have a due time.
_SEARCH_DAYS = 3 * 366


def _as_date(day: datetime.date) -> datetime.date:
    return day.date() if isinstance(day, datetime.datetime) else day


class OfficeCalendar:
    """Working days and hours of one office unit.

    ``days_off`` is either an iterable of dates or a mapping of date to a
    description shown by ``day_off_reason``. ``special_weeks`` holds
    ``(first_day, last_day, week)`` entries, both days inclusive, that replace
    ``week`` on those dates (e.g. ``RAMADAN_WEEK``); when ranges overlap the
    later entry wins.
    """

    COUNTRY = "ID"
    HOLIDAY_CATEGORIES: tuple[str, ...] = ("public", "government")
    HOLIDAY_LANGUAGE = "id"

    def __init__(
        self,
        *,
        tz: str | datetime.tzinfo = "Asia/Jakarta",
        week: Mapping[int, Iterable[Interval]] = DEFAULT_WEEK,
        days_off: Iterable[datetime.date] | Mapping[datetime.date, str] = (),
        special_weeks: Iterable[
            tuple[datetime.date, datetime.date, Mapping[int, Iterable[Interval]]]
        ] = (),
        national_holidays: bool = True,
    ) -> None:
        self.tz = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
        self.week = _normalize_week(week)
        if isinstance(days_off, Mapping):
            self.days_off = {_as_date(day): str(text) for day, text in days_off.items()}
        else:
            self.days_off = {_as_date(day): UNIT_DAY_OFF for day in days_off}
        self.special_weeks: list[tuple[datetime.date, datetime.date, Week]] = []
        for first, last, special in special_weeks:
            first, last = _as_date(first), _as_date(last)
            if first > last:
                raise ValueError(f"special week range {first}..{last} is reversed")
            self.special_weeks.append((first, last, _normalize_week(special)))
        self.national_holidays = national_holidays
        self._totals: _Totals | None = None

    def __repr__(self) -> str:
        return (
            f"<OfficeCalendar tz={self.tz} days_off={len(self.days_off)} "
            f"special_weeks={len(self.special_weeks)} "
            f"national_holidays={self.national_holidays}>"
        )

    def _week_for(self, day: datetime.date) -> Week:
        for first, last, special in reversed(self.special_weeks):
            if first <= day <= last:
                return special
        return self.week

    def _holiday_name(self, day: datetime.date) -> str | None:
        if not self.national_holidays:
            return None
        found = _holidays_for_year(
            self.COUNTRY,
            day.year,
            tuple(self.HOLIDAY_CATEGORIES),
            self.HOLIDAY_LANGUAGE,
        )
        return found.get(day)

    def day_off_reason(self, day: datetime.date) -> str | None:
        """Why ``day`` is not a working day, or None if it is one.

        A unit day off wins over a national holiday, which wins over the
        weekday having no working hours ("Sabtu", "Minggu").
        """
        day = _as_date(day)
        if day in self.days_off:
            return self.days_off[day]
        holiday = self._holiday_name(day)
        if holiday:
            return holiday
        if not self._week_for(day).get(day.weekday()):
            return DAY_NAMES[day.weekday()]
        return None

    def is_working_day(self, day: datetime.date) -> bool:
        return self.day_off_reason(day) is None

    def intervals(self, day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """Working intervals of ``day`` as aware datetimes in the calendar's tz."""
        day = _as_date(day)
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.datetime.combine(day, start, tzinfo=self.tz),
                datetime.datetime.combine(day, end, tzinfo=self.tz),
            )
            for start, end in self._week_for(day)[day.weekday()]
        ]

    def office_minutes(self, start: datetime.datetime, end: datetime.datetime) -> float:
        """Office minutes between two aware datetimes (0.0 if end <= start)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("office_minutes needs timezone-aware datetimes")
        # Compare in UTC: arithmetic between datetimes sharing a tzinfo object
        # uses wall-clock time, which is wrong across DST changes.
        start = start.astimezone(_UTC)
        end = end.astimezone(_UTC)
        if end <= start:
            return 0.0
        day = start.astimezone(self.tz).date()
        last_day = end.astimezone(self.tz).date()
        # Only the first and the last day are cut by the moments; the whole days between come
        # from running totals of worked time per day (exact timedeltas, so the sum is the
        # same as adding day by day).
        worked = self._clipped(day, start, end)
        if last_day > day:
            # The earlier day first: it may move the totals' first day, the later one cannot.
            before = self._worked_before(day + _DAY)
            worked += self._worked_before(last_day) - before
            worked += self._clipped(last_day, start, end)
        return worked / datetime.timedelta(minutes=1)

    def _clipped(
        self, day: datetime.date, start: datetime.datetime, end: datetime.datetime
    ) -> datetime.timedelta:
        worked = datetime.timedelta()
        for open_at, close_at in self.intervals(day):
            lower = max(start, open_at.astimezone(_UTC))
            upper = min(end, close_at.astimezone(_UTC))
            if upper > lower:
                worked += upper - lower
        return worked

    def _day_worked(self, day: datetime.date) -> datetime.timedelta:
        return sum(
            (close_at - open_at for open_at, close_at in self.intervals(day)), datetime.timedelta()
        )

    def _worked_before(self, day: datetime.date) -> datetime.timedelta:
        """Worked time of every day from the running totals' first day up to `day` (excluded).

        The totals start at the earliest day asked for and grow in either direction as
        needed; they are rebuilt when the days off or special weeks change. A unit's calendar
        is shared by the threads of a process (`activities.models.unit_calendar`): the totals
        are never changed in place, a longer list replaces them in one assignment."""
        key = (len(self.days_off), len(self.special_weeks), self.national_holidays)
        memo = self._totals
        if memo is None or memo[0] != key:
            changed, first, totals = True, day, [datetime.timedelta()]
        else:
            changed = False
            _key, first, totals = memo
        if day < first:
            changed = True
            # Prepend the missing days: new totals for them, the old ones shifted.
            count = (first - day).days
            head = [datetime.timedelta()]
            for offset in range(count):
                head.append(head[-1] + self._day_worked(day + datetime.timedelta(days=offset)))
            shift = head[-1]
            totals = head[:-1] + [total + shift for total in totals]
            first = day
        index = (day - first).days
        if len(totals) <= index:
            changed = True
            totals = list(totals)
            while len(totals) <= index:
                totals.append(
                    totals[-1] + self._day_worked(first + datetime.timedelta(len(totals) - 1))
                )
        if changed:
            self._totals = (key, first, totals)
        return totals[index]

    # Due times ------------------------------------------------------------------------------

    def is_office_time(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` falls in the office hours of a working day."""
        moment = moment.astimezone(_UTC)
        day = moment.astimezone(self.tz).date()
        return any(
            open_at.astimezone(_UTC) <= moment < close_at.astimezone(_UTC)
            for open_at, close_at in self.intervals(day)
        )

    @property
    def day_minutes(self) -> int:
        """Length of a full working day of the regular week, in minutes."""
        return week_minutes(self.week)

    def _next_working_day(self, day: datetime.date) -> datetime.date:
        for _ in range(_SEARCH_DAYS):
            day += datetime.timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {day}")

    def _working_day_at_or_after(self, day: datetime.date) -> datetime.date:
        return day if self.is_working_day(day) else self._next_working_day(day)

    def end_of_day(self, day: datetime.date) -> datetime.datetime | None:
        """When office hours end on ``day``, or None on a day off."""
        intervals = self.intervals(_as_date(day))
        return intervals[-1][1] if intervals else None

    def _closing(self, day: datetime.date) -> datetime.datetime:
        """When office hours end on ``day``, which must be a working day."""
        end = self.end_of_day(day)
        if end is None:
            raise ValueError(f"{day} is not a working day")
        return end

    def add_office_minutes(self, start: datetime.datetime, minutes: float) -> datetime.datetime:
        """The moment ``minutes`` office minutes after ``start`` (in the calendar's tz)."""
        if start.tzinfo is None:
            raise ValueError("add_office_minutes needs a timezone-aware datetime")
        start = start.astimezone(_UTC)
        remaining = datetime.timedelta(minutes=minutes)
        day = start.astimezone(self.tz).date()
        for _ in range(_SEARCH_DAYS):
            for open_at, close_at in self.intervals(day):
                lower = max(start, open_at.astimezone(_UTC))
                upper = close_at.astimezone(_UTC)
                if upper <= lower:
                    continue
                if remaining <= upper - lower:
                    return (lower + remaining).astimezone(self.tz)
                remaining -= upper - lower
            day += datetime.timedelta(days=1)
        raise ValueError(f"no office time within {_SEARCH_DAYS} days after {start}")

    def _position(self, moment: datetime.datetime) -> tuple[datetime.date, float]:
        """(working day, office minutes of it already past) for ``moment``: before opening or on
        a day off that is the next working day at 0; after closing, the next working day at 0."""
        day = moment.astimezone(self.tz).date()
        if self.is_working_day(day):
            open_at = self.intervals(day)[0][0]
            worked = self.office_minutes(open_at, moment) if moment > open_at else 0.0
            if worked < self._length(day):
                return day, worked
        return self._next_working_day(day), 0.0

    def _length(self, day: datetime.date) -> float:
        return sum((close - open_).total_seconds() / 60 for open_, close in self.intervals(day))

    def add_working_days(self, start: datetime.datetime, days: int) -> datetime.datetime:
        """``days`` working days after ``start``: the same point of the working day ``days``
        working days later, or, from the start of a working day, the end of the ``days``-th."""
        if days <= 0:
            raise ValueError("days must be positive")
        day, worked = self._position(start)
        if worked == 0:
            for _ in range(days - 1):
                day = self._next_working_day(day)
            return self._closing(day)
        for _ in range(days):
            day = self._next_working_day(day)
        if worked >= self._length(day):  # a shorter day (Ramadan): its end
            return self._closing(day)
        return self.add_office_minutes(self.intervals(day)[0][0], worked)

    def due(self, start: datetime.datetime, standard: durations.Standard) -> datetime.datetime:
        """When a step activated at ``start`` with ``standard`` (a ``durations.Standard``) is
        due: days count as working days of this calendar, minutes and hours as office time."""
        if standard.unit is durations.Unit.DAY:
            return self.add_working_days(start, standard.amount)
        return self.add_office_minutes(start, standard.minutes())
