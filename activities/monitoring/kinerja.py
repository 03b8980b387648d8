"""The e-Kinerja activity log: every step a pegawai completed in a month, with its time.

Civil servants record their daily activities for their performance record (e-Kinerja); the
steps they did in sopflow are exactly such activities, with the SOP's standard beside the
office time they took. A pegawai sees his own; the Kepala and TU of a unit see everyone's
in that unit.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.core import policy
from activities.models import Step, StepRun, StepSignOff, Unit, pegawai_of
from activities.time import durations, timing

MAX_ROWS = 10_000


class TooManyRows(Exception):
    def __init__(self, count):
        super().__init__(count)
        self.count = count


@dataclass
class Activity:
    person: str
    username: str
    completed_at: datetime.datetime
    unit: str
    sop_number: str
    sop_name: str
    run_id: int
    run_title: str
    step: int
    round: int
    activity: str
    role: str
    outcome: str
    returned: bool
    standard_minutes: int
    office_minutes: float
    # The working day of the run's unit: what "1 hari" of these minutes is.
    day_minutes: int
    nip: str = ""


def month_bounds(month):
    """First moment of `month` (a date on its first day) and of the next, in WIB."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    first = datetime.datetime.combine(month.replace(day=1), datetime.time.min, tzinfo=tz)
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return first, datetime.datetime.combine(following, datetime.time.min, tzinfo=tz)


def supervised_units(user):
    """Units where `user` sees everyone's activities: where one of his roles keeps the unit's
    archive (Kepala and TU by default)."""
    return policy.units_where(user, "see_archive")


def people(user):
    """Whom `user` may choose: himself, and the role holders of the units he supervises."""
    User = get_user_model()
    units = supervised_units(user)
    return (
        User.objects.filter(Q(pk=user.pk) | Q(sop_roles__unit__in=units))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def activities(viewer, month, *, person=None):
    """The completed step rounds of the month, oldest first.

    `person` None means everyone `viewer` supervises; his own steps are always in, whatever
    unit they were done in. Raises `TooManyRows` beyond `MAX_ROWS`.
    """
    first, after = month_bounds(month)
    rounds = StepRun.objects.filter(
        completed_at__gte=first,
        completed_at__lt=after,
        completed_by__isnull=False,
        state__in=(StepRun.State.DONE, StepRun.State.RETURNED),
    )
    supervised = Q(run__unit__in=supervised_units(viewer))
    if person is None:
        rounds = rounds.filter(supervised | Q(completed_by=viewer))
    elif person.pk == viewer.pk:
        rounds = rounds.filter(completed_by=viewer)
    else:
        rounds = rounds.filter(supervised, completed_by=person)
    # A joint step's done round is its performers' sign-offs, each in his own month.
    rounds = rounds.exclude(state=StepRun.State.DONE, step__completion__in=_JOINT).select_related(
        "run__sop", "run__unit", "step", "completed_by__pegawai", "completed_as"
    )
    rounds = rounds.order_by("completed_at", "id")
    sign_offs = _sign_offs(viewer, person, first, after)
    rows = list(rounds[: MAX_ROWS + 1])
    signed = list(sign_offs[: MAX_ROWS + 1])
    if len(rows) + len(signed) > MAX_ROWS:
        raise TooManyRows(rounds.count() + sign_offs.count())
    units = {row.run.unit_id for row in rows} | {s.step_run.run.unit_id for s in signed}
    calendars = Unit.objects.calendars(units)
    found = [_activity(row, calendars[row.run.unit_id].day_minutes) for row in rows] + [
        _signed_activity(s, calendars[s.step_run.run.unit_id].day_minutes) for s in signed
    ]
    return sorted(found, key=lambda activity: activity.completed_at)


_JOINT = (Step.Completion.ALL, Step.Completion.QUORUM)


def _sign_offs(viewer, person, first, after):
    """The sign-offs of joint steps in the month that `viewer` may see of `person`."""
    sign_offs = StepSignOff.objects.filter(completed_at__gte=first, completed_at__lt=after)
    supervised = Q(step_run__run__unit__in=supervised_units(viewer))
    if person is None:
        sign_offs = sign_offs.filter(supervised | Q(user=viewer))
    elif person.pk == viewer.pk:
        sign_offs = sign_offs.filter(user=viewer)
    else:
        sign_offs = sign_offs.filter(supervised, user=person)
    return sign_offs.select_related(
        "step_run__run__sop", "step_run__run__unit", "step_run__step", "user__pegawai", "role"
    ).order_by("completed_at", "id")


def _signed_activity(sign_off, day_minutes):
    return _row(
        sign_off.step_run,
        user=sign_off.user,
        role=sign_off.role,
        completed_at=sign_off.completed_at,
        outcome=str(_("Selesai (langkah bersama)")),
        returned=False,
        office_minutes=sign_off.handling_office_minutes,
        day_minutes=day_minutes,
    )


def total_display(activities, minutes_of):
    """The sum of `minutes_of(activity)` over `activities`, shown in days of their units: one
    unit's day folds the sum; rows of units with days of different lengths add their whole
    days as days and the rest as hours and minutes, as the documents total mixed standards."""
    days = {activity.day_minutes for activity in activities}
    if len(days) == 1:
        return timing.format_minutes(sum(minutes_of(activity) for activity in activities), *days)
    whole_days, rest = 0, 0
    for activity in activities:
        count, minutes = divmod(round(minutes_of(activity)), activity.day_minutes)
        whole_days, rest = whole_days + count, rest + minutes
    return durations.format_total(whole_days, rest)


def _minutes(value: float) -> float | int:
    """Minutes to a tenth, and whole minutes as a whole number (10, not 10.0), as the
    standard beside them is written."""
    value = round(value, 1)
    return int(value) if value.is_integer() else value


def _outcome(step_run):
    """What became of the round: "Disetujui" for an approval done, else its state."""
    if step_run.state == StepRun.State.DONE and step_run.step.is_approval:
        return str(_("Disetujui"))
    return step_run.get_state_display()


def _activity(step_run, day_minutes):
    return _row(
        step_run,
        user=step_run.completed_by,
        role=step_run.completed_as,
        completed_at=step_run.completed_at,
        outcome=_outcome(step_run),
        returned=step_run.state == StepRun.State.RETURNED,
        # Stored when the round closed (see `timing.round_figures`).
        office_minutes=step_run.handling_office_minutes,
        day_minutes=day_minutes,
    )


def _row(step_run, *, user, role, completed_at, outcome, returned, office_minutes, day_minutes):
    """One activity of `user` on a round of `step_run`'s step: a closed round, or one
    performer's part of a joint step."""
    run, step = step_run.run, step_run.step
    person = pegawai_of(user)
    return Activity(
        person=person.full_name if person else (user.get_full_name() or user.get_username()),
        nip=(person.nip or "") if person else "",
        username=user.get_username(),
        completed_at=timezone.localtime(completed_at),
        unit=run.unit.short_name,
        sop_number=run.sop.number,
        sop_name=run.sop.name,
        run_id=run.pk,
        run_title=run.title,
        step=step.number,
        round=step_run.round,
        activity=" ".join(step.activity.split()),
        role=role.name if role else "",
        outcome=outcome,
        returned=returned,
        standard_minutes=step.standard_minutes,
        office_minutes=_minutes(office_minutes or 0.0),
        day_minutes=day_minutes,
    )
