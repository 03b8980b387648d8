"""Time spent against the standard, for a run's steps and for the run as a whole.

Everything is computed from rows already loaded (the run's step runs with their steps), so a
page or report that builds a `RunTiming` first renders without further queries.

Closed rounds and closed runs carry their figures stored (`round_figures` and `run_figures`,
written by the workflow when they close): those are read as stored, and only what is still
open is measured under the unit's calendar as it is now. So a day off added after the fact
changes running runs only.

Office minutes are shown by `format_minutes` with the working day of the unit they were
counted for ("1 hari" is one `OfficeCalendar.day_minutes` of that unit); wall-clock minutes by
`format_wall_minutes`, in days of 24 hours.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dates import MONTHS

from activities.models import Run, Step, StepRun, critical_path, parallel_stages
from activities.text import once_per_language
from activities.time import durations
from activities.time.calendar import OfficeCalendar


@once_per_language
def _month_names() -> dict[int, str]:
    """Django's MONTHS in the active language, translated once instead of once per date."""
    return {number: str(name) for number, name in MONTHS.items()}


def day_text(value: datetime.date) -> str:
    """23 November 2026: the day, the month's name in the active language (Django's MONTHS),
    the year; what `date_format(value, "j F Y")` writes, without parsing a format every row."""
    return f"{value.day} {_month_names()[value.month]} {value.year}"


def moment_text(value: datetime.datetime) -> str:
    """23 November 2026 14:05 in WIB (the `waktu` filter of pages, mails and PDFs)."""
    value = timezone.localtime(value)
    return f"{day_text(value)} {value.hour:02d}:{value.minute:02d}"


def format_minutes(minutes: float | None, day_minutes: int) -> str:
    """Office minutes as the documents write durations, a day being `day_minutes` (the
    working day of the unit the minutes were counted for, `OfficeCalendar.day_minutes`):
    (2535, 450) -> "5 hari 4 jam 45 menit"; "" for None."""
    if minutes is None:
        return ""
    return durations.format_minutes(round(minutes), day_minutes)


def format_signed_minutes(minutes: float | None, day_minutes: int) -> str:
    """A difference against the standard, in days of `day_minutes`: "+1 hari", "-15 menit"."""
    if minutes is None:
        return ""
    text = format_minutes(minutes, day_minutes)
    return f"+{text}" if round(minutes) > 0 else text


def format_wall_minutes(minutes: float | None) -> str:
    """Wall-clock minutes in days of 24 hours (`durations.WALL_DAY_MINUTES`); "" for None."""
    if minutes is None:
        return ""
    return durations.format_minutes(minutes, durations.WALL_DAY_MINUTES)


@dataclass
class RoundTiming:
    """One round of one step: what the timeline and the laporan show per row."""

    step_run: StepRun
    standard_minutes: int
    # The working day of the run's unit: what "1 hari" of this row's minutes is.
    day_minutes: int
    actual_minutes: float | None = None
    wall_minutes: float | None = None
    lead_minutes: float | None = None
    elapsed_minutes: float | None = None
    # An open round is late once its due time (StepRun.due_at) has passed.
    overdue: bool = False

    @property
    def difference_minutes(self) -> float | None:
        if self.actual_minutes is None:
            return None
        return self.actual_minutes - self.standard_minutes

    @property
    def late(self) -> bool:
        if self.actual_minutes is None:
            return self.overdue
        return self.actual_minutes > self.standard_minutes


@dataclass
class StepTotal:
    """A step over all its rounds: reworked steps accumulate their time."""

    step: Step
    standard_minutes: int
    day_minutes: int
    actual_minutes: float = 0.0
    wall_minutes: float = 0.0
    lead_minutes: float = 0.0
    rounds: int = 0
    done: bool = False

    @property
    def late(self) -> bool:
        return self.done and self.actual_minutes > self.standard_minutes


class Figures:
    """What is said of a run's time against its standard, from its totals: the one reading of
    `RunTiming` (computed from the rounds) and `StoredTiming` (what a closed run stored).

    `day_minutes` is the working day of the run's unit: what "1 hari" of its figures is."""

    day_minutes: int
    standard_days: int
    standard_minutes_part: int
    standard_total_minutes: int
    actual_total_minutes: float
    steps_done: int
    steps_on_time: int

    def display(self, minutes: float | None) -> str:
        """Office minutes of this run, in days of its unit."""
        return format_minutes(minutes, self.day_minutes)

    @property
    def standard_display(self) -> str:
        return durations.format_total(self.standard_days, self.standard_minutes_part)

    @property
    def actual_display(self) -> str:
        return self.display(self.actual_total_minutes)

    @property
    def difference_minutes(self) -> float:
        return self.actual_total_minutes - self.standard_total_minutes

    @property
    def difference_display(self) -> str:
        return format_signed_minutes(self.difference_minutes, self.day_minutes)

    @property
    def late(self) -> bool:
        return self.actual_total_minutes > self.standard_total_minutes

    @property
    def on_time_share(self) -> float | None:
        """Share of finished steps whose accumulated time kept the standard (0..1), or None."""
        done = self.steps_done
        return self.steps_on_time / done if done else None


