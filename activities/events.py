"""The one writer of `Event` rows: every transition, upload, archiving, SOP status change and
acting appointment records itself through `record`.

Rows are created one at a time through the model (`Event.objects.create`), so whatever the
model adds when a row is created applies to every event.
"""

from django.utils import timezone

from activities.models import Event


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
    user, role, on_behalf, acting = None, None, False, ""
    if actor is not None and hasattr(actor, "user"):
        user, role, on_behalf, acting = actor.user, actor.role, actor.on_behalf, actor.acting
    elif actor is not None:
        user = actor
    return Event.objects.create(
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
