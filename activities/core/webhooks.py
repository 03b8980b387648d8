"""Which events go to which webhook subscriptions: the catalogue of event types and the
dispatcher that reads the event log and writes one delivery per event and subscription.

The event log is the outbox. Every change already writes its `Event` through
`activities.core.events` in its own transaction, so the dispatcher adds nothing to a
transition: it reads the events committed since its cursor, maps each kind to a catalogue type
(`EVENT_TYPES`, the one table of that mapping), and writes a `WebhookDelivery` for each active
subscription that wants the type for the event's unit (and whose owner still may subscribe to
that unit: `policy.webhook_unit_ids`). The worker sends them
(`activities.notifications.webhooks.send_webhook`, queue "outside").

An event id is handed out when its row is inserted, but it becomes visible when its transaction
commits, so a later id can be seen before an earlier one. The cursor therefore only moves past
events older than `SETTLED` (no transaction runs that long): younger ones are read again on the
next round, and the unique (subscription, event) pair makes that harmless.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from activities.background.tasks import enqueue_on_commit
from activities.core import policy
from activities.models import (
    Event,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from activities.notifications import webhooks as sending
from activities.time.deadlines import Stage

logger = logging.getLogger(__name__)

# The catalogue: every type a subscription can ask for, with what it means.
CATALOGUE: dict[str, str] = {
    "run.opened": _("Kegiatan dibuka"),
    "step.activated": _("Langkah menjadi aktif (juga setelah dikembalikan)"),
    "step.completed": _("Langkah diselesaikan atau disetujui"),
    "step.returned": _("Langkah dikembalikan ke langkah sebelumnya"),
    "step.overdue": _("Langkah melewati batas waktunya"),
    "step.escalated": _("Langkah terlambat dieskalasi ke atasan"),
    "run.finished": _("Kegiatan selesai"),
    "run.cancelled": _("Kegiatan dibatalkan"),
    "laporan.archived": _("Laporan akhir diarsipkan"),
    "sop.approved": _("Versi SOP disahkan dan berlaku"),
    "appointment.started": _("Plt./Plh. ditunjuk"),
    "appointment.ended": _("Penunjukan Plt./Plh. diakhiri lebih awal"),
}

# Event kind → catalogue type. A reminder is `step.overdue` only at its due-time stage
# (`Stage.DUE`); the one at 80 % of the standard is not announced. Kinds the catalogue has no
# type for are not announced: an attachment, a retired or revised SOP version, one performer's
# part of a joint step (`step.completed` comes when the step itself closes), and the records
# around the laporan and the office (TTE signing, SRIKANDI handover, klasifikasi, people import).
EVENT_TYPES: dict[str, str] = {
    Event.Kind.OPENED: "run.opened",
    Event.Kind.ACTIVATED: "step.activated",
    Event.Kind.COMPLETED: "step.completed",
    Event.Kind.APPROVED: "step.completed",
    Event.Kind.RETURNED: "step.returned",
    Event.Kind.REMINDED: "step.overdue",
    Event.Kind.ESCALATED: "step.escalated",
    Event.Kind.FINISHED: "run.finished",
    Event.Kind.CANCELLED: "run.cancelled",
    Event.Kind.ARCHIVED: "laporan.archived",
    Event.Kind.SOP_ACTIVATED: "sop.approved",
    Event.Kind.APPOINTED: "appointment.started",
    Event.Kind.APPOINTMENT_ENDED: "appointment.ended",
}

# Events read in one round; the rest wait for the next.
BATCH = 500
SETTLED = datetime.timedelta(minutes=5)
CURSOR = "events"


def catalogue_type(event: Event) -> str | None:
    kind = EVENT_TYPES.get(event.kind)
    if event.kind == Event.Kind.REMINDED and (event.after or {}).get("stage") != Stage.DUE:
        return None
    return kind


def event_unit_id(event: Event) -> int | None:
    if event.run_id is not None:
        return event.run.unit_id
    if event.sop_id is not None:
        return event.sop.unit_id
    if event.appointment_id is not None:
        return event.appointment.unit_id
    return None


def _iso(value):
    return value.isoformat() if value is not None else None


def payload(event: Event, event_type: str) -> dict:
    """The body of a delivery, in the Standard Webhooks shape: `type`, `timestamp`, `data`."""
    data: dict = {
        "event_id": event.pk,
        "kind": event.kind,
        "at": _iso(event.at),
        "actor": event.actor.get_username() if event.actor_id else None,
        "performed_as": event.role.name if event.role_id else None,
        "acting": event.acting or None,
        "on_behalf": event.on_behalf,
        "before": event.before or {},
        "after": event.after or {},
    }
    if event.run_id is not None:
        run = event.run
        data["run"] = {
            "id": run.pk,
            "title": run.title,
            "status": run.status,
            "scheduled_on": _iso(run.scheduled_on),
            "unit": {"id": run.unit_id, "name": run.unit.name},
            "sop": {"id": run.sop_id, "number": run.sop.number, "name": run.sop.name},
        }
    if event.step_run_id is not None:
        step_run = event.step_run
        data["step"] = {
            "id": step_run.pk,
            "number": step_run.step.number,
            "round": step_run.round,
            "activity": step_run.step.activity,
            "due_at": _iso(step_run.due_at),
        }
    if event.sop_id is not None:
        sop = event.sop
        data["sop"] = {
            "id": sop.pk,
            "number": sop.number,
            "name": sop.name,
            "version": sop.version,
            "unit": {"id": sop.unit_id, "name": sop.unit.name},
        }
    if event.appointment_id is not None:
        appointment = event.appointment
        data["appointment"] = {
            "id": appointment.pk,
            "unit": appointment.unit_id,
            "role": appointment.role.name,
            "person": appointment.person.get_username(),
            "kind": appointment.kind,
            "start_date": _iso(appointment.start_date),
            "end_date": _iso(appointment.end_date),
        }
    return {"type": event_type, "timestamp": _iso(event.at), "data": data}


def _covers(subscription: WebhookSubscription, allowed, unit_id: int | None) -> bool:
    """Whether the subscription gets an event of `unit_id`: one of its units (all when it names
    none) that its owner may still subscribe to (`allowed`: None for all)."""
    if unit_id is None:
        return allowed is None
    chosen = {unit.pk for unit in subscription.units.all()}
    if chosen and unit_id not in chosen:
        return False
    return allowed is None or unit_id in allowed


def dispatch(now: datetime.datetime | None = None) -> int:
    """One round: deliveries for the events since the cursor; returns how many were written.

    The cursor row is locked for the round, so two dispatchers take turns; each new delivery's
    send is queued after the commit."""
    now = now or timezone.now()
    with transaction.atomic():
        WebhookCursor.objects.get_or_create(name=CURSOR)
        cursor = WebhookCursor.objects.select_for_update().get(name=CURSOR)
        events = list(
            Event.objects.filter(pk__gt=cursor.last_event_id)
            .select_related(
                "run__unit",
                "run__sop",
                "step_run__step",
                "sop__unit",
                "appointment__role",
                "appointment__person",
                "actor",
                "role",
            )
            .order_by("pk")[:BATCH]
        )
        subscriptions = list(
            WebhookSubscription.objects.filter(active=True, owner__is_active=True)
            .select_related("owner")
            .prefetch_related("units")
        )
        allowed = {sub.pk: policy.webhook_unit_ids(sub.owner) for sub in subscriptions}
        settled, moving = cursor.last_event_id, True
        wanted = []
        for event in events:
            if moving and event.at <= now - SETTLED:
                settled = event.pk
            else:
                moving = False
            event_type = catalogue_type(event)
            if event_type is None:
                continue
            unit_id = event_unit_id(event)
            body = None
            for sub in subscriptions:
                if event_type not in sub.event_types or event.at < sub.created_at:
                    continue
                if not _covers(sub, allowed[sub.pk], unit_id):
                    continue
                body = body or payload(event, event_type)
                wanted.append(
                    WebhookDelivery(
                        subscription=sub,
                        event=event,
                        event_type=event_type,
                        message_id=f"msg_sopflow_{sub.pk}_{event.pk}",
                        payload=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
        existing = set(
            WebhookDelivery.objects.filter(
                event_id__in=[delivery.event_id for delivery in wanted]
            ).values_list("subscription_id", "event_id")
        )
        created = WebhookDelivery.objects.bulk_create(
            [d for d in wanted if (d.subscription_id, d.event_id) not in existing]
        )
        if settled != cursor.last_event_id:
            cursor.last_event_id = settled
            cursor.save(update_fields=["last_event_id"])
        for delivery in created:
            enqueue_on_commit(sending.send_webhook, delivery.pk)
    sending.requeue_lost(now)
    return len(created)


@task()
def dispatch_webhooks() -> int:
    """The periodic job (`SOPFLOW_WEBHOOK_DISPATCH_SECONDS`): deliveries for new events."""
    return dispatch()


def dispatch_interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SOPFLOW_WEBHOOK_DISPATCH_SECONDS)
