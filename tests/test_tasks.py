"""The background engine: tasks queued after the commit, idempotent, retried a bounded number of
times; the scheduler's periodic jobs; mail subjects and plain-text bodies."""

import datetime

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from activities.background import schedule, tasks
from activities.core import uploads, workflow
from activities.documents import laporan
from activities.models import (
    ArchivedReport,
    Attachment,
    Delivery,
    Event,
    Notification,
    PeriodicJob,
    Run,
)
from activities.notifications import announcements, channels
from tests.test_reports import open_run, pdf_image_sizes, pdf_text, photo, walk, wib

DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": django_settings.TASKS["default"]["QUEUES"],
    }
}


def open_for_kasi(sop1, users):
    """A run opened by the admin on behalf of the Kasi, and step 1 announced to the Kasi as the
    worker does once the opening is committed (its mail stays queued)."""
    run = workflow.open_run(
        sop=sop1,
        user=users["admin"],
        title="Sosialisasi Wawasan Kebangsaan",
        scheduled_on=datetime.date(2026, 12, 10),
        place="Aula",
    )
    first = run.step_runs.get(step__number=1)
    announcements.announce_activation.call(first.pk, actor_id=users["admin"].pk)
    return run


@pytest.fixture
def finished_run(users, sop2, django_capture_on_commit_callbacks):
    start = wib(10, 12, 8)
    run = open_run(sop2, users, start=start)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        walk(run, users, start=start)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run, callbacks


def test_the_laporan_is_archived_only_after_the_commit(finished_run, users):
    run, callbacks = finished_run
    assert not ArchivedReport.objects.filter(run=run).exists()
    for callback in callbacks:
        callback()
    archived = ArchivedReport.objects.get(run=run)
    notified = Notification.objects.filter(run=run, kind=Notification.Kind.ARCHIVED)
    # The Kepala Bidang is the unit's archive keeper; the Sub Kor opened the run.
    assert {n.recipient.username for n in notified} == {"kabid", "subkor"}

    # Queued again (a retry, a second worker): nothing is written twice.
    assert laporan.archive_laporan.enqueue(run.pk).return_value == archived.sha256
    assert ArchivedReport.objects.filter(run=run).count() == 1
    assert Event.objects.filter(run=run, kind=Event.Kind.ARCHIVED).count() == 1
    assert notified.count() == 2


def test_the_archive_task_makes_missing_renditions_so_the_final_laporan_has_the_photos(
    users, sop1, django_capture_on_commit_callbacks
):
    photos = {12: uploads.validate_uploads([photo("IMG_0001.jpg"), photo("IMG_0002.jpg")])}
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start)
    # Neither the rendition tasks nor the archive task queued by the steps have run.
    with django_capture_on_commit_callbacks(execute=False):
        walk(run, users, start=start, attachments=photos)
    assert not Attachment.objects.filter(step_run__run=run).exclude(rendition="").exists()
    laporan.archive_laporan.enqueue(run.pk)
    archived = ArchivedReport.objects.get(run=run)
    assert not Attachment.objects.filter(step_run__run=run, rendition="").exists()
    data = archived.file.read()
    assert pdf_image_sizes(data) == {(800, 600)}
    assert "masih diproses" not in " ".join(pdf_text(data))


def test_finishing_tells_the_opener(finished_run, users, django_capture_on_commit_callbacks):
    run, callbacks = finished_run
    # The opener is told by a task queued for after the commit.
    assert not Notification.objects.filter(run=run, kind=Notification.Kind.FINISHED).exists()
    with django_capture_on_commit_callbacks(execute=False):
        for callback in callbacks:
            callback()
    finished = Notification.objects.get(run=run, kind=Notification.Kind.FINISHED)
    assert finished.recipient == users["subkor"]
    assert finished.url == f"/kegiatan/{run.pk}/"


def test_a_delivery_is_sent_once_however_often_it_runs(sop1, users):
    run = open_for_kasi(sop1, users)
    delivery = Notification.objects.get(recipient=users["kasi"], run=run).deliveries.get()
    assert channels.deliver.call(delivery.pk) is True
    assert channels.deliver.call(delivery.pk) is False
    channels.deliver.enqueue(delivery.pk)
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.attempts == 1


