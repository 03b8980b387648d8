"""Every state change of a run: open, complete, approve, return, cancel.

Each transition is one function that runs in one transaction: it locks the run row
(`select_for_update`, a row lock in the database, so it holds across processes and servers),
re-reads the state under the lock, asks `activities.core.policy` who may act, and writes the change
and its events (through `activities.core.events`, in one INSERT per transition). Telling people
(in-app notifications, mail, webhooks) and archiving the laporan are tasks queued for after the
commit (activities/background/tasks.py), so a transition is a handful of queries whoever it concerns.
Views never change state themselves. Refusals are typed (`activities.core.errors`).

Validate, then lock: a view reads the step's active round without a lock (`read_turn`), checks
its form and files against it (photos re-encoded, PDFs parsed: seconds, for many photos) and
only then calls the transition with plain values and the round and version the form was read
for. Under the lock the transition checks that they are still the active ones
(`check_expected`) and writes; the lock covers only that check and the writes.

Row locks wait at most SOPFLOW_LOCK_TIMEOUT_MS on PostgreSQL (`lock_timeout`).

SQLite ignores `select_for_update`; there the IMMEDIATE transaction mode serialises writers and
the conditional UPDATEs (on `StepRun.version`, on `Run.status`) still let only one of two
racing requests win.

Times: `Event.at` is the moment a change was recorded; the times a user entered by hand
(started_at, completed_at) are stored on the `StepRun` and in the event's `after`, and the
next step becomes active at the entered completion time.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from activities.background.tasks import enqueue_on_commit
from activities.core import events, locking, policy, stages, uploads
from activities.core.errors import Closed, Forbidden, Invalid, NotFound, Stale, WorkflowError

# What each change writes: the fields of a closed round, the before/after of its events.
from activities.core.payloads import (
    activated_payload,
    approved_fields,
    cancelled_payload,
    closed_payload,
    completed_fields,
    finished_payload,
    opened_payload,
    returned_fields,
)
from activities.documents import laporan
from activities.models import Event, Run, Sop, Step, StepRun, StepSignOff, StepValue
from activities.notifications import announcements
from activities.time import deadlines, timing

__all__ = ["WorkflowError", "Forbidden", "Stale", "Closed", "Invalid", "NotFound"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

# The before/after of an event and the fields a closed round writes: JSON values and column
# values by name.
Payload = dict[str, Any]


def _log(
    run: Run,
    kind: Event.Kind,
    actor: policy.Actor,
    at: datetime.datetime,
    *,
    step_run: StepRun | None = None,
    before: Payload | None = None,
    after: Payload | None = None,
) -> None:
    events.record(kind, actor=actor, at=at, run=run, step_run=step_run, before=before, after=after)


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "j F Y H:i")


def _read_run(run_id: int, *, lock: bool) -> Run:
    runs = Run.objects.select_related("sop", "unit")
    if lock:
        # of=("self",): lock only the run row; the joined SOP and unit rows are shared by every
        # run of the unit and locking them would serialise unrelated runs.
        runs = runs.select_for_update(of=("self",))
    try:
        run: Run = locking.locked_get(runs, run_id)
    except NotFound:
        raise NotFound(_("Kegiatan tidak ditemukan.")) from None
    return run


def _lock_run(run_id: int) -> Run:
    return _read_run(run_id, lock=True)


def _require_running(run: Run) -> None:
    if run.status != Run.Status.RUNNING:
        raise Closed(
            _("Kegiatan ini sudah %(status)s; tidak ada lagi yang dapat diubah.")
            % {"status": run.get_status_display().lower()}
        )


def _archive_when_committed(run: Run, actor: policy.Actor, now: datetime.datetime) -> None:
    # The final laporan is rendered by a worker from the committed data; the run page says it is
    # being prepared until it is there.
    enqueue_on_commit(announcements.announce_finished, run.pk, actor.user.pk)
    enqueue_on_commit(laporan.archive_laporan, run.pk)


def _activate(
    run: Run,
    step_run: StepRun,
    activated_at: datetime.datetime,
    actor: policy.Actor,
    now: datetime.datetime,
    *,
    returned: bool = False,
    deadline: datetime.date | None = None,
) -> None:
    calendar = run.unit.calendar
    due_at = deadlines.due_time(calendar, activated_at, step_run.step, deadline=deadline)
    next_alert_at = deadlines.first_alert(calendar, activated_at, due_at)
    updated = StepRun.objects.filter(pk=step_run.pk, state=StepRun.State.WAITING).update(
        state=StepRun.State.ACTIVE,
        activated_at=activated_at,
        due_at=due_at,
        next_alert_at=next_alert_at,
        version=F("version") + 1,
    )
    if updated != 1:
        raise Stale(_("Langkah berikutnya tidak dapat diaktifkan."), code="conflict")
    before, after = activated_payload(step_run, activated_at, due_at)
    _log(run, Event.Kind.ACTIVATED, actor, now, step_run=step_run, before=before, after=after)
    step_run.state, step_run.activated_at, step_run.due_at = (
        StepRun.State.ACTIVE,
        activated_at,
        due_at,
    )
    step_run.next_alert_at = next_alert_at
    step_run.version += 1
    # The holders are told by a task once the change is committed (in-app, mail, webhook): the
    # transition itself writes only the change and its events.
    enqueue_on_commit(announcements.announce_activation, step_run.pk, actor.user.pk, returned)


@transaction.atomic
def open_run(
    *,
    sop: Sop,
    user: policy.User,
    title: str,
    scheduled_on: datetime.date | None,
    place: str,
    notes: str = "",
    now: datetime.datetime | None = None,
) -> Run:
    """Open a run of an active SOP version; step 1 becomes active, the others wait."""
    now = now or timezone.now()
    # Locked so that the SOP cannot be retired between the check and the run's creation.
    sop = locking.locked_get(Sop.objects.select_for_update(), sop.pk)
    if sop.status != Sop.Status.ACTIVE:
        raise Invalid(
            _("SOP ini tidak berlaku (status: %(status)s), jadi tidak dapat dijalankan.")
            % {"status": sop.get_status_display()},
            code="sop_inactive",
        )
    actor = policy.opener(user, sop, policy.fresh_subject(user))
    if actor is None:
        raise Forbidden(_("Jabatan Anda tidak berwenang membuka kegiatan SOP ini."))
    steps = list(sop.steps.order_by("number"))
    if not steps:
        raise Invalid(_("SOP ini belum memiliki langkah."), code="no_steps")
    title, place = (title or "").strip(), (place or "").strip()
    if not title:
        raise Invalid(_("Judul kegiatan wajib diisi."), field="title", code="required")
    if not place:
        raise Invalid(_("Tempat kegiatan wajib diisi."), field="place", code="required")
    if scheduled_on is None:
        raise Invalid(_("Tanggal pelaksanaan wajib diisi."), field="scheduled_on", code="required")
    sop.freeze_role_names()
    run = Run.objects.create(
        sop=sop,
        unit=sop.unit,
        title=title,
        scheduled_on=scheduled_on,
        place=place,
        notes=notes,
        opened_by=user,
        opened_at=now,
        opened_on_behalf=actor.on_behalf,
    )
    created = StepRun.objects.bulk_create([StepRun(run=run, step=s, round=1) for s in steps])
    first = created[0]
    # A database that does not return the ids of a bulk insert leaves them None, which
    # django-stubs does not know of.
    if first.pk is None:
        first = run.step_runs.select_related("step").get(step=steps[0], round=1)  # type: ignore[unreachable]
    after = opened_payload(sop, title=title, scheduled_on=scheduled_on, place=place, notes=notes)
    # A run created in this transaction: its chain is empty and nobody else writes to it.
    with events.batch(run):
        _log(run, Event.Kind.OPENED, actor, now, after=after)
        _activate(run, first, now, actor, now)
    return run


def closed_round_message(rounds: Sequence[StepRun]) -> str | None:
    """Who closed step's latest pass and when, if that is why it cannot be acted on, else None.

    `rounds`: one step's rounds, oldest first. A round closed just now is the latest one
    (done), or the round before the new waiting round a return created: after a return wins a
    race against an approval, the approver learns who returned the step and when, not that
    the step "is not active".
    """
    if not rounds:
        return None
    latest = rounds[-1]
    closed = next(
        (
            r
            for r in reversed(rounds[-2:])
            if r.state in (StepRun.State.DONE, StepRun.State.RETURNED)
        ),
        None,
    )
    if closed is None or not (
        closed is latest
        or (latest.state == StepRun.State.WAITING and closed.state == StepRun.State.RETURNED)
    ):
        return None
    # A closed round records who closed it and when; a returned one, of a step with a target.
    closer, closed_at = closed.completed_by, closed.entered_at or closed.completed_at
    assert closer is not None and closed_at is not None
    params = {
        "number": closed.step.number,
        "who": closer.get_full_name() or closer.get_username(),
        "when": _when(closed_at),
    }
    if closed.state == StepRun.State.RETURNED:
        target = closed.step.return_to
        if target is None:
            # A step of a parallel group closed by its neighbour's return.
            return _("Langkah %(number)s sudah dikembalikan oleh %(who)s pada %(when)s.") % params
        params["target"] = target.number
        return (
            _(
                "Langkah %(number)s sudah dikembalikan ke langkah %(target)s oleh %(who)s pada %(when)s."
            )
            % params
        )
    return _("Langkah %(number)s sudah diselesaikan oleh %(who)s pada %(when)s.") % params


def _not_active_error(run: Run, number: int, active: StepRun | None) -> Stale:
    """Why step `number` cannot be acted on: someone was first, or it is not its turn."""
    rounds = list(
        run.step_runs.select_related("completed_by", "step__return_to")
        .filter(step__number=number)
        .order_by("round")
    )
    message = closed_round_message(rounds)
    if message is not None:
        return Stale(message, code="already_done")
    if active is not None:
        return Stale(
            _("Langkah %(number)s tidak sedang aktif; yang aktif sekarang langkah %(active)s.")
            % {"number": number, "active": active.step.number},
            code="not_active",
        )
    return Stale(
        _("Langkah %(number)s tidak sedang aktif.") % {"number": number}, code="not_active"
    )


@dataclass
class Turn:
    """A step's active round, read under its run's row lock for a transition (or without it,
    for a form checked before the transition: `read_turn`): the run, the round (its step's
    roles loaded), the waiting round that comes next (None after the last step; its roles
    loaded too, for the message that names them) and who acts."""

    run: Run
    current: StepRun
    following: StepRun | None
    actor: policy.Actor
    # The round an approval of the current step approves (`policy.approved_round`).
    approved: StepRun | None = None
    # The rounds closing `current` activates together: `following` and, when it opens a
    # parallel group, the rest of that group; or the waiting rounds of `current`'s own group.
    stage: list[StepRun] = field(default_factory=list)
    # Another step of `current`'s parallel group is still active: closing `current` activates
    # nothing and the run goes on when that one closes.
    holds: bool = False


def check_expected(
    current: StepRun, expected_round: int | None, expected_version: int | None
) -> None:
    """Refuse (`Stale`) when the active round is not the one a form was read for: the step was
    returned and runs again in a new round, or the round changed since."""
    if expected_round is not None and current.round != expected_round:
        raise Stale(
            _(
                "Langkah ini sudah dikembalikan dan dibuka lagi sejak formulir ini dimuat. "
                "Periksa keadaannya sekarang lalu isi lagi."
            ),
            code="round_moved",
        )
    # The sign-offs of a joint step bump its version; another performer's sign-off does not
    # make a form stale (a second sign-off of one person is refused on its own).
    if (
        expected_version is not None
        and current.version != expected_version
        and not current.step.is_joint
    ):
        raise Stale(
            _("Langkah ini baru saja diubah orang lain. Muat ulang halaman dan periksa lagi.")
        )


def _turn(run: Run, number: int, user: policy.User, day: datetime.date | None = None) -> Turn:
    """What a transition of step `number` of `run` needs, in two queries after the run: its
    active and waiting rounds with their steps, and the roles of the active and the next step
    with what the user holds of them (`policy.step_facts`)."""
    _require_running(run)
    # The active and waiting rounds, and the done rounds of the step before (what an approval
    # approves), in one query.
    rounds = list(
        run.step_runs.select_related("step__return_to")
        .filter(
            Q(state__in=(StepRun.State.ACTIVE, StepRun.State.WAITING))
            | Q(state=StepRun.State.DONE, step__number=number - 1)
        )
        .order_by("step__number", "-round")
    )
    active = [r for r in rounds if r.state == StepRun.State.ACTIVE]
    current = next((r for r in active if r.step.number == number), None)
    if current is None:
        raise _not_active_error(run, number, active[0] if active else None)
    stage, holds = stages.next_stage(current, rounds)
    following = stage[0] if stage else None
    steps = [current.step] + [r.step for r in stage]
    facts, roles = policy.step_facts(user, steps, day)
    for step in steps:
        step.give_roles(roles[step.pk])
    actor = policy.step_actor(user, current.step, facts)
    if actor is None and day is not None and day != timezone.localdate():
        raise Forbidden(
            _(
                "Pada %(date)s Anda tidak memegang jabatan pelaksana langkah ini dan tidak "
                "ditunjuk sebagai Plt./Plh.-nya."
            )
            % {"date": formats.date_format(day, "j F Y")}
        )
    if actor is None:
        raise Forbidden(_("Anda tidak memegang jabatan pelaksana langkah ini."))
    return Turn(
        run, current, following, actor, policy.approved_round(current.step, rounds), stage, holds
    )


def read_turn(
    *, run_id: int, number: int, user: policy.User, day: datetime.date | None = None
) -> Turn:
    """Step `number`'s active round as it stands now, read without a lock, with the same
    refusals a transition gives (`NotFound`, `Closed`, `Stale`, `Forbidden`).

    A view builds and checks its form and files against it before the transition, so that slow
    work (photos re-encoded, PDFs parsed) never holds the run's lock; the transition reads the
    round again under the lock and refuses if it moved on (`check_expected`).
    """
    return _turn(_read_run(run_id, lock=False), number, user, day)


def _locked_turn(
    run_id: int,
    number: int,
    user: policy.User,
    expected_round: int | None,
    expected_version: int | None,
    day: datetime.date | None = None,
) -> Turn:
    """Lock the run and read step `number`'s turn under the lock (three queries); refused if
    its round or version is not the expected one. `day`: the day of the act, whose Plt./Plh.
    appointments count."""
    turn = _turn(_lock_run(run_id), number, user, day)
    check_expected(turn.current, expected_round, expected_version)
    return turn


def act_day(completed_at: datetime.datetime | None, now: datetime.datetime) -> datetime.date:
    """The day (WIB) a step was done: the Plt./Plh. appointments of that day count."""
    return timezone.localdate(min(_aware(completed_at) or now, now))


def _aware(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _check_times(
    current: StepRun,
    started_at: datetime.datetime | None,
    completed_at: datetime.datetime | None,
    now: datetime.datetime,
) -> tuple[datetime.datetime, datetime.datetime]:
    """The entered times, defaulted and validated; both default to the moment of entry."""
    started_at = _aware(started_at) or current.activated_at or now
    completed_at = _aware(completed_at) or now
    if started_at > now:
        raise Invalid(
            _("Waktu mulai tidak boleh di masa depan."), field="started_at", code="future"
        )
    if completed_at > now:
        raise Invalid(
            _("Waktu selesai tidak boleh di masa depan."), field="completed_at", code="future"
        )
    if current.activated_at and started_at < current.activated_at:
        raise Invalid(
            _("Waktu mulai tidak boleh sebelum langkah sebelumnya selesai (%(when)s).")
            % {"when": _when(current.activated_at)},
            field="started_at",
            code="before_previous",
        )
    if completed_at < started_at:
        raise Invalid(
            _("Waktu selesai harus sesudah waktu mulai."),
            field="completed_at",
            code="order",
        )
    return started_at, completed_at


def _finish_step(
    run: Run,
    current: StepRun,
    actor: policy.Actor,
    now: datetime.datetime,
    fields: Payload,
    event_kind: Event.Kind,
    event_after: Payload,
    client_id: uuid.UUID | None = None,
) -> None:
    """Conditionally close `current`; exactly one of two racing callers gets past this.

    The round's office minutes are computed here, once, and stored with it, and so is the
    `client_id` of the form that closed it (a unique constraint per run keeps it once).
    """
    figures = timing.round_figures(
        run.unit.calendar, current.activated_at, fields["started_at"], fields["completed_at"]
    )
    updated = StepRun.objects.filter(
        pk=current.pk, state=StepRun.State.ACTIVE, version=current.version
    ).update(
        **fields,
        **figures,
        completed_by=actor.user,
        completed_as=actor.role,
        on_behalf=actor.on_behalf,
        acting=actor.acting,
        entered_at=now,
        client_id=client_id,
        next_alert_at=None,
        version=F("version") + 1,
    )
    if updated != 1:
        raise Stale(
            _("Langkah ini baru saja diselesaikan orang lain. Muat ulang halaman."),
            code="already_done",
        )
    # The round as the UPDATE left it, without reading it again.
    for name, value in (fields | figures).items():
        setattr(current, name, value)
    current.completed_by, current.completed_as = actor.user, actor.role
    current.on_behalf, current.acting, current.entered_at = actor.on_behalf, actor.acting, now
    current.client_id = client_id
    current.next_alert_at = None
    current.version += 1
    if client_id is not None:
        event_after = {**event_after, "client_id": str(client_id)}
    before, after = closed_payload(current, actor, now, event_after, figures)
    _log(run, event_kind, actor, now, step_run=current, before=before, after=after)


def _sign_off(
    turn: Turn,
    fields: Payload,
    attachments: Sequence[uploads.ValidUpload],
    now: datetime.datetime,
    *,
    deadline: datetime.date | None = None,
    data: Sequence[Mapping[str, Any]] = (),
) -> StepRun:
    """One required performer's part of a joint step (`Step.completion` "all" or "quorum"),
    under the run's lock: his sign-off, its event and files; when the step's rule is met the
    round closes in the same transition (from its activation to the last sign-off) and the run
    moves on. A person signs a round once."""
    run, current, actor = turn.run, turn.current, turn.actor
    step = current.step
    sign_offs = list(current.sign_offs.select_related("user", "role"))
    # A superuser without the step's roles may enter each role's part on its behalf (a.n.)
    # of an "all" step; everybody else signs a round once.
    for_each_role = actor.on_behalf and step.completion == Step.Completion.ALL
    mine = next((s for s in sign_offs if s.user_id == actor.user.pk), None)
    if mine is not None and not for_each_role:
        raise Stale(
            _("Anda sudah menyelesaikan bagian Anda pada langkah %(number)s (%(when)s).")
            % {"number": step.number, "when": _when(mine.entered_at)},
            code="already_signed",
        )
    signed = [s.role_id for s in sign_offs]
    signer = policy.sign_off_actor(actor.user, step, signed, policy.fresh_subject(actor.user))
    if signer is None:
        raise Stale(
            _("Bagian jabatan Anda pada langkah %(number)s sudah diselesaikan orang lain.")
            % {"number": step.number},
            code="already_signed",
        )
    figures = timing.round_figures(
        run.unit.calendar, None, fields["started_at"], fields["completed_at"]
    )
    sign_off = StepSignOff.objects.create(
        step_run=current,
        user=signer.user,
        role=signer.role,
        on_behalf=signer.on_behalf,
        acting=signer.acting,
        started_at=fields["started_at"],
        completed_at=fields["completed_at"],
        entered_at=now,
        requirements_checked=fields.get("requirements_checked", ""),
        output=fields.get("output", ""),
        notes=fields.get("notes", "") or fields.get("decision_notes", ""),
        instruction=fields.get("instruction", ""),
        handling_office_minutes=figures["handling_office_minutes"],
    )
    # The compare-and-set that serialises sign-offs where row locks do not (SQLite).
    updated = StepRun.objects.filter(
        pk=current.pk, state=StepRun.State.ACTIVE, version=current.version
    ).update(version=F("version") + 1)
    if updated != 1:
        raise Stale(
            _("Langkah ini baru saja diubah orang lain. Muat ulang halaman."), code="conflict"
        )
    current.version += 1
    before, after = stages.signed_off_payload(current, signer, now, fields, figures, len(sign_offs))
    after |= _data_after(current, data)
    if data and not current.values.exists():
        # The round's step data are the first that a sign-off gives; each sign-off's own
        # entry stays in its event.
        StepValue.record(current, data)
    sign_offs.append(sign_off)
    signed.append(signer.role.pk if signer.role else None)
    _log(run, Event.Kind.SIGNED_OFF, signer, now, step_run=current, before=before, after=after)
    uploads.store(run, current, attachments, signer, now)
    current.awaiting = policy.awaited_roles(step, signed)
    current.sign_offs_needed = policy.sign_offs_needed(step, signed)
    if current.sign_offs_needed:
        current.following = None
        return current
    closing = stages.joint_closing_fields(fields, sign_offs)
    kind = Event.Kind.APPROVED if step.is_approval else Event.Kind.COMPLETED
    event_after = serialise(closing) | {"sign_offs": len(sign_offs)}
    _finish_step(run, current, signer, now, closing, kind, event_after)
    _advance(turn, closing["completed_at"], now, deadline=deadline)
    current.following = turn.following
    return current


def _advance(
    turn: Turn,
    at: datetime.datetime,
    now: datetime.datetime,
    *,
    deadline: datetime.date | None = None,
) -> StepRun | None:
    """Activate the next step (or the steps of a parallel group) at `at`, or finish the run
    after its last step; nothing while another step of the current group is still active."""
    run, actor, following = turn.run, turn.actor, turn.following
    if turn.holds:
        return None
    if following is None:
        # closed_at is computed by the database from finished_at; kept in step here.
        run.status, run.finished_at, run.closed_at = Run.Status.FINISHED, at, at
        figures = _run_figures(run)
        updated = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.FINISHED, finished_at=at, **figures
        )
        if updated != 1:
            raise Stale(
                _("Kegiatan ini baru saja diubah orang lain. Muat ulang halaman."),
                code="conflict",
            )
        before, after = finished_payload(at, figures)
        _log(run, Event.Kind.FINISHED, actor, now, before=before, after=after)
        _archive_when_committed(run, actor, now)
        return None
    for step_run in turn.stage or [following]:
        _activate(run, step_run, at, actor, now, deadline=deadline)
    return following


def _run_figures(run: Run) -> dict[str, float | int | None]:
    """The figures `run` keeps from now on; its rounds' own figures are already stored."""
    step_runs = list(run.step_runs.select_related("step"))
    return timing.run_figures(timing.run_timing(run, step_runs, run.unit.calendar))


