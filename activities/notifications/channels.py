"""The outside channels that deliver notifications (e-mail, webhook), and the `deliver` task.

Each outside channel (`SOPFLOW_NOTIFICATION_CHANNELS`: "email", "webhook") gets a `Delivery`
row, sent by the `deliver` task queued after the commit; a mail server that hangs or fails never
touches the request or the committed step.

Subjects are one line (a title with a line break cannot go into a mail header) and bodies are
plain text rendered by the "text" template engine, which does not HTML-escape."""

import datetime
import hashlib
import hmac
import json
import logging
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task

from activities.background.tasks import retried
from activities.models import Delivery

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
# A claimed delivery whose worker vanished (killed mid-send) may be claimed again after this.
CLAIM_TIMEOUT = datetime.timedelta(minutes=10)
SIGNATURE_HEADER = "X-Sopflow-Signature"


def one_line(text, limit=SUBJECT_MAX):
    """`text` on one line (line breaks and runs of spaces become one space), cut to `limit`."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def render_text(template_name, context):
    """A plain-text template in Bahasa Indonesia, without HTML escaping."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(template_name, context, using="text")


def site_url(path):
    return settings.SITE_URL.rstrip("/") + path


# Channels -----------------------------------------------------------------------------------


class EmailChannel:
    """Mail through Django's e-mail backend (EMAIL_TIMEOUT bounds a hanging SMTP server)."""

    name = "email"

    def wants(self, user):
        return bool(user.email)

    def send(self, notification):
        body = notification.body
        if notification.url:
            body = f"{body.rstrip()}\n\n{site_url(notification.url)}\n"
        send_mail(
            one_line(notification.subject),
            body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
            fail_silently=False,
        )


class WebhookChannel:
    """POST the notification as JSON to `SOPFLOW_WEBHOOK_URL` (e.g. an office's WhatsApp or
    Telegram gateway), signed with HMAC-SHA256 of the body under `SOPFLOW_WEBHOOK_SECRET` in
    the `X-Sopflow-Signature: sha256=<hex>` header."""

    name = "webhook"

    def wants(self, user):
        return bool(settings.SOPFLOW_WEBHOOK_URL)

    def payload(self, notification):
        user = notification.recipient
        return {
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

    def send(self, notification):
        body = json.dumps(self.payload(notification), ensure_ascii=False).encode()
        request = urllib.request.Request(
            settings.SOPFLOW_WEBHOOK_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                SIGNATURE_HEADER: "sha256=" + signature(body),
            },
        )
        # urlopen raises for answers other than 2xx/3xx; the task then retries.
        with urllib.request.urlopen(request, timeout=settings.SOPFLOW_WEBHOOK_TIMEOUT) as answer:
            answer.read()


def signature(body):
    secret = settings.SOPFLOW_WEBHOOK_SECRET.encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


CHANNELS = {channel.name: channel for channel in (EmailChannel(), WebhookChannel())}


def enabled_channels():
    return [CHANNELS[name] for name in settings.SOPFLOW_NOTIFICATION_CHANNELS]


# Writing notifications ----------------------------------------------------------------------


@task()
@retried
def deliver(delivery_id):
    """Send one delivery once. Returns True when this call sent it.

    The conditional UPDATE claims the row, so of two workers only one sends; a claim older than
    CLAIM_TIMEOUT (its worker was killed) can be taken over. A failure releases the claim and
    raises, and the task retries.
    """
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, sent_at=None)
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    try:
        CHANNELS[delivery.channel].send(delivery.notification)
    except Exception as error:
        Delivery.objects.filter(pk=delivery_id).update(
            claimed_at=None, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    Delivery.objects.filter(pk=delivery_id).update(sent_at=timezone.now(), last_error="")
    return True


# The occasions ------------------------------------------------------------------------------
