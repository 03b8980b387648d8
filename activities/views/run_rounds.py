"""The rounds of a run as its page and a step's page print them, computed once per request.

Each round's badges, times and durations are formatted here, in Python, once: the partial
`runs/_round.html` only places the prepared strings, so a run of many rounds costs a loop of
plain lookups, not a filter, a translation and a time-zone conversion per cell.
"""

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from activities.models import StepRun
from activities.time.timing import format_minutes, format_wall_minutes

STATE_BADGES = {
    StepRun.State.ACTIVE: "text-bg-primary",
    StepRun.State.DONE: "text-bg-success",
    StepRun.State.RETURNED: "text-bg-warning",
}


def _local(value):
    return timezone.localtime(value) if value else None


def _day(local):
    return f"{local.day} {MONTHS[local.month]} {local.year}"


def _at(local):
    """23 November 2026 14:05, as the `waktu` filter writes a WIB time."""
    return f"{_day(local)} {local.hour:02d}:{local.minute:02d}" if local else ""


def _clock(local):
    return f"{local.hour:02d}:{local.minute:02d}"


def _signed(minutes, day_minutes):
    return ("+" if minutes > 0 else "") + format_minutes(minutes, day_minutes)


@dataclass
class RoundRow:
    """One round (`timing`: its `RoundTiming`) and what its partial prints."""

    timing: object
    is_current: bool
    state_badge: str = ""
    state_label: str = ""
    # "late", "ontime" or "": the punctuality badge.
    punctuality: str = ""
    by: str = ""
    by_note: str = ""
    when: str = ""
    # Muted lines under the time: when the round became active, when it was entered.
    when_notes: list = field(default_factory=list)
    due: str = ""
    duration: str = ""
    difference: str = ""
    wall: str = ""
    attachments: list = field(default_factory=list)

    @property
    def step_run(self):
        return self.timing.step_run


def round_row(timing, is_current):
    """A `RoundRow` of `timing` with every string its partial prints."""
    sr = timing.step_run
    row = RoundRow(timing, is_current)
    row.state_badge = STATE_BADGES.get(sr.state, "text-bg-light border")
    row.state_label = (
        _("Disetujui") if sr.decision == StepRun.Decision.APPROVED else sr.get_state_display()
    )
    active = sr.state == StepRun.State.ACTIVE
    if timing.actual_minutes is not None:
        row.punctuality = "late" if timing.late else "ontime"
    elif active and timing.late:
        row.punctuality = "late"
    if sr.state == StepRun.State.WAITING:
        return row
    if sr.completed_by_id:
        person = sr.completed_by
        row.by = person.get_full_name() or person.get_username()
        if sr.on_behalf:
            row.by_note = f"({_('a.n.')} {sr.roles_display})"
        elif sr.completed_as_id:
            row.by_note = f"({sr.performed_as})"
    started, completed = _local(sr.started_at), _local(sr.completed_at)
    activated, entered = _local(sr.activated_at), _local(sr.entered_at)
    day_minutes = timing.day_minutes
    if started and completed:
        same_day = (started.year, started.month, started.day) == (
            completed.year,
            completed.month,
            completed.day,
        )
        row.when = f"{_at(started)} – {_clock(completed) if same_day else _at(completed)}"
        if activated and _at(activated) != _at(started):
            row.when_notes.append(_("aktif sejak %(at)s") % {"at": _at(activated)})
        if entered and _at(entered) != _at(completed):
            row.when_notes.append(_("dicatat %(at)s") % {"at": _at(entered)})
    elif activated:
        row.when = _("aktif sejak %(at)s") % {"at": _at(activated)}
        if sr.due_at and active:
            row.due = _("jatuh tempo %(at)s") % {"at": _at(_local(sr.due_at))}
    standard = sr.step.standard_display
    if timing.actual_minutes is not None:
        row.duration = _("%(actual)s jam kerja (standar %(standard)s)") % {
            "actual": format_minutes(timing.actual_minutes, day_minutes),
            "standard": standard,
        }
        row.difference = _signed(timing.difference_minutes, day_minutes)
        row.wall = _("%(wall)s waktu kalender") % {"wall": format_wall_minutes(timing.wall_minutes)}
    elif timing.elapsed_minutes is not None:
        row.duration = _("berjalan %(elapsed)s jam kerja (standar %(standard)s)") % {
            "elapsed": format_minutes(timing.elapsed_minutes, day_minutes),
            "standard": standard,
        }
    row.attachments = list(sr.attachments.all())
    return row


@dataclass
class TimelineStep:
    """A step of the run page's timeline: the step, its pelaksana, its total, its rounds, and
    whether the user may act on it (`mine`)."""

    step: object
    pelaksana: str
    total: object
    rounds: list
    mine: bool = False
    total_display: str = ""

    @property
    def many_rounds(self):
        return len(self.rounds) > 1


def timeline(timing, active, sop, my_step_ids):
    """The run page's steps in order, each with its rounds, `active` marked as current."""
    totals = {total.step.pk: total for total in timing.steps}
    steps = {}
    for row in timing.rounds:
        step = row.step_run.step
        if step.pk not in steps:
            total = totals[step.pk]
            steps[step.pk] = TimelineStep(
                step, sop.pelaksana(step), total, [], mine=step.pk in my_step_ids
            )
            if total.rounds > 1:
                steps[step.pk].total_display = format_minutes(
                    total.actual_minutes, total.day_minutes
                )
        steps[step.pk].rounds.append(round_row(row, row.step_run is active))
    return list(steps.values())
