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
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from activities.core import events
from activities.models import (
    Event,
    Notification,
    PeriodicJob,
    Role,
    Run,
    Sop,
    Step,
    StepRun,
    Unit,
    update_rows,
)
from activities.notifications import announcements, channels
from activities.time import timing
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
    """Due times of the unit's active steps again, after its calendar changed, and when the
    sweep next looks at each. Returns how many due times changed. A disposisi's batas waktu
    stays what the Kepala set."""
    calendar: OfficeCalendar = Unit.objects.calendars([unit.pk])[unit.pk]
    roles = Role.objects.select_related("reports_to__reports_to__reports_to")
    active = (
        StepRun.objects.filter(run__unit=unit, state=StepRun.State.ACTIVE, run__status="running")
        .select_related("step")
        .prefetch_related(Prefetch("step__roles", queryset=roles))
        .order_by("pk")
    )
    changed = 0
    for step_run in active:
        deadline = _ordering_deadline(step_run)
        activated_at = _activated_at(step_run)
        due_at = due_time(calendar, activated_at, step_run.step, deadline=deadline)
        alert_at = next_alert(
            calendar, activated_at, due_at, step_run.alert_stage, _chain_depth(step_run.step)
        )
        if due_at != step_run.due_at or alert_at != step_run.next_alert_at:
            StepRun.objects.filter(pk=step_run.pk).update(due_at=due_at, next_alert_at=alert_at)
            changed += due_at != step_run.due_at
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


# When each stage is due. Every moment is moved to the next minute of office time of the unit
# (`add_office_minutes(moment, 0)`): a round due at closing time is next looked at when the
# office opens again, so a sweep at night or on a weekend finds nothing to read.


def _reminder_moment(
    calendar: OfficeCalendar, activated_at: datetime.datetime, due_at: datetime.datetime
) -> datetime.datetime:
    """When SOPFLOW_REMINDER_PERCENT of the round's standard (in office minutes) has passed."""
    standard = calendar.office_minutes(activated_at, due_at)
    share = standard * settings.SOPFLOW_REMINDER_PERCENT / 100
    if share >= standard:
        return due_at
    return min(calendar.add_office_minutes(activated_at, share), due_at)


def _escalation_moment(
    calendar: OfficeCalendar, due_at: datetime.datetime, level: int
) -> datetime.datetime:
    """When the round has been late `level` escalation margins of office time."""
    return calendar.add_office_minutes(due_at, level * settings.SOPFLOW_ESCALATION_MINUTES)


def next_alert(
    calendar: OfficeCalendar,
    activated_at: datetime.datetime,
    due_at: datetime.datetime,
    stage: int,
    depth: int,
) -> datetime.datetime | None:
    """When a round that has reached `stage` next has something to send (in office time), or
    None when nothing more is to come (escalated to the top of a chain `depth` roles high)."""
    if stage == Stage.NONE:
        moment = _reminder_moment(calendar, activated_at, due_at)
    elif stage == Stage.REMINDED:
        moment = due_at
    else:
        level = stage - Stage.ESCALATED + 1  # escalations sent so far
        if settings.SOPFLOW_ESCALATION_MINUTES <= 0 or level >= depth:
            return None
        moment = _escalation_moment(calendar, due_at, level + 1)
    return calendar.add_office_minutes(moment, 0)


def first_alert(
    calendar: OfficeCalendar, activated_at: datetime.datetime, due_at: datetime.datetime
) -> datetime.datetime | None:
    """`next_alert` of a round just activated: set by the transition that activates it."""
    return next_alert(calendar, activated_at, due_at, Stage.NONE, 0)


