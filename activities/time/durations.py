"""Standard step durations as written in Indonesian government SOPs.

SOP documents state each step's standard as a whole number and a unit:
"15 Menit", "2 jam", "1 hari". A day means one working day of the office whose
standard it is: its length in office minutes is always given by the caller (the unit's
``OfficeCalendar.day_minutes``), never assumed here. Wall-clock durations count days of
``WALL_DAY_MINUTES``.

This module is framework-free; the Django layer maps ``DurationError.code``
to user-facing messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "WALL_DAY_MINUTES",
    "DurationError",
    "Standard",
    "Unit",
    "format_minutes",
    "format_total",
    "parse",
    "total",
]

# A wall-clock (calendar) day: how durations that ignore office hours are shown.
WALL_DAY_MINUTES = 24 * 60

_MESSAGES = {
    "empty": "The duration is empty.",
    "format": (
        "Cannot read the duration {text!r}: expected a whole number "
        "followed by a unit, e.g. '15 menit'."
    ),
    "negative": "The duration {text!r} is negative.",
    "zero": "The duration {text!r} is zero.",
    "unit": "The duration {text!r} has no known unit (menit, jam or hari).",
}


class DurationError(ValueError):
    """A duration text that cannot be used as a standard.

    ``code`` is one of ``CODES``; ``text`` is the offending input.
    """

    CODES = tuple(_MESSAGES)

    def __init__(self, code: str, text: str = "") -> None:
        if code not in _MESSAGES:
            raise ValueError(f"unknown DurationError code {code!r}")
        self.code = code
        self.text = text
        super().__init__(_MESSAGES[code].format(text=text))

    def __reduce__(self) -> tuple[type[DurationError], tuple[str, str]]:
        # The default reduce would call __init__ with the message alone.
        return (type(self), (self.code, self.text))


class Unit(StrEnum):
    MINUTE = "menit"
    HOUR = "jam"
    DAY = "hari"


_UNIT_WORDS = {
    "menit": Unit.MINUTE,
    "mnt": Unit.MINUTE,
    "jam": Unit.HOUR,
    "hari": Unit.DAY,
    "hr": Unit.DAY,
}

_DURATION_RE = re.compile(
    r"(?P<sign>[-+\u2212]?)\s*(?P<amount>[0-9]+)(?:\s*(?P<unit>[^\W\d_]+)\.?)?"
)


def _check_day(day_minutes: int) -> None:
    if isinstance(day_minutes, bool) or not isinstance(day_minutes, int) or day_minutes <= 0:
        raise ValueError(f"day_minutes must be a positive whole number, got {day_minutes!r}")


@dataclass(frozen=True)
class Standard:
    """A positive whole amount of one unit, e.g. 15 menit."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise DurationError("format", repr(self.amount))
        try:
            unit = Unit(self.unit)
        except ValueError:
            raise DurationError("unit", str(self.unit)) from None
        object.__setattr__(self, "unit", unit)
        if self.amount < 0:
            raise DurationError("negative", f"{self.amount} {unit}")
        if self.amount == 0:
            raise DurationError("zero", f"{self.amount} {unit}")

    def minutes(self, day_minutes: int | None = None) -> int:
        """Length in office minutes; a day counts ``day_minutes``, which a day standard
        needs (minutes and hours do not)."""
        if self.unit is Unit.MINUTE:
            return self.amount
        if self.unit is Unit.HOUR:
            return self.amount * 60
        if day_minutes is None:
            raise ValueError(f"{self} needs the length of the working day (day_minutes)")
        _check_day(day_minutes)
        return self.amount * day_minutes

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


def parse(text: str) -> Standard:
    """Parse an SOP duration such as "15 Menit", "1 hari" or "2 jam".

    Raises ``DurationError`` with code "empty", "format", "negative",
    "zero" or "unit".
    """
    if text is None or not str(text).strip():
        raise DurationError("empty", "" if text is None else str(text))
    original = str(text)
    match = _DURATION_RE.fullmatch(original.strip().lower())
    if match is None:
        raise DurationError("format", original)
    word = match["unit"]
    unit = _UNIT_WORDS.get(word) if word else None
    if unit is None:
        raise DurationError("unit", original)
    amount = int(match["amount"])
    if amount == 0:
        raise DurationError("zero", original)
    if match["sign"] in ("-", "\u2212"):
        raise DurationError("negative", original)
    return Standard(amount, unit)


def total(standards: Iterable[Standard]) -> tuple[int, int]:
    """Sum standards the way SOP documents do: ``(days, minutes)``.

    Day standards add up as days and everything else as minutes; the minutes
    are deliberately not folded into days, matching the documents' totals.
    """
    days = 0
    minutes = 0
    for standard in standards:
        if standard.unit is Unit.DAY:
            days += standard.amount
        else:
            minutes += standard.minutes()
    return days, minutes


def _hours_and_minutes(minutes: int) -> list[str]:
    hours, rest = divmod(minutes, 60)
    parts: list[str] = []
    if hours:
        parts.append(f"{hours} jam")
    if rest:
        parts.append(f"{rest} menit")
    return parts


def format_total(days: int, minutes: int) -> str:
    """Render a ``total()`` result: (5, 285) -> "5 hari 4 jam 45 menit"."""
    if days < 0 or minutes < 0:
        raise ValueError(f"totals cannot be negative: ({days}, {minutes})")
    parts = [f"{days} hari"] if days else []
    parts += _hours_and_minutes(minutes)
    return " ".join(parts) or "0 menit"


def format_minutes(minutes: float, day_minutes: int) -> str:
    """Render minutes as days of ``day_minutes``, hours and minutes.

    (2535, 450) -> "5 hari 4 jam 45 menit". Fractions are rounded to the
    nearest minute; negative values (differences) get a leading "-".
    """
    _check_day(day_minutes)
    # Round the magnitude half-up so that -0.5 and 0.5 render symmetrically.
    whole = math.floor(abs(minutes) + 0.5)
    if whole == 0:
        return "0 menit"
    days, rest = divmod(whole, day_minutes)
    parts = [f"{days} hari"] if days else []
    parts += _hours_and_minutes(rest)
    sign = "-" if minutes < 0 else ""
    return sign + " ".join(parts)