# JSON values of a change's fields (dates as ISO text), for its event.
serialise = stages.serialise


def _data_after(current: StepRun, data: Sequence[Mapping[str, Any]]) -> Payload:
    """The step data of a closed round as its event carries it ({} when none); a value for a
    field its step does not declare is refused (the form offers only the declared ones)."""
    if not data:
        return {}
    declared = {field["key"] for field in current.step.data_fields or ()}
    if any(entry.get("key") not in declared for entry in data):
        raise Invalid(_("Isian data tidak dikenal untuk langkah ini."), code="unknown_data")
    return {"data": [dict(entry) for entry in data]}


def _guarded(transition: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a transition in one transaction; a constraint violation (a lost race that slipped
    past the checks) becomes a clear message instead of an error page."""

    @functools.wraps(transition)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            with uploads.removed_on_failure(), transaction.atomic():
                return transition(*args, **kwargs)
        except IntegrityError:
            raise Stale(
                _("Langkah ini baru saja diubah orang lain. Muat ulang halaman."),
                code="conflict",
            ) from None

    return wrapper


@_guarded
def complete_step(
    *,
    run_id: int,
    number: int,
    user: policy.User,
    expected_round: int | None = None,
    expected_version: int | None = None,
    started_at: datetime.datetime | None = None,
    completed_at: datetime.datetime | None = None,
    output: str = "",
    notes: str = "",
    requirements_checked: Sequence[str] = (),
    attachments: Sequence[uploads.ValidUpload] = (),
    data: Sequence[Mapping[str, Any]] = (),
    now: datetime.datetime | None = None,
    client_id: uuid.UUID | None = None,
) -> StepRun:
    """Record process step `number` as done (with its attachments, already validated) and
    activate the next one.

    Refused (`Stale`) when the active round is not `expected_round` or its version not
    `expected_version`, the ones a form was read for. Returns the closed round; its
    `following` is the round it activated (None when the run finished). `client_id`, the id a
    browser gave the form, is kept on the round: `replayed` finds it when the form comes
    again."""
    now = now or timezone.now()
    turn = _locked_turn(
        run_id, number, user, expected_round, expected_version, act_day(completed_at, now)
    )
    run, current, actor = turn.run, turn.current, turn.actor
    if current.step.is_approval:
        raise Invalid(
            _("Langkah ini adalah persetujuan: setujui atau kembalikan."), code="approval"
        )
    started_at, completed_at = _check_times(current, started_at, completed_at, now)
    fields = completed_fields(
        started_at=started_at,
        completed_at=completed_at,
        output=output,
        notes=notes,
        requirements_checked=requirements_checked,
    )
    after = serialise(fields) | _data_after(current, data)
    with events.batch(run):
        if current.step.is_joint:
            return _sign_off(turn, fields, attachments, now, data=data)
        _finish_step(run, current, actor, now, fields, Event.Kind.COMPLETED, after, client_id)
        StepValue.record(current, data)
        uploads.store(run, current, attachments, actor, now)
        _advance(turn, completed_at, now)
    current.following = turn.following
    return current


@_guarded
def approve_step(
    *,
    run_id: int,
    number: int,
    user: policy.User,
    instruction: str,
    expected_round: int | None = None,
    expected_version: int | None = None,
    deadline: datetime.date | None = None,
    decision_notes: str = "",
    started_at: datetime.datetime | None = None,
    completed_at: datetime.datetime | None = None,
    requirements_checked: Sequence[str] = (),
    output: str = "",
    attachments: Sequence[uploads.ValidUpload] = (),
    data: Sequence[Mapping[str, Any]] = (),
    now: datetime.datetime | None = None,
    client_id: uuid.UUID | None = None,
) -> StepRun:
    """Approve approval step `number` with a disposisi and activate the next one. Refused and
    returned as `complete_step`, and its `client_id` kept the same way."""
    now = now or timezone.now()
    turn = _locked_turn(
        run_id, number, user, expected_round, expected_version, act_day(completed_at, now)
    )
    run, current, actor = turn.run, turn.current, turn.actor
    if not current.step.is_approval:
        raise Invalid(_("Langkah ini bukan langkah persetujuan."), code="not_approval")
    refusal = policy.own_work_refusal(actor, turn.approved)
    if refusal is not None:
        raise Forbidden(refusal, code="own_work")
    instruction = (instruction or "").strip()
    if not instruction:
        raise Invalid(_("Isi disposisi wajib diisi."), field="instruction", code="required")
    started_at, completed_at = _check_times(current, started_at, completed_at, now)
    if deadline is not None and deadline < timezone.localdate(completed_at):
        raise Invalid(
            _("Batas waktu disposisi tidak boleh sebelum tanggal persetujuan (%(date)s).")
            % {"date": formats.date_format(timezone.localdate(completed_at), "j F Y")},
            field="deadline",
            code="deadline",
        )
    fields = approved_fields(
        started_at=started_at,
        completed_at=completed_at,
        instruction=instruction,
        deadline=deadline,
        decision_notes=decision_notes,
        output=output or current.step.output,
        requirements_checked=requirements_checked,
    )
    after = serialise(fields) | _data_after(current, data)
    with events.batch(run):
        if current.step.is_joint:
            return _sign_off(turn, fields, attachments, now, deadline=deadline, data=data)
        _finish_step(run, current, actor, now, fields, Event.Kind.APPROVED, after, client_id)
        StepValue.record(current, data)
        uploads.store(run, current, attachments, actor, now)
        # The disposisi's batas waktu is the due time of the step it orders.
        _advance(turn, completed_at, now, deadline=deadline)
    current.following = turn.following
    return current


def replayed(*, run_id: int, user: policy.User, client_id: uuid.UUID | None) -> StepRun | None:
    """The round of run `run_id` that `user` closed with the form of `client_id`, or None.

    A browser that lost the answer to a completion sends the same form again with the same
    client id; the view answers it with this round, as the first send was answered, and the
    step is never closed twice. Its `following` is the round that completion activated (the
    next step's round activated at the moment entered as completed), None when it finished
    the run."""
    if client_id is None:
        return None
    closed = (
        StepRun.objects.select_related("step", "run__sop")
        .filter(run_id=run_id, client_id=client_id, completed_by=user.pk)
        .first()
    )
    if closed is None:
        return None
    closed.following = (
        StepRun.objects.select_related("step")
        .filter(
            run_id=run_id,
            activated_at=closed.completed_at,
            step__number__gt=closed.step.number,
        )
        .order_by("step__number", "round")
        .first()
    )
    return closed


@_guarded
def return_step(
    *,
    run_id: int,
    number: int,
    user: policy.User,
    reason: str,
    expected_round: int | None = None,
    expected_version: int | None = None,
    started_at: datetime.datetime | None = None,
    completed_at: datetime.datetime | None = None,
    now: datetime.datetime | None = None,
) -> StepRun:
    """Return approval step `number` to its return target; that step and the ones after it
    rerun. Refused as `complete_step`.

    The returning round is kept as `returned`; the target and every step up to and including
    this one get a new round, and the target's new round becomes active. Returns the returned
    round; its `following` is the target's new round.
    """
    now = now or timezone.now()
    turn = _locked_turn(
        run_id, number, user, expected_round, expected_version, act_day(completed_at, now)
    )
    run, current, actor = turn.run, turn.current, turn.actor
    step = current.step
    target = step.return_to
    if not step.is_approval or target is None:
        raise Invalid(_("Langkah ini tidak dapat dikembalikan."), code="not_returnable")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Alasan pengembalian wajib diisi."), field="reason", code="required")
    started_at, completed_at = _check_times(current, started_at, completed_at, now)
    fields = returned_fields(started_at=started_at, completed_at=completed_at, reason=reason)
    after = serialise(fields) | {"return_to": target.number}
    with events.batch(run):
        _finish_step(run, current, actor, now, fields, Event.Kind.RETURNED, after)

        rerun = list(
            run.sop.steps.filter(number__gte=target.number, number__lte=step.number).order_by(
                "number"
            )
        )
        group = step.parallel_group
        if group is not None and target.parallel_group == group:
            # A return inside a parallel group reruns only what it names: the target and the
            # returning step; the group's other steps keep their rounds.
            rerun = [s for s in rerun if s.pk in (target.pk, step.pk)]
        _return_siblings(run, current, rerun, actor, completed_at, now)
        latest_rounds: dict[int, int] = {}
        latest_versions: dict[int, int] = {}
        for step_id, round_, version in run.step_runs.values_list("step_id", "round", "version"):
            latest_rounds[step_id] = max(round_, latest_rounds.get(step_id, 0))
            latest_versions[step_id] = max(version, latest_versions.get(step_id, 0))
        # A new round continues the step's version count, so a form still showing an earlier
        # round (same step number, new row) is stale rather than silently acting on the rework.
        # Steps after this one keep their waiting round: a return only goes back from the active
        # step, so nothing after it has run in the current pass.
        created = StepRun.objects.bulk_create(
            [
                StepRun(
                    run=run,
                    step=s,
                    round=latest_rounds[s.pk] + 1,
                    version=latest_versions[s.pk] + 1,
                )
                for s in rerun
            ]
        )
        # As in `open_run`: a database that returns no ids leaves them None.
        if any(new.pk is None for new in created):
            created = list(
                run.step_runs.select_related("step").filter(
                    step__in=rerun, round__in={new.round for new in created}, state="waiting"
                )
            )
        by_step = {new.step_id: new for new in created}
        first = by_step[target.pk]
        first.step = target
        # The target opens again; when it opens a parallel group the return left from outside,
        # the group's steps open with it.
        together = [first]
        if target.parallel_group is not None and step.parallel_group != target.parallel_group:
            together += [
                by_step[s.pk]
                for s in rerun
                if s.pk != target.pk and s.parallel_group == target.parallel_group
            ]
        for new in together:
            new.step = next(s for s in rerun if s.pk == new.step_id)
            _activate(run, new, completed_at, actor, now, returned=True)
    current.following = first
    return current


def _return_siblings(
    run: Run,
    current: StepRun,
    rerun: Sequence[Step],
    actor: policy.Actor,
    completed_at: datetime.datetime,
    now: datetime.datetime,
) -> None:
    """Close as returned the other active rounds of the steps a return reruns (steps of a
    parallel group still open beside the returning one): each gets a new round instead."""
    others = list(
        run.step_runs.select_related("step")
        .filter(state=StepRun.State.ACTIVE, step__in=rerun)
        .exclude(pk=current.pk)
    )
    for other in others:
        figures = timing.round_figures(run.unit.calendar, other.activated_at, None, completed_at)
        updated = StepRun.objects.filter(
            pk=other.pk, state=StepRun.State.ACTIVE, version=other.version
        ).update(
            state=StepRun.State.RETURNED,
            completed_at=completed_at,
            completed_by=actor.user,
            completed_as=actor.role,
            entered_at=now,
            return_reason=current.return_reason,
            version=F("version") + 1,
            **figures,
        )
        if updated != 1:
            raise Stale(
                _("Langkah ini baru saja diubah orang lain. Muat ulang halaman."), code="conflict"
            )
        before = {"state": StepRun.State.ACTIVE, "step": other.step.number, "round": other.round}
        after = {
            "state": StepRun.State.RETURNED,
            "with": current.step.number,
            "completed_at": _iso(completed_at),
        } | figures
        _log(run, Event.Kind.RETURNED, actor, now, step_run=other, before=before, after=after)


@_guarded
def cancel_run(
    *, run_id: int, user: policy.User, reason: str, now: datetime.datetime | None = None
) -> Run:
    """Cancel a running run with a reason; it becomes read-only, nothing is deleted."""
    now = now or timezone.now()
    run = _lock_run(run_id)
    _require_running(run)
    actor = policy.canceller(user, run, policy.fresh_subject(user))
    if actor is None:
        raise Forbidden(_("Jabatan Anda tidak berwenang membatalkan kegiatan ini."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Alasan pembatalan wajib diisi."), field="reason", code="required")
    active = list(run.step_runs.select_related("step").filter(state=StepRun.State.ACTIVE))
    # The active round stays active (the run is frozen as it stood) but its waiting time ends
    # now and is stored, like the run's figures.
    for step_run in active:
        figures = timing.round_figures(run.unit.calendar, step_run.activated_at, None, now)
        # Nothing more is sent for a cancelled run's round.
        StepRun.objects.filter(pk=step_run.pk).update(**figures, next_alert_at=None)
    run.status, run.cancelled_at, run.closed_at = Run.Status.CANCELLED, now, now
    figures = _run_figures(run)
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        status=Run.Status.CANCELLED, cancelled_at=now, cancel_reason=reason, **figures
    )
    if updated != 1:
        raise Stale(
            _("Kegiatan ini baru saja diubah orang lain. Muat ulang halaman."), code="conflict"
        )
    before, after = cancelled_payload(active, reason, figures)
    _log(run, Event.Kind.CANCELLED, actor, now, before=before, after=after)
    run.refresh_from_db()
    return run