def _target_stage(
    calendar: OfficeCalendar,
    activated_at: datetime.datetime,
    due_at: datetime.datetime,
    depth: int,
    now: datetime.datetime,
) -> int:
    """The stage a round has reached at `now`, from the same moments `next_alert` gives."""
    if now < due_at:
        if now >= _reminder_moment(calendar, activated_at, due_at):
            return Stage.REMINDED
        return Stage.NONE
    levels = 0
    if settings.SOPFLOW_ESCALATION_MINUTES > 0:
        while levels < depth and _escalation_moment(calendar, due_at, levels + 1) <= now:
            levels += 1
    return Stage.DUE + levels


# What the reminder and escalation templates print of a round (all as text, none branched
# on): each alert's subject and body fill a stencil rendered once per template and variant.
ALERT_TEXTS = ("number", "at", "title", "sop", "activity", "standard", "roles")


@dataclass
class _Alert:
    step_run: StepRun
    stage: int


class _Sweep:
    """The rounds whose next alert has come, in batches of `BATCH`: each batch one transaction
    that locks its runs (in id order, as the transitions lock them first), reads the rounds
    again, moves each to its stage and its next alert and writes all the batch's
    notifications and events in bulk (the events continue each run's hash chain). A sweep
    killed half-way leaves whole batches done and the rest as they were."""

    BATCH = 200

    def __init__(self, now: datetime.datetime, calendars: Mapping[int, OfficeCalendar]):
        self.now = now
        self.calendars = calendars
        self.result = SweepResult()
        self.steps: dict[int, Step] = {}
        self.sops: dict[int, Sop] = {}
        self.holders: dict[int, list[Any]] = {}
        self.stencils: dict[tuple[object, ...], channels.Stencil] = {}

    def run(self, unit_ids: list[int]) -> None:
        after: tuple[datetime.datetime | None, int] | None = None
        while True:
            due = StepRun.objects.filter(next_alert_at__lte=self.now, run__unit_id__in=unit_ids)
            if after is not None:
                due = due.filter(
                    Q(next_alert_at__gt=after[0]) | Q(next_alert_at=after[0], pk__gt=after[1])
                )
            keys = list(
                due.order_by("next_alert_at", "pk").values_list("next_alert_at", "pk", "run_id")[
                    : self.BATCH
                ]
            )
            if not keys:
                return
            with transaction.atomic():
                self._batch([pk for _, pk, _ in keys], sorted({run for _, _, run in keys}))
            after = keys[-1][:2]
            if len(keys) < self.BATCH:
                return

    def _batch(self, ids: list[int], run_ids: list[int]) -> None:
        list(
            Run.objects.select_for_update(of=("self",))
            .filter(pk__in=run_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        rounds = list(
            StepRun.objects.filter(pk__in=ids, next_alert_at__lte=self.now)
            .select_related("run")
            .only(
                "pk",
                "round",
                "state",
                "step_id",
                "activated_at",
                "due_at",
                "alert_stage",
                "next_alert_at",
                "run__title",
                "run__status",
                "run__sop_id",
                "run__unit_id",
            )
            .order_by("pk")
        )
        self._load(rounds)
        changed, alerts = [], []
        for step_run in rounds:
            run = step_run.run
            step_run.step = self.steps[step_run.step_id]
            run.sop = self.sops[run.sop_id]
            if step_run.state != StepRun.State.ACTIVE or run.status != Run.Status.RUNNING:
                step_run.next_alert_at = None  # closed by a path that did not clear it
                changed.append(step_run)
                continue
            self.result.checked += 1
            calendar = self.calendars[run.unit_id]
            activated_at, due_at = _activated_at(step_run), _due_at(step_run)
            depth = _chain_depth(step_run.step)
            target = _target_stage(calendar, activated_at, due_at, depth, self.now)
            current = step_run.alert_stage
            for stage in range(current + 1, target + 1):
                if stage == Stage.REMINDED and target > Stage.REMINDED:
                    continue  # a share reminder is skipped once the step is due
                alerts.append(_Alert(step_run, stage))
            step_run.alert_stage = max(current, target)
            step_run.next_alert_at = next_alert(
                calendar, activated_at, due_at, step_run.alert_stage, depth
            )
            changed.append(step_run)
        update_rows(
            StepRun,
            {step_run.pk: (step_run.alert_stage, step_run.next_alert_at) for step_run in changed},
            ("alert_stage", "next_alert_at"),
        )
        self._send(alerts)

    def _load(self, rounds: Sequence[StepRun]) -> None:
        """The rounds' steps (with their roles up the reports_to chain) and SOP versions, once
        per sweep."""
        step_ids = {sr.step_id for sr in rounds} - set(self.steps)
        if step_ids:
            roles = Role.objects.select_related("reports_to__reports_to__reports_to")
            for step in Step.objects.filter(pk__in=step_ids).prefetch_related(
                Prefetch("roles", queryset=roles)
            ):
                self.steps[step.pk] = step
        sop_ids = {sr.run.sop_id for sr in rounds} - set(self.sops)
        if sop_ids:
            for sop in Sop.objects.filter(pk__in=sop_ids).only("pk", "name", "role_names"):
                self.sops[sop.pk] = sop
        role_ids = {
            role.pk
            for sr in rounds
            for level in range(_chain_depth(self.steps[sr.step_id]) + 1)
            for role in _superiors(self.steps[sr.step_id], level)
        } - set(self.holders)
        if role_ids:
            for role_id in role_ids:
                self.holders[role_id] = []
            members = (
                Role.members.through.objects.filter(role_id__in=role_ids, user__is_active=True)
                .select_related("user")
                .order_by("user_id")
            )
            for member in members:
                self.holders[member.role_id].append(member.user)

    def _users(self, roles: Sequence[Role]) -> list[Any]:
        users = {user.pk: user for role in roles for user in self.holders[role.pk]}
        return [users[pk] for pk in sorted(users)]

    def _send(self, alerts: Sequence[_Alert]) -> None:
        notes = [self._note(alert) for alert in alerts]
        sent = announcements.notify_many(notes, now=self.now)
        entries = []
        for alert, created in zip(alerts, sent, strict=True):
            step_run, stage = alert.step_run, alert.stage
            after: dict[str, object] = {
                "step": step_run.step.number,
                "round": step_run.round,
                "stage": int(stage),
                "due_at": _due_at(step_run).isoformat(),
                "recipients": sorted(n.recipient.get_username() for n in created),
            }
            if stage >= Stage.ESCALATED:
                level = stage - Stage.ESCALATED + 1
                after["level"] = level
                after["roles"] = [role.name for role in _superiors(step_run.step, level)]
                kind = Event.Kind.ESCALATED
                self.result.escalations += 1
            else:
                kind = Event.Kind.REMINDED
                if stage == Stage.REMINDED:
                    self.result.reminders += 1
                else:
                    self.result.due += 1
            entries.append(
                dict(kind=kind, at=self.now, run=step_run.run, step_run=step_run, after=after)
            )
        events.record_many(entries)

    def _note(self, alert: _Alert) -> announcements.Note:
        """The notification of one stage of one round: to the performers (a link to the step
        itself), or, escalated, to the superiors (who may not act on it: a link to the run).
        Its texts fill the sweep's stencils of the stage's templates (`ALERT_TEXTS`)."""
        step_run, stage = alert.step_run, alert.stage
        run, step = step_run.run, step_run.step
        values: dict[str, object] = {
            "number": step.number,
            "at": timing.moment_text(due) if (due := _due_at(step_run)) else "",
            "title": run.title,
            "sop": run.sop.name,
            "activity": step.activity,
            "standard": step.standard_display,
        }
        if stage < Stage.ESCALATED:
            kind = Notification.Kind.REMINDER
            users = self._users(list(step.roles.all()))
            template, variant = "reminder", {"due": stage == Stage.DUE}
            url = reverse("step_action", args=[run.pk, step.number])
        else:
            level = stage - Stage.ESCALATED + 1
            kind = Notification.Kind.ESCALATION
            users = self._users(_superiors(step, level))
            values["roles"] = step_run.roles_display
            template, variant = "escalation", {}
            url = run.get_absolute_url()
        subject, body = (
            self._stencil(f"emails/{template}{part}.txt", variant).fill(values)
            for part in ("_subject", "")
        )
        return announcements.Note(
            users=users,
            kind=kind,
            key=f"{kind}:{int(stage)}:{step_run.pk}",
            subject=subject,
            body=body,
            url=url,
            run=run,
            step_run=step_run,
        )

    def _stencil(self, template_name: str, variant: dict[str, bool]) -> channels.Stencil:
        key = (template_name, *sorted(variant.items()))
        if key not in self.stencils:
            self.stencils[key] = channels.Stencil(template_name, variant, ALERT_TEXTS)
        return self.stencils[key]


DIGEST_JOB = "deadline_digest"
# The rows of each list of a digest: a unit with thousands of active steps gives each of its
# people a digest of a few screens, not of thousands of lines (the rest are on /tugas/).
DIGEST_ROWS = 20


def sweep(now: datetime.datetime | None = None) -> SweepResult:
    """Reminders, escalations and the morning digest: idempotent, so a rerun (or a second
    scheduler) sends nothing new. Only the rounds whose next alert has come are read (an index
    on `StepRun.next_alert_at`), and only in the units whose office is open now: a round of a
    unit outside its office hours (nights, weekends, holidays, its own days off) waits for its
    next office hour. With nothing due the sweep is one query (two after the digest time)."""
    now = now or timezone.now()
    due_per_unit = dict(
        StepRun.objects.filter(next_alert_at__lte=now)
        .order_by()
        .values("run__unit_id")
        .annotate(rounds=Count("pk"))
        .values_list("run__unit_id", "rounds")
    )
    calendars = Unit.objects.calendars(list(due_per_unit))
    open_units = sorted(pk for pk, calendar in calendars.items() if calendar.is_office_time(now))
    work = _Sweep(now, calendars)
    if open_units:
        work.run(open_units)
    result = work.result
    result.silent = sum(n for pk, n in due_per_unit.items() if pk not in open_units)
    result.digests = _daily_digest(now)
    return result


# The morning digest -------------------------------------------------------------------------


def _digest_time() -> datetime.time:
    hour, minute = (int(part) for part in settings.SOPFLOW_DIGEST_TIME.split(":"))
    return datetime.time(hour, minute)


def _daily_digest(now: datetime.datetime) -> int:
    """The morning digest, once a day from SOPFLOW_DIGEST_TIME: a row of the scheduler's
    PeriodicJob (`DIGEST_JOB`) keeps when it is next due, moved on once the day's digests are
    all sent (a sweep killed half-way leaves it, and the next one sends the rest)."""
    local = timezone.localtime(now)
    if local.time() < _digest_time():
        return 0
    next_run = (
        PeriodicJob.objects.filter(name=DIGEST_JOB).values_list("next_run_at", flat=True).first()
    )
    if next_run is not None and next_run > now:
        return 0
    sent = send_digests(now)
    tomorrow = datetime.datetime.combine(
        local.date() + datetime.timedelta(days=1), _digest_time(), tzinfo=local.tzinfo
    )
    PeriodicJob.objects.update_or_create(
        name=DIGEST_JOB, defaults={"next_run_at": tomorrow, "last_run_at": now}
    )
    return sent


@dataclass(slots=True)
class _DigestRow:
    """An active round as a digest lists it (read as a row of values, not a model)."""

    pk: int
    run_id: int
    title: str
    step: Step
    due_at: datetime.datetime
    day: datetime.date  # of due_at, in WIB


def send_digests(now: datetime.datetime) -> int:
    """One digest per user per working morning: their active steps, those due today and those
    overdue, the first DIGEST_ROWS of each list (soonest due first) and how many more, with a
    link to /tugas/ that holds them all. Sent from SOPFLOW_DIGEST_TIME until that day's office
    hours end, on days that are working days of the steps' unit; never twice a day (its key is
    the date). The active rounds are read as rows of the few columns the digest prints, each
    step and its roles once."""
    local = timezone.localtime(now)
    today = local.date()
    if local.time() < _digest_time():
        return 0
    active = list(
        StepRun.objects.filter(
            state=StepRun.State.ACTIVE,
            run__status=Run.Status.RUNNING,
            due_at__isnull=False,
            activated_at__isnull=False,
        )
        .order_by("due_at", "pk")
        .values_list("pk", "run_id", "run__title", "run__unit_id", "step_id", "due_at")
    )
    calendars = Unit.objects.calendars({unit_id for _, _, _, unit_id, _, _ in active})
    steps = Step.objects.filter(pk__in={step_id for *_, step_id, _ in active})
    step_of = {step.pk: step for step in steps.only("pk", "number", "activity")}
    roles_of: defaultdict[int, list[int]] = defaultdict(list)
    for step_id, role_id in Step.roles.through.objects.filter(step_id__in=step_of).values_list(
        "step_id", "role_id"
    ):
        roles_of[step_id].append(role_id)
    ends = {pk: calendar.end_of_day(today) for pk, calendar in calendars.items()}
    by_user: defaultdict[int, list[_DigestRow]] = defaultdict(list)
    for pk, run_id, title, unit_id, step_id, due_at in active:
        end = ends[unit_id]
        if end is None or now >= end or due_at is None:
            continue  # a day off of this unit, or its office hours are over
        row = _DigestRow(pk, run_id, title, step_of[step_id], due_at, timezone.localdate(due_at))
        for role_id in roles_of[step_id]:
            by_user[role_id].append(row)
    if not by_user:
        return 0
    key = f"digest:{today.isoformat()}"
    members = Role.members.through.objects.filter(role_id__in=by_user).values_list(
        "role_id", "user_id"
    )
    steps_of: defaultdict[int, dict[int, _DigestRow]] = defaultdict(dict)
    for role_id, user_id in members:
        for row in by_user[role_id]:
            steps_of[user_id][row.pk] = row
    done = set(
        Notification.objects.filter(key=key, recipient_id__in=steps_of).values_list(
            "recipient_id", flat=True
        )
    )
    users = get_user_model().objects.filter(pk__in=set(steps_of) - done, is_active=True)
    sent = 0
    notes: list[announcements.Note] = []
    for user in users.order_by("pk"):
        rows = sorted(steps_of[user.pk].values(), key=lambda row: (row.due_at, row.pk))
        lists = {
            "overdue": [row for row in rows if row.due_at <= now],
            "due_today": [row for row in rows if now < row.due_at and row.day == today],
            "later": [row for row in rows if row.day > today],
        }
        context: dict[str, object] = {
            "user": user,
            "today": today,
            "overdue_count": len(lists["overdue"]),
            "site_url": settings.SITE_URL.rstrip("/"),
        }
        for name, listed in lists.items():
            context[name] = listed[:DIGEST_ROWS]
            context[f"{name}_more"] = max(0, len(listed) - DIGEST_ROWS)
        notes.append(
            announcements.Note(
                users=[user],
                kind=Notification.Kind.DIGEST,
                key=key,
                subject=channels.render_text("emails/digest_subject.txt", context),
                body=channels.render_text("emails/digest.txt", context),
                url=reverse("inbox"),
            )
        )
        sent += 1
        if len(notes) == _Sweep.BATCH:
            with transaction.atomic():
                announcements.notify_many(notes, now=now)
            notes = []
    with transaction.atomic():
        announcements.notify_many(notes, now=now)
    return sent


@task()
def sweep_deadlines() -> dict[str, int]:
    """Reminders, escalations and the morning digest (`sweep`)."""
    return sweep().as_dict()
