"""Reporting periods in office time: a range of WIB dates, and the semester that holds a day.

Monitoring follows the six-monthly rhythm of Permenpan RB 35/2012: January–June and July–December.
A period is inclusive of both dates; as a range of moments it runs from 00:00 WIB of the first
day to 00:00 WIB of the day after the last.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import formats, timezone


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date

    @classmethod
    def semester_of(cls, day):
        if day.month <= 6:
            return cls(datetime.date(day.year, 1, 1), datetime.date(day.year, 6, 30))
        return cls(datetime.date(day.year, 7, 1), datetime.date(day.year, 12, 31))

    @classmethod
    def current_semester(cls):
        return cls.semester_of(timezone.localdate())

    @property
    def previous(self):
        """The semester before this one (for a semester period)."""
        return self.semester_of(self.start - datetime.timedelta(days=1))

    @property
    def bounds(self):
        """(first moment, first moment after) as aware datetimes in the office time zone."""
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        first = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=tz)
        after = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        return first, after

    @property
    def is_semester(self):
        return self == self.semester_of(self.start)

    def label(self):
        if self.is_semester:
            half = "I" if self.start.month == 1 else "II"
            return f"Semester {half} {self.start.year}"
        return (
            f"{formats.date_format(self.start, 'j F Y')} – {formats.date_format(self.end, 'j F Y')}"
        )

    def query(self):
        return f"dari={self.start.isoformat()}&sampai={self.end.isoformat()}"
