"""Due times of active steps, and the sweep that acts on them.

A step is due at its activation plus its standard on the calendar of the run's unit
(`OfficeCalendar.due`), unless the disposisi that ordered it set a batas waktu: then it is due
when office hours end on that date.
"""

import datetime

from activities.models import StepRun


def deadline_moment(calendar, deadline):
    """The end of office hours on `deadline` (a date), or of the last working day before it."""
    day = deadline
    for _ in range(366):
        end = calendar.end_of_day(day)
        if end is not None:
            return end
        day -= datetime.timedelta(days=1)
    return None


def due_time(calendar, activated_at, step, *, deadline=None):
    """When a round of `step` activated at `activated_at` is due."""
    if deadline is not None:
        moment = deadline_moment(calendar, deadline)
        if moment is not None and moment > activated_at:
            return moment
    return calendar.due(activated_at, step.standard)


def recompute_due_times(unit):
    """Due times of the unit's active steps again, after its calendar changed. Returns how
    many changed. A disposisi's batas waktu stays what the Kepala set."""
    calendar = type(unit).objects.calendars([unit.pk])[unit.pk]
    active = (
        StepRun.objects.filter(run__unit=unit, state=StepRun.State.ACTIVE, run__status="running")
        .select_related("step")
        .order_by("pk")
    )
    changed = 0
    for step_run in active:
        deadline = _ordering_deadline(step_run)
        due_at = due_time(calendar, step_run.activated_at, step_run.step, deadline=deadline)
        if due_at != step_run.due_at:
            StepRun.objects.filter(pk=step_run.pk).update(due_at=due_at)
            changed += 1
    return changed


def _ordering_deadline(step_run):
    """The batas waktu of the approval that activated `step_run`, if any."""
    previous = (
        StepRun.objects.filter(
            run_id=step_run.run_id,
            state=StepRun.State.DONE,
            completed_at=step_run.activated_at,
            deadline__isnull=False,
        )
        .order_by("-step__number")
        .values_list("deadline", flat=True)
        .first()
    )
    return previous