def test_a_claimed_delivery_is_retried_not_done_until_the_claim_expires(sop1, users):
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())
    # Another worker holds it: this task must not end as done while nothing is sent.
    with pytest.raises(channels.DeliveryBusy):
        channels.send_delivery(delivery.pk)
    expired = timezone.now() - channels.claim_timeout() - datetime.timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=expired)
    assert channels.deliver.call(delivery.pk) is True
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("stale_seconds", [120, 300, 15 * 60, 3600])
def test_the_claim_expires_before_the_scheduler_queues_the_task_again(settings, stale_seconds):
    settings.SOPFLOW_TASK_STALE_SECONDS = stale_seconds
    assert channels.claim_timeout() < datetime.timedelta(seconds=stale_seconds)
    assert channels.claim_timeout() > datetime.timedelta(
        seconds=max(settings.EMAIL_TIMEOUT, settings.SOPFLOW_WEBHOOK_TIMEOUT)
    )


def run_worker(queue="default"):
    call_command(
        "db_worker",
        queue_name=queue,
        batch=True,
        reload=False,
        startup_delay=False,
        verbosity=0,
    )


def test_a_delivery_whose_worker_was_killed_mid_send_is_sent_once_when_queued_again(
    sop1, users, settings, monkeypatch
):
    settings.TASKS = DATABASE_TASKS
    settings.SOPFLOW_TASK_STALE_SECONDS = 300
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    result = channels.deliver.enqueue(delivery.pk)
    # A worker took the task and claimed the delivery, then was killed before it sent.
    crashed = timezone.now() - datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS + 5)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=crashed, attempts=1)
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING, started_at=crashed
    )
    assert schedule.requeue_stale_tasks() == 1
    run_worker()
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.attempts == 2
    # Nothing is left to send: neither the sweep nor another run of the task sends again.
    assert channels.requeue_abandoned_deliveries() == 0
    channels.deliver.enqueue(delivery.pk)
    run_worker()
    assert len(mail.outbox) == 1


def test_the_sweep_queues_again_a_delivery_whose_task_was_lost(sop1, users, settings, monkeypatch):
    settings.TASKS = DATABASE_TASKS
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    # Claimed by a worker that died, and its task is gone from the queue.
    expired = timezone.now() - channels.claim_timeout() - datetime.timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=expired, attempts=1)
    assert not DBTaskResult.objects.exists()
    assert channels.requeue_abandoned_deliveries() == 1
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "activities.notifications.channels.deliver"
    assert queued.args_kwargs == {"args": [delivery.pk], "kwargs": {"attempt": 2}}
    # Its task now waits: a second sweep queues nothing more.
    assert channels.requeue_abandoned_deliveries() == 0
    run_worker()
    assert len(mail.outbox) == 1
    assert channels.requeue_abandoned_deliveries() == 0
    assert "requeue_deliveries" in {job.name for job in schedule.JOBS}


def test_a_delivery_that_failed_every_attempt_is_not_swept_again(sop1, users, settings):
    settings.TASKS = DATABASE_TASKS
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    long_ago = timezone.now() - channels.claim_timeout() * 2
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_at=None, attempts=len(tasks.RETRY_DELAYS) + 1, last_error="OSError"
    )
    Notification.objects.filter(pk=delivery.notification_id).update(created_at=long_ago)
    assert channels.requeue_abandoned_deliveries() == 0


def test_a_mail_has_the_same_message_id_on_every_attempt(sop1, users):
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    assert channels.deliver.call(delivery.pk) is True
    # Sent again, as after a worker killed between sending and stamping it.
    Delivery.objects.filter(pk=delivery.pk).update(sent_at=None, claimed_at=None)
    assert channels.deliver.call(delivery.pk) is True
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.message()["Message-ID"] == f"<{channels.idempotency_key(delivery)}>"
    assert str(delivery.pk) in channels.idempotency_key(delivery)


