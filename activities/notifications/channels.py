"""The outside channels that deliver notifications (e-mail, webhook), and the `deliver` task.

Each outside channel (`SOPFLOW_NOTIFICATION_CHANNELS`: "email", "webhook") gets a `Delivery`
row, sent by a task queued after the commit; a mail server that hangs or fails never touches the
request or the committed step. The webhook goes to someone else's server, so its task runs on a
queue of its own (`SOPFLOW_OUTSIDE_QUEUE`, with its own worker): a slow or dead receiver holds
only that worker, never archiving, renditions or mail. Mail stays on the default queue: it goes to
the office's own relay, which accepts a message at once and queues it itself.

Delivery is at least once: a worker killed between sending and stamping `sent_at` leaves a
delivery that is sent again. Every outside call carries the delivery's stable id
(`idempotency_key`: the webhook's `Idempotency-Key` header and `delivery` field, the mail's
`Message-ID`), so a receiver de-duplicates on it.

Subjects are one line (a title with a line break cannot go into a mail header) and bodies are
plain text rendered by the "text" template engine, which does not HTML-escape."""

import datetime
import hashlib
import hmac
import json
import logging
import re
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from activities.background.tasks import RETRY_DELAYS, retried
from activities.models import Delivery

if TYPE_CHECKING:
    from django.contrib.auth.models import _User as User

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
SIGNATURE_HEADER = "X-Sopflow-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryBusy(Exception):
    """Another worker holds the delivery's claim and has not sent it yet: try again later."""


def claim_timeout() -> datetime.timedelta:
    """How long a claim on a delivery holds off other workers.

    Half the time after which the scheduler queues a task again whose worker died: the queued
    task then always finds the dead worker's claim expired and sends, instead of finding it
    held. A send is bounded by EMAIL_TIMEOUT or SOPFLOW_WEBHOOK_TIMEOUT, far shorter.
    """
    return datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS) / 2


def idempotency_key(delivery: Delivery) -> str:
    """The delivery's id on the outside, the same on every attempt and unique to this site."""
    host = urllib.parse.urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"sopflow-delivery-{delivery.pk}@{host}"


def one_line(text: object, limit: int = SUBJECT_MAX) -> str:
    """`text` on one line (line breaks and runs of spaces become one space), cut to `limit`."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def render_text(template_name: str, context: dict[str, Any]) -> str:
    """A plain-text template in Bahasa Indonesia, without HTML escaping."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(template_name, context, using="text")


_SLOT = re.compile("\x00([0-9]+)\x00")


class Stencil:
    """A plain-text template rendered once for many texts that differ only in values it prints
    as they are: each name of `slots` is given to the template as a marker, and `fill` puts
    one text's values in the markers' places, so a text costs a substitution instead of a
    rendering. What the template branches on or passes through a filter cannot be a slot: it
    goes in `context`, shared by every text of the stencil (one stencil per such variant).
    A marker is a number between NUL characters; the values put in are not read again, so
    whatever they hold comes out as it is."""

    def __init__(self, template_name: str, context: dict[str, Any], slots: tuple[str, ...]):
        markers = {name: f"\x00{index}\x00" for index, name in enumerate(slots)}
        # Text and slot names in turn: "text", "title", "text", ...
        self.parts = _SLOT.split(render_text(template_name, context | markers))
        for index in range(1, len(self.parts), 2):
            self.parts[index] = slots[int(self.parts[index])]

    def fill(self, values: dict[str, object]) -> str:
        """The text with `values` (by slot name) in place; a slot the template does not print
        needs no value."""
        pieces = self.parts.copy()
        for index in range(1, len(pieces), 2):
            pieces[index] = str(values[pieces[index]])
        return "".join(pieces)


def site_url(path: str) -> str:
    base: str = settings.SITE_URL
    return base.rstrip("/") + path


# Channels -----------------------------------------------------------------------------------


class EmailChannel:
    """Mail through Django's e-mail backend (EMAIL_TIMEOUT bounds a hanging SMTP server)."""

    name = "email"

    def wants(self, user: "User") -> bool:
        return bool(user.email)

    def send(self, delivery: Delivery) -> None:
        notification = delivery.notification
        body = notification.body
        if notification.url:
            body = f"{body.rstrip()}\n\n{site_url(notification.url)}\n"
        EmailMessage(
            one_line(notification.subject),
            body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
            headers={"Message-ID": f"<{idempotency_key(delivery)}>"},
        ).send(fail_silently=False)


