"""What each change of a run writes: the fields of a closed round and the before/after of its
events. The transitions in `activities.core.workflow` use them, and so does `bench.seeding`
(benchmark data), which writes the same rows in bulk."""

import datetime
from collections.abc import Iterable
from typing import Any

from activities.core import policy
from activities.models import Run, Sop, StepRun

Payload = dict[str, Any]


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def opened_payload(
    sop: Sop, *, title: str, scheduled_on: datetime.date, place: str, notes: str
) -> Payload:
    return {
        "sop": sop.pk,
        "sop_version": sop.version,
        "title": title,
        "scheduled_on": scheduled_on.isoformat(),
        "place": place,
        "notes": notes,
    }


def activated_payload(
    step_run: StepRun, activated_at: datetime.datetime, due_at: datetime.datetime
) -> tuple[Payload, Payload]:
    before = {"state": StepRun.State.WAITING}
    after = {
        "state": StepRun.State.ACTIVE,
        "step": step_run.step.number,
        "round": step_run.round,
        "activated_at": _iso(activated_at),
        "due_at": _iso(due_at),
    }
    return before, after


def completed_fields(
    *,
    started_at: datetime.datetime,
    completed_at: datetime.datetime,
    output: str,
    notes: str,
    requirements_checked: Iterable[str],
) -> Payload:
    return {
        "state": StepRun.State.DONE,
        "started_at": started_at,
        "completed_at": completed_at,
        "output": output,
        "notes": notes,
        "requirements_checked": "\n".join(requirements_checked),
    }


def approved_fields(
    *,
    started_at: datetime.datetime,
    completed_at: datetime.datetime,
    instruction: str,
    deadline: datetime.date | None,
    decision_notes: str,
    output: str,
    requirements_checked: Iterable[str],
) -> Payload:
    return {
        "state": StepRun.State.DONE,
        "decision": StepRun.Decision.APPROVED,
        "instruction": instruction,
        "deadline": deadline,
        "decision_notes": decision_notes,
        "started_at": started_at,
        "completed_at": completed_at,
        "output": output,
        "requirements_checked": "\n".join(requirements_checked),
    }


def returned_fields(
    *, started_at: datetime.datetime, completed_at: datetime.datetime, reason: str
) -> Payload:
    return {
        "state": StepRun.State.RETURNED,
        "decision": StepRun.Decision.RETURNED,
        "return_reason": reason,
        "started_at": started_at,
        "completed_at": completed_at,
    }


def closed_payload(
    step_run: StepRun,
    actor: policy.Actor,
    now: datetime.datetime,
    event_after: Payload,
    figures: dict[str, float | None],
) -> tuple[Payload, Payload]:
    """Before/after of the event of a closed round: what changed, its figures, who acted as what."""
    before = {"state": StepRun.State.ACTIVE, "step": step_run.step.number, "round": step_run.round}
    after = event_after | figures | {"entered_at": _iso(now)}
    if actor.role is not None:
        after["role"] = actor.role.name
    if actor.acting:
        # Whoever acts as Plt./Plh. acts under an appointment (`policy.step_actor`).
        assert actor.appointment is not None
        after["acting"] = actor.acting
        after["appointment"] = actor.appointment.pk
    return before, after


def finished_payload(
    finished_at: datetime.datetime, figures: dict[str, float | int | None]
) -> tuple[Payload, Payload]:
    before = {"status": Run.Status.RUNNING}
    after = {"status": Run.Status.FINISHED, "finished_at": _iso(finished_at)} | figures
    return before, after


def cancelled_payload(
    active: Iterable[StepRun], reason: str, figures: dict[str, float | int | None]
) -> tuple[Payload, Payload]:
    before = {"status": Run.Status.RUNNING, "active": [[sr.step.number, sr.round] for sr in active]}
    after = {"status": Run.Status.CANCELLED, "reason": reason} | figures
    return before, after