def test_a_title_with_a_line_break_still_mails_on_one_line_without_entities(
    sop1, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = workflow.open_run(
            sop=sop1,
            user=users["admin"],
            title="Sosialisasi\r\nBahaya Narkoba & <Tawuran>",
            scheduled_on=datetime.date(2026, 12, 10),
            place="Aula",
        )
    (message,) = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Sosialisasi Bahaya Narkoba & <Tawuran>" in message.subject
    assert "Bahaya Narkoba & <Tawuran>" in message.body
    assert "&amp;" not in message.body and "&lt;" not in message.body
    assert f"/kegiatan/{run.pk}/langkah/1/" in message.body


def test_a_failed_task_is_retried_later_a_bounded_number_of_times(
    sop1, users, settings, monkeypatch
):
    settings.TASKS = DATABASE_TASKS
    # The worker drops a connection that is not in autocommit mode, as the test's own
    # transaction is; left alone it would close the connection this test runs in.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    run = open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(notification__run=run)
    before = timezone.now()
    channels.deliver.enqueue(delivery.pk)
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    results = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.status for r in results] == [TaskResultStatus.FAILED, TaskResultStatus.READY]
    retry = results[1]
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
    wait = (retry.run_after - before).total_seconds()
    assert tasks.RETRY_DELAYS[0] <= wait < tasks.RETRY_DELAYS[0] + 30
    # The last attempt does not queue another one.
    with pytest.raises(OSError):
        channels.deliver.call(delivery.pk, attempt=len(tasks.RETRY_DELAYS) + 1)
    assert DBTaskResult.objects.count() == 2


def test_the_scheduler_queues_a_job_once_per_interval(db, settings, monkeypatch):
    settings.TASKS = DATABASE_TASKS
    job = schedule.Job("tick", "tests.worker_tasks.tick_probe", datetime.timedelta(minutes=5))
    monkeypatch.setattr(schedule, "JOBS", [job])
    now = timezone.now()
    assert schedule.run_due_jobs(now) == ["tick"]
    assert schedule.run_due_jobs(now) == []  # a second scheduler at the same moment
    assert schedule.run_due_jobs(now + datetime.timedelta(minutes=4)) == []
    assert schedule.run_due_jobs(now + datetime.timedelta(minutes=5)) == ["tick"]
    assert DBTaskResult.objects.filter(task_path="tests.worker_tasks.tick_probe").count() == 2
    assert PeriodicJob.objects.get(name="tick").last_run_at == now + datetime.timedelta(minutes=5)


def test_a_task_whose_worker_died_is_queued_again(db, settings):
    settings.TASKS = DATABASE_TASKS
    from tests.worker_tasks import probe

    result = probe.enqueue("/dev/null", "k")
    started = timezone.now() - datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS + 5)
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING, started_at=started
    )
    fresh = probe.enqueue("/dev/null", "fresh")
    DBTaskResult.objects.filter(id=fresh.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now()
    )
    assert schedule.requeue_stale_tasks() == 1
    assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(id=fresh.id).status == TaskResultStatus.RUNNING


def test_the_admin_lists_task_results(client_for, settings):
    settings.TASKS = DATABASE_TASKS
    from tests.worker_tasks import probe

    result = probe.enqueue("/dev/null", "k")
    response = client_for("admin").get("/admin/django_tasks_database/dbtaskresult/")
    assert response.status_code == 200
    assert str(result.id) in response.content.decode()


def test_tasks_queued_before_the_wings_are_pointed_at_their_new_modules(db):
    """A queue full of `activities.tasks.…` rows from before the upgrade runs on after it:
    queued rows move to the task's new module, finished ones keep their history."""
    import importlib

    from django.apps import apps
    from django.utils.module_loading import import_string

    migration = importlib.import_module("activities.migrations.0029_task_paths_follow_the_wings")
    queued = DBTaskResult.objects.create(
        task_path="activities.tasks.deliver",
        args_kwargs={"args": [1], "kwargs": {}},
        backend_name="default",
    )
    done = DBTaskResult.objects.create(
        task_path="activities.tasks.deliver",
        args_kwargs={"args": [2], "kwargs": {}},
        backend_name="default",
        status="SUCCESSFUL",
    )
    migration.forward(apps, None)
    queued.refresh_from_db()
    done.refresh_from_db()
    assert queued.task_path == "activities.notifications.channels.deliver"
    assert done.task_path == "activities.tasks.deliver"
    for new in migration.MOVED.values():
        assert import_string(new).name == new.rpartition(".")[2]
