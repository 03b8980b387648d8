"""Telling people: in-app notifications (the bell), and the outside channels that deliver them.

A notification is written in the same transaction as the change it reports, so it exists exactly
when the change does. Each outside channel (`SOPFLOW_NOTIFICATION_CHANNELS`: "email",
"webhook") gets a `Delivery` row, sent by the `deliver` task queued after the commit; a mail
server that hangs or fails never touches the request or the committed step.

Subjects are one line (a title with a line break cannot go into a mail header) and bodies are
plain text rendered by the "text" template engine, which does not HTML-escape.
"""

import datetime
import hashlib
import hmac
import json
import logging
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import Delivery, Notification, Role, Run, StepRun

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


def notify(users, *, kind, key, subject, body, url="", run=None, step_run=None, now=None):
    """Write one notification per user for the occasion `key` (users already notified of it are
    skipped) and queue its outside deliveries for after the commit. Returns the new rows."""
    from activities import tasks

    users = list(users)
    if not users:
        return []
    now = now or timezone.now()
    already = set(
        Notification.objects.filter(recipient__in=users, key=key).values_list(
            "recipient_id", flat=True
        )
    )
    fresh = [
        Notification(
            recipient=user,
            kind=kind,
            key=key,
            run=run,
            step_run=step_run,
            subject=one_line(subject),
            body=body,
            url=url,
            created_at=now,
        )
        for user in users
        if user.pk not in already
    ]
    created = Notification.objects.bulk_create(fresh)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(notification=notification, channel=channel.name)
            for notification in created
            for channel in enabled_channels()
            if channel.wants(notification.recipient)
        ]
    )
    for delivery in deliveries:
        tasks.enqueue_on_commit(tasks.deliver, delivery.pk)
    return created


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


def role_holders(roles, *, exclude=None):
    users = get_user_model().objects.filter(sop_roles__in=roles, is_active=True)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.distinct().order_by("pk")


def step_activated(run, step_run, *, actor_user=None, returned=False, now=None):
    """Tell the holders of an activated step's roles; the person who caused the activation
    already knows and is left out. `returned`: the step is active again after a return.
    `step_run.step` and `run.sop` should be loaded."""
    context = {"step_run": step_run, "run": run, "returned": returned}
    kind = Notification.Kind.RETURNED if returned else Notification.Kind.ACTIVATED
    return notify(
        role_holders(step_run.step.roles.all(), exclude=actor_user),
        kind=kind,
        key=f"{kind}:{step_run.pk}",
        subject=render_text("emails/step_activated_subject.txt", context),
        body=render_text("emails/step_activated.txt", context),
        url=reverse("step_action", args=[run.pk, step_run.step.number]),
        run=run,
        step_run=step_run,
        now=now,
    )


def announce_activation(step_run_id, *, actor_id=None, returned=False):
    """`step_activated` for a committed activation, from its task; the count of new rows.

    A step already closed again when the task runs (a worker that was down for a while) is
    not announced: nobody needs telling any more.
    """
    step_run = (
        StepRun.objects.select_related("run__sop", "run__unit", "step")
        .prefetch_related("step__roles")
        .get(pk=step_run_id)
    )
    if step_run.state != StepRun.State.ACTIVE or step_run.run.status != Run.Status.RUNNING:
        return 0
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with transaction.atomic():
        created = step_activated(step_run.run, step_run, actor_user=actor, returned=returned)
    return len(created)


def announce_finished(run_id, *, actor_id=None):
    """`run_finished` for a committed finish, from its task; the count of new rows."""
    run = Run.objects.select_related("sop", "unit").get(pk=run_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with transaction.atomic():
        created = run_finished(run, actor_user=actor)
    return len(created)


def run_finished(run, *, actor_user=None, now=None):
    """Tell whoever opened the run that it is finished (unless he finished it himself)."""
    users = get_user_model().objects.filter(pk=run.opened_by_id, is_active=True)
    if actor_user is not None:
        users = users.exclude(pk=actor_user.pk)
    context = {"run": run}
    return notify(
        users,
        kind=Notification.Kind.FINISHED,
        key=f"finished:{run.pk}",
        subject=render_text("emails/run_finished_subject.txt", context),
        body=render_text("emails/run_finished.txt", context),
        url=run.get_absolute_url(),
        run=run,
        now=now,
    )


def laporan_archived(run, report, *, now=None):
    """Tell the unit's archive keepers (Kepala, TU) and the run's opener that the final laporan
    is in the archive."""
    keepers = Role.objects.filter(unit=run.unit_id, keeps_archive=True)
    users = get_user_model().objects.filter(
        Q(sop_roles__in=keepers) | Q(pk=run.opened_by_id), is_active=True
    )
    context = {"run": run, "report": report}
    return notify(
        users.distinct().order_by("pk"),
        kind=Notification.Kind.ARCHIVED,
        key=f"archived:{run.pk}",
        subject=render_text("emails/laporan_archived_subject.txt", context),
        body=render_text("emails/laporan_archived.txt", context),
        url=run.get_absolute_url(),
        run=run,
        now=now,
    )
