"""Due times of active steps, and the sweep that acts on them.

A step is due at its activation plus its standard on the calendar of the run's unit
(`OfficeCalendar.due`), unless the disposisi that ordered it set a batas waktu: then it is due
when office hours end on that date.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import IntEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from activities.core import events
from activities.models import Event, Notification, Role, Run, Step, StepRun, Unit
from activities.notifications import announcements, channels
from activities.time.calendar import OfficeCalendar


def deadline_moment(calendar: OfficeCalendar, deadline: datetime.date) -> datetime.datetime | None:
    """The end of office hours on `deadline` (a date), or of the last working day before it."""
    day = deadline
    for _ in range(366):
        end = calendar.end_of_day(day)
        if end is not None:
            return end
        day -= datetime.timedelta(days=1)
    return None


def due_time(
    calendar: OfficeCalendar,
    activated_at: datetime.datetime,
    step: Step,
    *,
    deadline: datetime.date | None = None,
) -> datetime.datetime:
    """When a round of `step` activated at `activated_at` is due."""
    if deadline is not None:
        moment = deadline_moment(calendar, deadline)
        if moment is not None and moment > activated_at:
            return moment
    return calendar.due(activated_at, step.standard)


def recompute_due_times(unit: Unit) -> int:
    """Due times of the unit's active steps again, after its calendar changed. Returns how
    many changed. A disposisi's batas waktu stays what the Kepala set."""
    calendar: OfficeCalendar = Unit.objects.calendars([unit.pk])[unit.pk]
    active = (
        StepRun.objects.filter(run__unit=unit, state=StepRun.State.ACTIVE, run__status="running")
        .select_related("step")
        .order_by("pk")
    )
    changed = 0
    for step_run in active:
        deadline = _ordering_deadline(step_run)
        due_at = due_time(calendar, _activated_at(step_run), step_run.step, deadline=deadline)
        if due_at != step_run.due_at:
            StepRun.objects.filter(pk=step_run.pk).update(due_at=due_at)
            changed += 1
    return changed


def _ordering_deadline(step_run: StepRun) -> datetime.date | None:
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


def _activated_at(step_run: StepRun) -> datetime.datetime:
    # An active round has both times: the transition that activates it writes them together.
    assert step_run.activated_at is not None
    return step_run.activated_at


def _due_at(step_run: StepRun) -> datetime.datetime:
    assert step_run.due_at is not None
    return step_run.due_at


# The sweep ----------------------------------------------------------------------------------


class Stage(IntEnum):
    """How far the sweep has gone with one round (StepRun.alert_stage); each is sent once.
    Stage ESCALATED + k - 1 means escalated k levels up the reports_to chain."""

    NONE = 0
    REMINDED = 1  # the configured share of the standard has passed
    DUE = 2  # the due time has passed
    ESCALATED = 3


@dataclass
class SweepResult:
    checked: int = 0
    silent: int = 0  # active steps of units outside office hours right now
    reminders: int = 0
    due: int = 0
    escalations: int = 0
    digests: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _superiors(step: Step, level: int) -> list[Role]:
    """The roles `level` steps up the reports_to chain from each of the step's roles."""
    found: list[Role] = []
    for role in step.roles.all():
        superior: Role | None = role
        for _ in range(level):
            if superior is None:
                break
            superior = superior.reports_to
        if superior is not None and superior not in found:
            found.append(superior)
    return found


def _chain_depth(step: Step) -> int:
    depth = 0
    for role in step.roles.all():
        length, seen = 0, {role.pk}
        while role.reports_to is not None and role.reports_to.pk not in seen:
            role = role.reports_to
            seen.add(role.pk)
            length += 1
        depth = max(depth, length)
    return depth


