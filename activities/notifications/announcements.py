"""Telling people: in-app notifications (the bell) for each occasion, and their outside deliveries.

A notification is written in the same transaction as the change it reports, so it exists exactly
when the change does; its deliveries go out through `activities.notifications.channels`."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from activities.background.tasks import enqueue_on_commit, retried
from activities.models import Delivery, Notification, Role, Run, StepRun
from activities.notifications import channels
from activities.notifications.channels import enabled_channels, one_line, render_text


@dataclass
class Note:
    """One occasion to tell `users` of (its `key`: a user told of it once is not told again)."""

    users: list
    kind: str
    key: str
    subject: str
    body: str
    url: str = ""
    run: Run | None = None
    step_run: StepRun | None = None


def notify(users, *, kind, key, subject, body, url="", run=None, step_run=None, now=None):
    """Write one notification per user for the occasion `key` (users already notified of it are
    skipped) and queue its outside deliveries for after the commit. Returns the new rows."""
    note = Note(list(users), kind, key, subject, body, url, run, step_run)
    return notify_many([note], now=now)[0]


def notify_many(notes, *, now=None):
    """`notify` for many occasions at once (the deadline sweep's batches): one query for who
    was told already, one INSERT of the notifications and one of their deliveries. Returns the
    new rows of each note, in order."""
    notes = list(notes)
    keys = {note.key for note in notes if note.users}
    if not keys:
        return [[] for _ in notes]
    now = now or timezone.now()
    recipients = {user.pk for note in notes for user in note.users}
    already = set(
        Notification.objects.filter(key__in=keys, recipient_id__in=recipients)
        .values_list("key", "recipient_id")
        .order_by()
    )
    fresh = []
    for note in notes:
        rows = [
            Notification(
                recipient=user,
                kind=note.kind,
                key=note.key,
                run=note.run,
                step_run=note.step_run,
                subject=one_line(note.subject),
                body=note.body,
                url=note.url,
                created_at=now,
            )
            for user in note.users
            if (note.key, user.pk) not in already
        ]
        fresh.append(rows)
    created = Notification.objects.bulk_create([row for rows in fresh for row in rows])
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(notification=notification, channel=channel.name)
            for notification in created
            for channel in enabled_channels()
            if channel.wants(notification.recipient)
        ]
    )
    for delivery in deliveries:
        enqueue_on_commit(channels.delivery_task(delivery.channel), delivery.pk)
    return fresh


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


@task()
@retried
def announce_activation(step_run_id, actor_id=None, returned=False):
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


@task()
@retried
def announce_finished(run_id, actor_id=None):
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