@dataclass
class RunTiming(Figures):
    day_minutes: int
    rounds: list[RoundTiming] = field(default_factory=list)
    steps: list[StepTotal] = field(default_factory=list)
    standard_days: int = 0
    standard_minutes_part: int = 0
    standard_total_minutes: int = 0
    actual_total_minutes: float = 0.0
    # Office minutes the run's rounds waited between becoming active and being started.
    waiting_total_minutes: float = 0.0
    lead_minutes: float | None = None
    lead_wall_minutes: float | None = None
    # Steps whose latest round is done, and those of them whose rounds kept the standard.
    steps_done: int = 0
    steps_on_time: int = 0


@dataclass
class Standard:
    """An SOP version's standard: the sum of its steps' mutu baku, as written and in minutes."""

    days: int
    minutes_part: int
    total_minutes: int


def sop_standards(sop_ids: Iterable[int]) -> dict[int, Standard]:
    """{sop id: `Standard`} of the given SOP versions, in one query of their steps."""
    steps: dict[int, list[Any]] = {}
    rows = Step.objects.filter(sop_id__in=set(sop_ids)).values_list(
        "sop_id", "number", "standard_text", "standard_minutes", "parallel_group", named=True
    )
    for step in rows:
        steps.setdefault(step.sop_id, []).append(step)
    standards = {}
    for sop_id, sop_steps in steps.items():
        # A parallel group counts by its longest branch (the critical path).
        critical = critical_path(sop_steps)
        days, minutes_part = durations.total(durations.parse(s.standard_text) for s in critical)
        standards[sop_id] = Standard(days, minutes_part, sum(s.standard_minutes for s in critical))
    return standards


@dataclass
class StoredTiming(Figures):
    """The figures a closed run stored when it closed (`run_figures`), read back without its
    rounds: for the period report of hundreds of runs."""

    day_minutes: int
    standard_days: int
    standard_minutes_part: int
    standard_total_minutes: int
    actual_total_minutes: float
    steps_done: int
    steps_on_time: int

    @classmethod
    def of(cls, run: Run, standard: Standard, day_minutes: int) -> StoredTiming | None:
        """The stored timing of closed `run` under its SOP's `standard`, shown in days of
        `day_minutes` (its unit's); None if the run has no stored figures (it runs, or closed
        before they were kept)."""
        # `run_figures` stores them all at once: one None is all of them None.
        if (
            run.standard_office_minutes is None
            or run.handling_office_minutes is None
            or run.steps_done is None
            or run.steps_on_time is None
        ):
            return None
        return cls(
            day_minutes=day_minutes,
            standard_days=standard.days,
            standard_minutes_part=standard.minutes_part,
            standard_total_minutes=run.standard_office_minutes,
            actual_total_minutes=run.handling_office_minutes,
            steps_done=run.steps_done,
            steps_on_time=run.steps_on_time,
        )


def _wall(start: datetime.datetime, end: datetime.datetime) -> float:
    return (end - start).total_seconds() / 60


def round_figures(
    calendar: OfficeCalendar,
    activated_at: datetime.datetime | None,
    started_at: datetime.datetime | None,
    completed_at: datetime.datetime,
) -> dict[str, float | None]:
    """The stored figures of a round that closes: {field of StepRun: office minutes}.

    Waiting is activated → started, handling is started → completed. A round closed without
    being worked (the active round of a cancelled run: `started_at` is None) waited until
    `completed_at`, the moment its run stopped, and has no handling time.
    """
    if started_at is None:
        return {
            "waiting_office_minutes": (
                calendar.office_minutes(activated_at, completed_at) if activated_at else 0.0
            ),
            "handling_office_minutes": None,
        }
    return {
        "waiting_office_minutes": (
            calendar.office_minutes(activated_at, started_at) if activated_at else 0.0
        ),
        "handling_office_minutes": calendar.office_minutes(started_at, completed_at),
    }


