"""The one writer of `Event` rows: every transition, upload, archiving, SOP status change and
acting appointment records itself through `record`.

Rows are created through the model's manager (`Event.objects.create`, or `append` for a
batch), so whatever the model adds when a row is written (its link of the run's hash chain)
applies to every event.

A transition records inside `batch(run)`: its events (a completion and the next step's
activation, say) are written together when it ends, in one INSERT that continues the chain
from the head of the run row the transition holds locked.
"""

import contextlib
import contextvars

from django.utils import timezone

from activities.models import Event

# (run, pending events) of the batch being recorded in this context, or None.
_batch = contextvars.ContextVar("sopflow_event_batch", default=None)


@contextlib.contextmanager
def batch(run):
    """Hold back the events of `run` recorded inside and write them in one INSERT at the end.

    The caller holds `run`'s row locked and read it under that lock (its `event_count` and
    `event_head` are the chain's end); nothing is written if the block raises.
    """
    pending = []
    token = _batch.set((run, pending))
    try:
        yield
    finally:
        _batch.reset(token)
    Event.objects.append(pending, run)


def record(
    kind,
    *,
    actor=None,
    at=None,
    run=None,
    step_run=None,
    sop=None,
    appointment=None,
    before=None,
    after=None,
):
    """Write one event; `actor` is a `policy.Actor` (or a user, or None for the system).

    An `Actor` also records the role acted as, whether a superuser acted on behalf, and
    whether the user acted as Plt./Plh. of that role.
    """
    fields = _fields(kind, actor, at, run, step_run, sop, appointment, before, after)
    held = _batch.get()
    if held is not None and run is not None and run.pk == held[0].pk:
        event = Event(**fields)
        held[1].append(event)
        return event
    return Event.objects.create(**fields)


def record_many(entries):
    """Write many events, of many runs, in one INSERT (the deadline sweep's batches): each
    entry holds the keywords of `record`. Each run's chain continues from its head, read under
    its row lock (`Event.objects.bulk_create`)."""
    return Event.objects.bulk_create(
        [
            Event(
                **_fields(
                    entry["kind"],
                    entry.get("actor"),
                    entry.get("at"),
                    entry.get("run"),
                    entry.get("step_run"),
                    entry.get("sop"),
                    entry.get("appointment"),
                    entry.get("before"),
                    entry.get("after"),
                )
            )
            for entry in entries
        ]
    )


def _fields(kind, actor, at, run, step_run, sop, appointment, before, after):
    user, role, on_behalf, acting = None, None, False, ""
    if actor is not None and hasattr(actor, "user"):
        user, role, on_behalf, acting = actor.user, actor.role, actor.on_behalf, actor.acting
    elif actor is not None:
        user = actor
    fields = dict(
        kind=kind,
        run=run,
        step_run=step_run,
        sop=sop,
        appointment=appointment,
        actor=user,
        role=role,
        on_behalf=on_behalf,
        acting=acting or "",
        at=at or timezone.now(),
        before=before or {},
        after=after or {},
    )
    return fields
