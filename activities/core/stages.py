"""What joint steps and parallel groups add to a transition, as plain functions of the rows
it read: the rounds a closing round hands over to, and the fields and event of a sign-off.
`activities.core.workflow` calls them under the run's lock; `bench.seeding` writes the same."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from activities.core import policy
from activities.models import StepRun, StepSignOff

Payload = dict[str, Any]


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def serialise(fields: Mapping[str, Any]) -> Payload:
    return {
        key: (_iso(value) if hasattr(value, "isoformat") else value)
        for key, value in fields.items()
    }


def _in_group(step_run: StepRun, group: int | None) -> bool:
    return group is not None and step_run.step.parallel_group == group


def next_stage(current: StepRun, rounds: Sequence[StepRun]) -> tuple[list[StepRun], bool]:
    """(the rounds closing `current` activates, whether another step of its parallel group is
    still active) from the run's active and waiting rounds.

    A step on its own hands over to the next waiting step; if that one opens a parallel group,
    the whole group becomes active. A step of a group hands over only when no other step of
    the group is active; a step of the group waiting again after a return inside the group
    comes first, then the step after the group."""
    group = current.step.parallel_group
    members = [r for r in rounds if r is not current and _in_group(r, group)]
    if any(r.state == StepRun.State.ACTIVE for r in members):
        return [], True
    waiting_members = [r for r in members if r.state == StepRun.State.WAITING]
    if waiting_members:
        return waiting_members, False
    after = [
        r
        for r in rounds
        if r.state == StepRun.State.WAITING
        and r.step.number > current.step.number
        and not _in_group(r, group)
    ]
    if not after:
        return [], False
    first = after[0]
    return [first] + [r for r in after[1:] if _in_group(r, first.step.parallel_group)], False


def _signed_text(sign_offs: Sequence[StepSignOff], name: str) -> str:
    """One field of every sign-off of a round, as the closed round keeps it: "Tim: …"."""
    lines = []
    for sign_off in sign_offs:
        value = getattr(sign_off, name).strip()
        if value:
            who = sign_off.role.name if sign_off.role else sign_off.user.get_username()
            lines.append(f"{who}: {value}")
    return "\n".join(lines)


def signed_off_payload(
    step_run: StepRun,
    signer: policy.Actor,
    now: datetime.datetime,
    fields: Payload,
    figures: dict[str, float | None],
    earlier: int,
) -> tuple[Payload, Payload]:
    """Before/after of a sign-off's event: the round, how many sign-offs it had, and what this
    performer entered, as whom."""
    before = {"step": step_run.step.number, "round": step_run.round, "sign_offs": earlier}
    after = serialise(fields) | {
        "state": StepRun.State.ACTIVE,
        "handling_office_minutes": figures["handling_office_minutes"],
        "entered_at": _iso(now),
    }
    if signer.role is not None:
        after["role"] = signer.role.name
    if signer.acting:
        assert signer.appointment is not None
        after["acting"], after["appointment"] = signer.acting, signer.appointment.pk
    return before, after


def joint_closing_fields(fields: Payload, sign_offs: Sequence[StepSignOff]) -> Payload:
    """The fields of a joint step's round closed by its last sign-off (`fields`, this
    performer's): from the first start to the last completion, every part's texts."""
    closing = dict(fields)
    closing["started_at"] = min(s.started_at for s in sign_offs)
    closing["completed_at"] = max(s.completed_at for s in sign_offs)
    for name in ("output", "notes", "instruction", "decision_notes", "requirements_checked"):
        if name in closing:
            source = "notes" if name == "decision_notes" else name
            closing[name] = _signed_text(sign_offs, source)
    return closing