def run_figures(timing: RunTiming) -> dict[str, float | int | None]:
    """The stored figures of a run that closes, from its `RunTiming`: {field of Run: value}."""
    return {
        "standard_office_minutes": timing.standard_total_minutes,
        "handling_office_minutes": timing.actual_total_minutes,
        "waiting_office_minutes": timing.waiting_total_minutes,
        "lead_office_minutes": timing.lead_minutes,
        "steps_done": timing.steps_done,
        "steps_on_time": timing.steps_on_time,
    }


def _round_lead(step_run: StepRun, calendar: OfficeCalendar, stop: datetime.datetime) -> float:
    """Office minutes from activation to completion (or to `stop` while open)."""
    waiting: float | None = getattr(step_run, "waiting_office_minutes", None)
    handling: float | None = getattr(step_run, "handling_office_minutes", None)
    if waiting is not None and (handling is not None or step_run.completed_at is None):
        return waiting + (handling or 0.0)
    # `run_timing` asks this of activated rounds only.
    assert step_run.activated_at is not None
    return calendar.office_minutes(step_run.activated_at, step_run.completed_at or stop)


def run_timing(
    run: Run,
    step_runs: Iterable[StepRun],
    calendar: OfficeCalendar,
    now: datetime.datetime | None = None,
) -> RunTiming:
    """Timing of `run` from its loaded `step_runs` (each with `.step`) under `calendar`.

    Actual time is office time from start to completion; lead time is office time from
    activation. A step's rounds add up (a returned step's rework counts); it is done when its
    latest round is. Open rounds are measured up to `now`, or to the moment a closed run
    (finished or cancelled) stopped. Stored figures are read as they are.
    """
    now = now or timezone.now()
    stop = run.finished_at or run.cancelled_at or now
    step_runs = sorted(step_runs, key=lambda sr: (sr.step.number, sr.round))
    timing = RunTiming(day_minutes=calendar.day_minutes)
    totals: dict[int, StepTotal] = {}
    steps: list[Step] = []
    for step_run in step_runs:
        step = step_run.step
        if step.pk not in totals:
            totals[step.pk] = StepTotal(
                step=step, standard_minutes=step.standard_minutes, day_minutes=timing.day_minutes
            )
            steps.append(step)
        total = totals[step.pk]
        row = RoundTiming(
            step_run=step_run,
            standard_minutes=step.standard_minutes,
            day_minutes=timing.day_minutes,
        )
        if step_run.started_at and step_run.completed_at:
            handling = getattr(step_run, "handling_office_minutes", None)
            if handling is None:
                handling = calendar.office_minutes(step_run.started_at, step_run.completed_at)
            row.actual_minutes = handling
            row.wall_minutes = _wall(step_run.started_at, step_run.completed_at)
            total.actual_minutes += row.actual_minutes
            total.wall_minutes += row.wall_minutes
            total.rounds += 1
        if step_run.activated_at:
            row.lead_minutes = _round_lead(step_run, calendar, stop)
            total.lead_minutes += row.lead_minutes
            timing.waiting_total_minutes += row.lead_minutes - (row.actual_minutes or 0.0)
            if step_run.completed_at is None:
                row.elapsed_minutes = row.lead_minutes
                due_at = getattr(step_run, "due_at", None)
                if due_at is not None:
                    row.overdue = step_run.state == "active" and stop > due_at
                else:
                    row.overdue = row.elapsed_minutes > step.standard_minutes
        # Rounds come in order, so the latest round decides: a step sent back is not done.
        total.done = step_run.state == "done"
        timing.rounds.append(row)
    timing.steps = [totals[step.pk] for step in steps]
    # Steps side by side (a parallel group) count once, by their longest branch: the critical
    # path of the standard, and of the time taken.
    critical = critical_path(steps)
    timing.standard_days, timing.standard_minutes_part = durations.total(
        durations.parse(step.standard_text) for step in critical
    )
    timing.standard_total_minutes = sum(step.standard_minutes for step in critical)
    timing.actual_total_minutes = sum(
        max(totals[step.pk].actual_minutes for step in stage) for stage in parallel_stages(steps)
    )
    timing.steps_done = sum(1 for total in timing.steps if total.done)
    timing.steps_on_time = sum(1 for total in timing.steps if total.done and not total.late)
    stored_lead = getattr(run, "lead_office_minutes", None)
    if stored_lead is not None:
        timing.lead_minutes = stored_lead
    else:
        timing.lead_minutes = calendar.office_minutes(run.opened_at, stop)
    timing.lead_wall_minutes = _wall(run.opened_at, stop)
    return timing
