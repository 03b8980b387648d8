"""In-app notifications (the bell, /notifikasi/) and the webhook channel against a local receiver."""

import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from activities.background import tasks
from activities.core import workflow
from activities.models import Delivery, Notification
from activities.notifications import announcements, channels

SECRET = "rahasia-gateway"


def open_for_kasi(sop1, users, title="Sosialisasi Wawasan Kebangsaan"):
    """A run opened by the admin, and step 1 announced to the Kasi as the worker does once the
    opening is committed (its mail and webhook stay queued)."""
    run = workflow.open_run(
        sop=sop1,
        user=users["admin"],
        title=title,
        scheduled_on=datetime.date(2026, 12, 10),
        place="Aula",
    )
    first = run.step_runs.get(step__number=1)
    announcements.announce_activation.call(first.pk, actor_id=users["admin"].pk)
    return run


def test_the_bell_shows_the_unread_count_even_at_zero(client_for, sop1, users):
    page = client_for("staf").get("/tugas/").content.decode()
    assert 'id="notification-count"' in page
    assert ">0</span>" in page.split('id="notification-count"')[1][:400]
    open_for_kasi(sop1, users)
    badge = client_for("kasi").get("/notifikasi/jumlah/").content.decode()
    assert ">1</span>" in badge and "every 60s" in badge


def test_the_list_links_each_notification_to_its_step_and_marks_it_read(client_for, sop1, users):
    run = open_for_kasi(sop1, users)
    client = client_for("kasi")
    page = client.get("/notifikasi/").content.decode()
    notification = Notification.objects.get(recipient=users["kasi"])
    assert "Langkah 1 menunggu Anda" in page and "Baru" in page
    response = client.get(f"/notifikasi/{notification.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/kegiatan/{run.pk}/langkah/1/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "Baru" not in client.get("/notifikasi/").content.decode()


def test_mark_all_read_is_a_post_and_touches_only_my_notifications(client_for, sop1, users):
    open_for_kasi(sop1, users)
    open_for_kasi(sop1, users, title="Kedua")
    announcements.notify(
        [users["staf"]], kind="reminder", key="x", subject="Untuk staf", body="", url="/tugas/"
    )
    client = client_for("kasi")
    assert client.get("/notifikasi/baca-semua/").status_code == 405
    assert client.post("/notifikasi/baca-semua/").status_code == 302
    assert not Notification.objects.filter(recipient=users["kasi"], read_at=None).exists()
    assert Notification.objects.get(recipient=users["staf"]).read_at is None


def test_another_users_notification_is_a_404(client_for, sop1, users):
    open_for_kasi(sop1, users)
    notification = Notification.objects.get(recipient=users["kasi"])
    assert client_for("staf").get(f"/notifikasi/{notification.pk}/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_notifications_need_a_login(client):
    response = client.get("/notifikasi/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class Receiver(BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received, Receiver.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SOPFLOW_NOTIFICATION_CHANNELS = ["email", "webhook"]
    settings.SOPFLOW_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/sopflow"
    settings.SOPFLOW_WEBHOOK_SECRET = SECRET
    yield Receiver
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_signed_json(receiver, sop1, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = open_for_kasi(sop1, users, title="Sosialisasi & <Narkoba>")
    ((headers, body),) = receiver.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Sopflow-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["kind"] == "activated"
    assert payload["recipient"]["username"] == "kasi"
    assert "Sosialisasi & <Narkoba>" in payload["subject"]
    assert payload["url"].endswith(f"/kegiatan/{run.pk}/langkah/1/")
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.sent_at is not None
    # Delivered once: running the task again posts nothing.
    channels.deliver.enqueue(delivery.pk)
    assert len(receiver.received) == 1


def test_a_refusing_webhook_is_retried_and_left_unsent(
    receiver, sop1, users, django_capture_on_commit_callbacks
):
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(channel="webhook")
    assert len(receiver.received) == len(tasks.RETRY_DELAYS) + 1
    assert delivery.sent_at is None and "500" in delivery.last_error
    # The mail channel is independent of the webhook.
    assert Delivery.objects.get(channel="email").sent_at is not None


def test_every_attempt_of_a_webhook_carries_the_same_delivery_id(
    receiver, sop1, users, django_capture_on_commit_callbacks
):
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        open_for_kasi(sop1, users)
    delivery = Delivery.objects.get(channel="webhook")
    expected = channels.idempotency_key(delivery)
    assert len(receiver.received) == len(tasks.RETRY_DELAYS) + 1
    for headers, body in receiver.received:
        assert headers["Idempotency-Key"] == expected
        assert json.loads(body)["delivery"] == expected


def test_webhook_deliveries_wait_on_their_own_queue_for_their_own_worker(
    receiver, sop1, users, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", settings.SOPFLOW_OUTSIDE_QUEUE],
        }
    }
    # The worker drops a connection that is not in autocommit mode, as the test's own is.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    with django_capture_on_commit_callbacks(execute=True):
        open_for_kasi(sop1, users)
    webhook_task = DBTaskResult.objects.get(
        task_path="activities.notifications.channels.deliver_outside"
    )
    assert webhook_task.queue_name == settings.SOPFLOW_OUTSIDE_QUEUE == "outside"
    assert DBTaskResult.objects.get(task_path="activities.notifications.channels.deliver")

    def work(queue):
        call_command(
            "db_worker",
            queue_name=queue,
            batch=True,
            reload=False,
            startup_delay=False,
            verbosity=0,
        )

    work("default")
    assert Delivery.objects.get(channel="email").sent_at is not None
    assert Delivery.objects.get(channel="webhook").sent_at is None
    assert receiver.received == []
    webhook_task.refresh_from_db()
    assert webhook_task.status == TaskResultStatus.READY
    work("outside")
    assert Delivery.objects.get(channel="webhook").sent_at is not None
    assert len(receiver.received) == 1
