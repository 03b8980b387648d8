"""Sending webhook deliveries in the Standard Webhooks format, retrying them, and switching off a
subscription that keeps failing.

Each request carries `webhook-id` (the message id, the same on every attempt and on "kirim
ulang": receivers de-duplicate on it), `webhook-timestamp` (seconds since 1970, the moment of
this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under
the subscription's secret (`whsec_` and the key in base64). A receiver checks the signature
over the raw body and refuses a timestamp too far from its clock (the reference libraries allow
five minutes), so a captured request cannot be replayed later.

Sending is the worker's, on the "outside" queue, after the commit that wrote the delivery
(`activities.core.webhooks.dispatch`). A delivery is claimed with a conditional UPDATE, so of
two workers only one sends; every attempt is a `WebhookAttempt` row. A failure (no answer, or
one outside 2xx; redirects are not followed) is tried again after `RETRY_DELAYS`, growing, for
about a day; after the last the delivery has failed and its subscription is switched off and its
owner told in the app.
"""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from activities.background.tasks import enqueue_on_commit
from activities.models import (
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from activities.notifications import announcements

logger = logging.getLogger(__name__)

# Seconds before each further attempt: 9 attempts in all over 23 h 36 min.
RETRY_DELAYS = (5, 60, 300, 1800, 7200, 18000, 36000, 21600)
# A claim older than this belongs to a worker that died (a send is bounded by the timeout).
CLAIM_TIMEOUT = datetime.timedelta(minutes=5)
# A pending delivery due this long ago whose task is nowhere is queued again.
LOST_AFTER = datetime.timedelta(minutes=10)
LOST_BATCH = 200
USER_AGENT = "sopflow-webhooks/1"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of id.timestamp.body
    under the secret's key (the base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is an answer like any other, and not a success


_opener = urllib.request.build_opener(_NoRedirect)


def post(delivery: WebhookDelivery, now_seconds: int) -> tuple[int | None, str]:
    """POST one attempt; (status code or None, error text or "")."""
    body = body_of(delivery)
    request = urllib.request.Request(
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(now_seconds),
            "webhook-signature": sign(
                delivery.subscription.secret, delivery.message_id, now_seconds, body
            ),
        },
    )
    try:
        with _opener.open(request, timeout=settings.SOPFLOW_WEBHOOK_TIMEOUT) as answer:
            answer.read(65536)
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{type(error).__name__}: {reason}"[:500]


def _schedule(delivery_id: int, at: datetime.datetime) -> None:
    retry = send_webhook
    if retry.get_backend().supports_defer:
        retry = retry.using(run_after=at)
    retry.enqueue(delivery_id)


def attempt(delivery_id: int, now: datetime.datetime | None = None) -> str:
    """Send one attempt of a delivery if it is due and nobody else is sending it; returns what
    happened: "delivered", "retry", "failed" or "skipped"."""
    now = now or timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id,
            status=WebhookDelivery.Status.PENDING,
            subscription__active=True,
        )
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("subscription__owner").get(pk=delivery_id)
    started = time.monotonic()
    code, error = post(delivery, int(now.timestamp()))
    took = int((time.monotonic() - started) * 1000)
    succeeded = code is not None and 200 <= code < 300
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempt_log.count() + 1,
        at=now,
        status_code=code,
        succeeded=succeeded,
        duration_ms=took,
        error=error,
    )
    done = max(now, timezone.now())
    if succeeded:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=done,
            last_status_code=code,
            claimed_at=None,
            next_attempt_at=None,
        )
        return "delivered"
    if delivery.attempts > len(RETRY_DELAYS):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED,
            last_status_code=code,
            claimed_at=None,
            next_attempt_at=None,
        )
        switch_off(delivery.subscription, delivery, now=done)
        return "failed"
    following = done + datetime.timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        last_status_code=code, claimed_at=None, next_attempt_at=following
    )
    logger.warning(
        "Webhook delivery %s to %s failed (attempt %d: %s); next at %s",
        delivery_id,
        delivery.subscription.url,
        delivery.attempts,
        error,
        following.isoformat(),
    )
    _schedule(delivery_id, following)
    return "retry"


@task(queue_name=settings.SOPFLOW_OUTSIDE_QUEUE)
def send_webhook(delivery_id: int) -> str:
    """One attempt of a webhook delivery, on the queue of outside calls."""
    return attempt(delivery_id)


def switch_off(subscription: WebhookSubscription, delivery, *, now=None) -> bool:
    """Switch off a subscription whose delivery failed every attempt, and tell its owner (the
    bell, and his outside channels). Returns whether this call switched it off."""
    now = now or timezone.now()
    reason = _("Pengiriman %(id)s gagal %(count)d kali selama sehari; terakhir: %(error)s") % {
        "id": delivery.message_id,
        "count": len(RETRY_DELAYS) + 1,
        "error": delivery.attempt_log.order_by("-at", "-id").values_list("error", flat=True).first()
        or "-",
    }
    changed = WebhookSubscription.objects.filter(pk=subscription.pk, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason[:300]
    )
    if not changed:
        return False
    # The same values saved once more, so the configuration history has the change too.
    subscription = WebhookSubscription.objects.select_related("owner").get(pk=subscription.pk)
    subscription._change_reason = reason[:100]
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason"])
    announcements.notify(
        [subscription.owner],
        kind=Notification.Kind.WEBHOOK,
        key=f"webhook-off:{subscription.pk}:{delivery.pk}",
        subject=_("Webhook ke %(url)s dinonaktifkan") % {"url": subscription.url},
        body=_(
            "Langganan webhook ke %(url)s terus gagal menerima peristiwa dan dinonaktifkan. "
            "%(reason)s. Periksa penerima, lalu aktifkan lagi dan kirim ulang dari log "
            "pengiriman."
        )
        % {"url": subscription.url, "reason": reason},
        url=reverse("webhook_detail", args=[subscription.pk]),
        now=now,
    )
    return True


def resend(delivery: WebhookDelivery, now=None) -> None:
    """ "Kirim ulang": send the same message (same id and body) again at once, with a new round
    of retries."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, claimed_at=None
    )
    enqueue_on_commit(send_webhook, delivery.pk)


def requeue_lost(now=None) -> int:
    """Queue again pending deliveries of active subscriptions that were due LOST_AFTER ago and
    that nobody holds (their task was lost: a worker killed, a queue row deleted); each gets a
    fresh due time, so it is not queued again on the next round."""
    now = now or timezone.now()
    lost = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            subscription__active=True,
            next_attempt_at__lt=now - LOST_AFTER,
        )
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:LOST_BATCH]
    )
    if lost:
        WebhookDelivery.objects.filter(pk__in=lost).update(next_attempt_at=now)
        for pk in lost:
            send_webhook.enqueue(pk)
        logger.warning("Queued %d webhook deliveries again: %s", len(lost), lost)
    return len(lost)


def switch_on(subscription: WebhookSubscription, now=None) -> int:
    """Switch a subscription on again; its pending deliveries are sent at once. Returns how
    many were queued."""
    now = now or timezone.now()
    subscription.active, subscription.disabled_at, subscription.disabled_reason = True, None, ""
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason"])
    pending = list(
        subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).values_list(
            "pk", flat=True
        )[:LOST_BATCH]
    )
    WebhookDelivery.objects.filter(pk__in=pending).update(next_attempt_at=now, claimed_at=None)
    for pk in pending:
        enqueue_on_commit(send_webhook, pk)
    return len(pending)