class WebhookChannel:
    """POST the notification as JSON to `SOPFLOW_WEBHOOK_URL` (e.g. an office's WhatsApp or
    Telegram gateway), signed with HMAC-SHA256 of the body under `SOPFLOW_WEBHOOK_SECRET` in
    the `X-Sopflow-Signature: sha256=<hex>` header. The delivery's id is in the
    `Idempotency-Key` header and the body's `delivery` field."""

    name = "webhook"

    def wants(self, user: "User") -> bool:
        return bool(settings.SOPFLOW_WEBHOOK_URL)

    def payload(self, delivery: Delivery) -> dict[str, object]:
        notification = delivery.notification
        user = notification.recipient
        return {
            "delivery": idempotency_key(delivery),
            "id": notification.pk,
            "kind": notification.kind,
            "recipient": {"username": user.get_username(), "email": user.email},
            "subject": one_line(notification.subject),
            "body": notification.body,
            "url": site_url(notification.url) if notification.url else "",
            "run": notification.run_id,
            "step_run": notification.step_run_id,
            "created_at": notification.created_at.isoformat(),
        }

    def send(self, delivery: Delivery) -> None:
        body = json.dumps(self.payload(delivery), ensure_ascii=False).encode()
        request = urllib.request.Request(
            settings.SOPFLOW_WEBHOOK_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                SIGNATURE_HEADER: "sha256=" + signature(body),
                IDEMPOTENCY_HEADER: idempotency_key(delivery),
            },
        )
        # urlopen raises for answers other than 2xx/3xx; the task then retries.
        with urllib.request.urlopen(request, timeout=settings.SOPFLOW_WEBHOOK_TIMEOUT) as answer:
            answer.read()


def signature(body: bytes) -> str:
    secret = settings.SOPFLOW_WEBHOOK_SECRET.encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


CHANNELS: dict[str, EmailChannel | WebhookChannel] = {
    channel.name: channel for channel in (EmailChannel(), WebhookChannel())
}


def enabled_channels() -> list[EmailChannel | WebhookChannel]:
    return [CHANNELS[name] for name in settings.SOPFLOW_NOTIFICATION_CHANNELS]


# Writing notifications ----------------------------------------------------------------------


def send_delivery(delivery_id: int) -> bool:
    """Send one delivery once. Returns True when this call sent it, False when it was sent.

    The conditional UPDATE claims the row, so of two workers only one sends; a claim older than
    `claim_timeout()` (its worker was killed) can be taken over. A claim still held raises
    DeliveryBusy, so the task is retried rather than ending as done with nothing sent. A failed
    send releases the claim and raises, and the task retries.
    """
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, sent_at=None)
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - claim_timeout()))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        if Delivery.objects.filter(pk=delivery_id, sent_at=None).exists():
            raise DeliveryBusy(f"delivery {delivery_id} is claimed by another worker")
        return False
    delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    try:
        CHANNELS[delivery.channel].send(delivery)
    except Exception as error:
        Delivery.objects.filter(pk=delivery_id).update(
            claimed_at=None, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    Delivery.objects.filter(pk=delivery_id).update(sent_at=timezone.now(), last_error="")
    return True


@task()
@retried
def deliver(delivery_id: int) -> bool:
    """A delivery to the office's own services (mail), on the default queue."""
    return send_delivery(delivery_id)


@task(queue_name=settings.SOPFLOW_OUTSIDE_QUEUE)
@retried
def deliver_outside(delivery_id: int) -> bool:
    """A delivery to someone else's server (the webhook), on a queue of its own."""
    return send_delivery(delivery_id)


def delivery_task(channel: str) -> Task[..., bool]:
    return deliver_outside if channel == WebhookChannel.name else deliver


def requeue_abandoned_deliveries(now: datetime.datetime | None = None) -> int:
    """Queue again every unsent delivery that nothing will send; returns how many.

    A delivery is abandoned when its claim expired (or it was never claimed) at least
    `claim_timeout()` ago and no task for it waits or runs: its task was lost (a worker killed
    mid-send whose task the scheduler did not see, a queue row deleted). One that failed every
    attempt stays failed, as its task does.
    """
    now = now or timezone.now()
    expired = now - claim_timeout()
    candidates = {
        pk: (channel, attempts)
        for pk, channel, attempts in Delivery.objects.filter(
            sent_at=None, attempts__lte=len(RETRY_DELAYS)
        )
        .filter(
            Q(claimed_at__lt=expired) | Q(claimed_at=None, notification__created_at__lt=expired)
        )
        .values_list("pk", "channel", "attempts")
    }
    if not candidates:
        return 0
    live = DBTaskResult.objects.filter(
        task_path__in=[deliver.module_path, deliver_outside.module_path],
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    )
    waiting = {args_kwargs["args"][0] for args_kwargs in live.values_list("args_kwargs", flat=True)}
    abandoned = sorted(set(candidates) - waiting)
    for pk in abandoned:
        channel, attempts = candidates[pk]
        delivery_task(channel).enqueue(pk, attempt=attempts + 1)
    if abandoned:
        logger.warning(
            "Queued %d unsent notification deliveries again: %s", len(abandoned), abandoned
        )
    return len(abandoned)


@task()
def requeue_deliveries() -> int:
    return requeue_abandoned_deliveries()


# The occasions ------------------------------------------------------------------------------