def _target_stage(step_run: StepRun, calendar: OfficeCalendar, now: datetime.datetime) -> int:
    activated_at, due_at = _activated_at(step_run), _due_at(step_run)
    elapsed = calendar.office_minutes(activated_at, now)
    standard = calendar.office_minutes(activated_at, due_at)
    if now < due_at:
        if elapsed >= standard * settings.SOPFLOW_REMINDER_PERCENT / 100:
            return Stage.REMINDED
        return Stage.NONE
    margin = settings.SOPFLOW_ESCALATION_MINUTES
    late = calendar.office_minutes(due_at, now)
    levels = min(int(late // margin) if margin > 0 else 0, _chain_depth(step_run.step))
    return Stage.DUE + levels


def _send_stage(step_run: StepRun, stage: int, now: datetime.datetime) -> Event.Kind:
    """Write the Event and the notifications of one stage of one round."""
    run, step = step_run.run, step_run.step
    context: dict[str, object] = {"step_run": step_run, "run": run, "step": step}
    # The performers go to the step itself; a superior, who may not act on it, to the run.
    url = reverse("step_action", args=[run.pk, step.number])
    if stage < Stage.ESCALATED:
        kind, event_kind = Notification.Kind.REMINDER, Event.Kind.REMINDED
        users = announcements.role_holders(step.roles.all())
        context["due"] = stage == Stage.DUE
        template, level = "reminder", None
    else:
        level = stage - Stage.ESCALATED + 1
        kind, event_kind = Notification.Kind.ESCALATION, Event.Kind.ESCALATED
        superiors = _superiors(step, level)
        users = announcements.role_holders(superiors)
        context.update(level=level, superiors=superiors)
        template, url = "escalation", run.get_absolute_url()
    sent = announcements.notify(
        users,
        kind=kind,
        key=f"{kind}:{int(stage)}:{step_run.pk}",
        subject=channels.render_text(f"emails/{template}_subject.txt", context),
        body=channels.render_text(f"emails/{template}.txt", context),
        url=url,
        run=run,
        step_run=step_run,
        now=now,
    )
    after: dict[str, object] = {
        "step": step.number,
        "round": step_run.round,
        "stage": int(stage),
        "due_at": _due_at(step_run).isoformat(),
        "recipients": sorted(n.recipient.get_username() for n in sent),
    }
    if level is not None:
        after["level"] = level
        after["roles"] = [role.name for role in _superiors(step, level)]

    events.record(event_kind, actor=None, at=now, run=run, step_run=step_run, after=after)
    return event_kind


def _claim_and_send(
    step_run: StepRun, target: int, now: datetime.datetime, result: SweepResult
) -> None:
    """Move the round from its stage to `target` with a conditional UPDATE (one sweep wins a
    race) and send each stage crossed; a share reminder is skipped once the step is due."""
    current = step_run.alert_stage
    with transaction.atomic():
        claimed = StepRun.objects.filter(
            pk=step_run.pk, state=StepRun.State.ACTIVE, alert_stage=current
        ).update(alert_stage=target)
        if not claimed:
            return
        for stage in range(current + 1, target + 1):
            if stage == Stage.REMINDED and target > Stage.REMINDED:
                continue
            _send_stage(step_run, stage, now)
            if stage == Stage.REMINDED:
                result.reminders += 1
            elif stage == Stage.DUE:
                result.due += 1
            else:
                result.escalations += 1


def sweep(now: datetime.datetime | None = None) -> SweepResult:
    """Reminders, escalations and the morning digest for every active step: idempotent, so a
    rerun (or a second scheduler) sends nothing new. Units outside their office hours (nights,
    weekends, holidays, their own days off) are left alone until their next office hour."""
    now = now or timezone.now()
    result = SweepResult()
    roles = Role.objects.select_related("reports_to__reports_to__reports_to")
    active = list(
        StepRun.objects.filter(
            state=StepRun.State.ACTIVE,
            run__status=Run.Status.RUNNING,
            due_at__isnull=False,
            activated_at__isnull=False,
        )
        .select_related("run__sop", "step")
        .prefetch_related(Prefetch("step__roles", queryset=roles))
        .order_by("due_at", "pk")
    )
    calendars = Unit.objects.calendars({step_run.run.unit_id for step_run in active})
    for step_run in active:
        result.checked += 1
        calendar = calendars[step_run.run.unit_id]
        if not calendar.is_office_time(now):
            result.silent += 1
            continue
        if now < _due_at(step_run) and step_run.alert_stage >= Stage.REMINDED:
            continue  # reminded already; nothing more until it is due
        target = _target_stage(step_run, calendar, now)
        if target > step_run.alert_stage:
            _claim_and_send(step_run, target, now, result)
    result.digests = send_digests(active, calendars, now)
    return result


# The morning digest -------------------------------------------------------------------------


def _digest_time() -> datetime.time:
    hour, minute = (int(part) for part in settings.SOPFLOW_DIGEST_TIME.split(":"))
    return datetime.time(hour, minute)


def send_digests(
    active: Sequence[StepRun], calendars: Mapping[int, OfficeCalendar], now: datetime.datetime
) -> int:
    """One digest per user per working morning: their active steps, those due today and those
    overdue. Sent from SOPFLOW_DIGEST_TIME until that day's office hours end, on days that are
    working days of the steps' unit; never twice a day (its key is the date)."""
    local = timezone.localtime(now)
    today = local.date()
    if local.time() < _digest_time():
        return 0
    by_user: defaultdict[int, list[StepRun]] = defaultdict(list)
    for step_run in active:
        calendar = calendars[step_run.run.unit_id]
        end = calendar.end_of_day(today)
        if end is None or now >= end:
            continue  # a day off of this unit, or its office hours are over
        for role in step_run.step.roles.all():
            by_user[role.pk].append(step_run)
    if not by_user:
        return 0
    key = f"digest:{today.isoformat()}"
    members = Role.members.through.objects.filter(role_id__in=by_user).values_list(
        "role_id", "user_id"
    )
    steps_of: defaultdict[int, dict[int, StepRun]] = defaultdict(dict)
    for role_id, user_id in members:
        for step_run in by_user[role_id]:
            steps_of[user_id][step_run.pk] = step_run
    done = set(
        Notification.objects.filter(key=key, recipient_id__in=steps_of).values_list(
            "recipient_id", flat=True
        )
    )
    users = get_user_model().objects.filter(pk__in=set(steps_of) - done, is_active=True)
    sent = 0
    for user in users.order_by("pk"):
        step_runs = sorted(steps_of[user.pk].values(), key=lambda sr: (_due_at(sr), sr.pk))
        context = {
            "user": user,
            "today": today,
            "overdue": [sr for sr in step_runs if _due_at(sr) <= now],
            "due_today": [
                sr
                for sr in step_runs
                if now < _due_at(sr) and timezone.localdate(_due_at(sr)) == today
            ],
            "later": [sr for sr in step_runs if timezone.localdate(_due_at(sr)) > today],
            "site_url": settings.SITE_URL.rstrip("/"),
        }
        with transaction.atomic():
            announcements.notify(
                [user],
                kind=Notification.Kind.DIGEST,
                key=key,
                subject=channels.render_text("emails/digest_subject.txt", context),
                body=channels.render_text("emails/digest.txt", context),
                url=reverse("inbox"),
                now=now,
            )
        sent += 1
    return sent


@task()
def sweep_deadlines() -> dict[str, int]:
    """Reminders, escalations and the morning digest (`sweep`)."""
    return sweep().as_dict()
