"""Webhook subscriptions from the outside: a receiver on a local port checks every delivery with
the reference `standardwebhooks` library and refuses a replay older than five minutes; a
receiver that is down and then up gets the missed deliveries by retry, each attempt in the log;
one that keeps failing switches its subscription off and its owner is told."""

import datetime
import json
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from activities.core import webhooks as dispatcher
from activities.core import workflow
from activities.models import (
    Event,
    Notification,
    Unit,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    new_webhook_secret,
)
from activities.notifications import webhooks as sending

pytestmark = pytest.mark.django_db


class Receiver:
    """A subscriber's endpoint on 127.0.0.1: it verifies each request with the reference
    library (signature and a timestamp within five minutes) and answers 204, or 401."""

    def __init__(self, secret, port=0):
        self.secret, self.received, self.refused = secret, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    message = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError as error:
                    receiver.refused.append((str(error), headers, body))
                    self.send_response(401)
                else:
                    receiver.received.append((message, headers, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def secret():
    return new_webhook_secret()


@pytest.fixture
def receiver(secret):
    started = Receiver(secret)
    yield started
    started.stop()


def subscribe(owner, url, secret, types=("step.activated",), units=()):
    subscription = WebhookSubscription.objects.create(
        owner=owner, url=url, secret=secret, event_types=list(types)
    )
    subscription.units.set(units)
    return subscription


def opened(sop, users):
    return workflow.open_run(
        sop=sop,
        user=users["kasi"] if sop.unit.short_name == "Kesbangpol" else users["subkor"],
        title="Sosialisasi",
        scheduled_on=timezone.localdate(),
        place="Aula",
    )


def dispatch(capture, now=None):
    with capture(execute=True):
        return dispatcher.dispatch(now)


def test_the_catalogue_maps_every_announced_event_kind_once():
    mapped = set(dispatcher.EVENT_TYPES.values())
    assert mapped == set(dispatcher.CATALOGUE)
    unannounced = set(Event.Kind.values) - set(dispatcher.EVENT_TYPES)
    # An attachment, a retired or revised SOP version are not in the catalogue; nor is one
    # performer's part of a joint step (the step's `step.completed` comes when it closes), nor
    # the laporan's TTE, its SRIKANDI handover, its klasifikasi or a people import.
    assert unannounced == {
        "attached",
        "sop_retired",
        "sop_revised",
        "signed_off",
        "laporan_signed",
        "signing_unknown",
        "klasifikasi",
        "handover_packaged",
        "handover_registered",
        "people_import",
    }


def test_a_subscriber_gets_step_activated_signed_as_the_reference_library_checks(
    receiver, secret, users, sop1, django_capture_on_commit_callbacks
):
    subscribe(users["admin"], receiver.url, secret)
    run = opened(sop1, users)
    assert dispatch(django_capture_on_commit_callbacks) == 1
    assert not receiver.refused
    [(message, headers, body)] = receiver.received
    assert message["type"] == "step.activated"
    assert message["data"]["run"]["id"] == run.pk and message["data"]["step"]["number"] == 1
    delivery = WebhookDelivery.objects.get()
    assert headers["webhook-id"] == delivery.message_id
    assert headers["webhook-signature"].startswith("v1,")
    assert delivery.status == "delivered" and delivery.last_status_code == 204
    [attempt] = delivery.attempt_log.all()
    assert attempt.succeeded and attempt.status_code == 204 and attempt.number == 1
    # Read again, nothing is sent twice.
    assert dispatch(django_capture_on_commit_callbacks) == 0
    assert len(receiver.received) == 1


def test_the_receiver_refuses_a_replay_older_than_five_minutes_and_a_changed_body(
    receiver, secret, users, sop1, django_capture_on_commit_callbacks
):
    subscribe(users["admin"], receiver.url, secret)
    opened(sop1, users)
    dispatch(django_capture_on_commit_callbacks)
    [(_message, headers, body)] = receiver.received
    wanted = {
        name: headers[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }

    def replay(data):
        request = urllib.request.Request(receiver.url, data=data, method="POST", headers=wanted)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert replay(body) == 204  # within the tolerance the same request still passes
    assert replay(body.replace(b"Sosialisasi", b"Sosialisas1")) == 401
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=6), tick=False):
        assert replay(body) == 401
    assert "too old" in receiver.refused[-1][0].lower()


def test_a_subscriber_down_then_up_gets_the_missed_deliveries_by_retry(
    secret, users, sop1, django_capture_on_commit_callbacks
):
    port = free_port()
    subscribe(
        users["admin"], f"http://127.0.0.1:{port}/hook", secret, ["run.opened", "step.activated"]
    )
    opened(sop1, users)
    started = timezone.now()
    dispatch(django_capture_on_commit_callbacks, started)
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event_type for d in deliveries] == ["run.opened", "step.activated"]
    for delivery in deliveries:
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.next_attempt_at > started
        [failed] = delivery.attempt_log.all()
        assert failed.status_code is None and not failed.succeeded and failed.error
    # Not yet due: nobody sends early.
    assert sending.attempt(deliveries[0].pk, started) == "skipped"
    later = started + datetime.timedelta(seconds=sending.RETRY_DELAYS[0] + 1)
    # Still down at the first retry: a second attempt, a longer wait.
    assert sending.attempt(deliveries[0].pk, later) == "retry"
    deliveries[0].refresh_from_db()
    assert deliveries[0].next_attempt_at >= later + datetime.timedelta(
        seconds=sending.RETRY_DELAYS[1]
    )
    receiver = Receiver(secret, port)
    try:
        for delivery in deliveries:
            delivery.refresh_from_db()
            assert sending.attempt(delivery.pk, delivery.next_attempt_at) == "delivered"
    finally:
        receiver.stop()
    assert sorted(m["type"] for m, _h, _b in receiver.received) == ["run.opened", "step.activated"]
    log = [
        (a.delivery.event_type, a.number, a.status_code, a.succeeded)
        for a in WebhookAttempt.objects.select_related("delivery").order_by("delivery_id", "number")
    ]
    assert log == [
        ("run.opened", 1, None, False),
        ("run.opened", 2, None, False),
        ("run.opened", 3, 204, True),
        ("step.activated", 1, None, False),
        ("step.activated", 2, 204, True),
    ]
    # The same message every time: receivers de-duplicate on its id.
    ids = {h["webhook-id"] for _m, h, _b in receiver.received}
    assert ids == set(WebhookDelivery.objects.values_list("message_id", flat=True))


def test_a_subscription_that_keeps_failing_is_switched_off_and_its_owner_told(
    secret, users, sop1, django_capture_on_commit_callbacks
):
    owner = users["kepala"]
    subscription = subscribe(owner, f"http://127.0.0.1:{free_port()}/hook", secret)
    opened(sop1, users)
    now = timezone.now()
    dispatch(django_capture_on_commit_callbacks, now)
    delivery = WebhookDelivery.objects.get()
    results = []
    with django_capture_on_commit_callbacks(execute=True):
        for _retry in sending.RETRY_DELAYS:
            delivery.refresh_from_db()
            results.append(sending.attempt(delivery.pk, delivery.next_attempt_at))
    assert results == ["retry"] * (len(sending.RETRY_DELAYS) - 1) + ["failed"]
    delivery.refresh_from_db()
    span = delivery.attempt_log.last().at - delivery.attempt_log.first().at
    assert datetime.timedelta(hours=20) < span < datetime.timedelta(hours=25)
    assert (
        delivery.status == "failed"
        and delivery.attempt_log.count() == len(sending.RETRY_DELAYS) + 1
    )
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_at is not None
    told = Notification.objects.get(recipient=owner, kind=Notification.Kind.WEBHOOK)
    assert subscription.url in told.subject
    assert told.url == reverse("webhook_detail", args=[subscription.pk])
    assert subscription.history.filter(active=False).exists()
    # Switched off: a new event makes a delivery that waits, nothing is sent.
    assert sending.attempt(delivery.pk, timezone.now()) == "skipped"


def test_units_and_types_choose_what_a_subscription_gets(
    receiver, secret, users, sop1, sop2, django_capture_on_commit_callbacks
):
    diskominfo = Unit.objects.get(short_name="Diskominfo")
    only_diskominfo = subscribe(users["admin"], receiver.url, secret, ["run.opened"], [diskominfo])
    head = subscribe(users["kepala"], receiver.url, secret, ["run.opened"])
    opened(sop1, users)
    opened(sop2, users)
    dispatch(django_capture_on_commit_callbacks)
    got = {
        (d.subscription_id, d.payload["data"]["run"]["unit"]["id"])
        for d in WebhookDelivery.objects.all()
    }
    # The Kepala of Kesbangpol, subscribed to "all", gets his own unit only.
    assert got == {(only_diskominfo.pk, diskominfo.pk), (head.pk, sop1.unit_id)}


def test_the_cursor_waits_for_events_that_may_still_commit(
    secret, receiver, users, sop1, django_capture_on_commit_callbacks
):
    subscribe(users["admin"], receiver.url, secret)
    opened(sop1, users)
    dispatch(django_capture_on_commit_callbacks)
    from activities.models import WebhookCursor

    latest = Event.objects.order_by("-pk").first()
    assert WebhookCursor.objects.get().last_event_id < latest.pk
    dispatch(django_capture_on_commit_callbacks, timezone.now() + dispatcher.SETTLED)
    assert WebhookCursor.objects.get().last_event_id == latest.pk
    assert WebhookDelivery.objects.count() == 1


def test_who_may_subscribe_and_see_a_log(client, users, secret):
    for name, status in [
        ("kasi", 403),
        ("staf", 403),
        ("kepala", 200),
        ("kabid", 200),
        ("admin", 200),
    ]:
        client.force_login(users[name])
        assert client.get(reverse("webhook_list")).status_code == status, name
    client.force_login(users["kepala"])
    form = client.get(reverse("webhook_list")).context["form"]
    assert [unit.short_name for unit in form.fields["units"].queryset] == ["Kesbangpol"]
    made = client.post(
        reverse("webhook_list"),
        {
            "url": "https://dasbor.example.go.id/hook",
            "event_types": ["step.activated", "run.finished"],
        },
    )
    subscription = WebhookSubscription.objects.get(owner=users["kepala"])
    assert made.status_code == 302 and subscription.secret.startswith("whsec_")
    assert subscription.history.count() == 1
    diskominfo = Unit.objects.get(short_name="Diskominfo")
    refused = client.post(
        reverse("webhook_list"),
        {"url": "https://x.example/hook", "event_types": ["run.opened"], "units": [diskominfo.pk]},
    )
    assert refused.status_code == 200 and WebhookSubscription.objects.count() == 1
    bad = client.post(reverse("webhook_list"), {"url": "ftp://x", "event_types": ["nope"]})
    assert bad.status_code == 200 and WebhookSubscription.objects.count() == 1
    client.force_login(users["kabid"])
    assert client.get(reverse("webhook_detail", args=[subscription.pk])).status_code == 404
    client.force_login(users["admin"])
    assert client.get(reverse("webhook_detail", args=[subscription.pk])).status_code == 200


def test_kirim_ulang_sends_the_same_message_again(
    client, receiver, secret, users, sop1, django_capture_on_commit_callbacks
):
    subscription = subscribe(users["kepala"], receiver.url, secret)
    opened(sop1, users)
    dispatch(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    client.force_login(users["kepala"])
    log = client.get(reverse("webhook_detail", args=[subscription.pk])).content.decode()
    assert delivery.message_id in log and "Kirim ulang" in log
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_resend", args=[subscription.pk, delivery.pk]))
    assert response.status_code == 302
    assert [h["webhook-id"] for _m, h, _b in receiver.received] == [delivery.message_id] * 2
    assert delivery.attempt_log.count() == 2
    client.force_login(users["kabid"])
    assert (
        client.post(reverse("webhook_resend", args=[subscription.pk, delivery.pk])).status_code
        == 404
    )


def test_the_body_sent_is_the_stored_payload(secret):
    delivery = WebhookDelivery(
        message_id="msg_1", payload={"type": "run.opened", "data": {"a": "é"}}
    )
    body = sending.body_of(delivery)
    assert json.loads(body) == delivery.payload
    signature = sending.sign(secret, "msg_1", 1700000000, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": signature,
    }
    with time_machine.travel(datetime.datetime.fromtimestamp(1700000000, datetime.UTC), tick=False):
        assert Webhook(secret).verify(body, headers) == delivery.payload


def test_only_the_due_time_reminder_is_step_overdue():
    from activities.time.deadlines import Stage

    due = Event(kind=Event.Kind.REMINDED, after={"stage": int(Stage.DUE)})
    early = Event(kind=Event.Kind.REMINDED, after={"stage": int(Stage.REMINDED)})
    escalated = Event(kind=Event.Kind.ESCALATED, after={"stage": int(Stage.ESCALATED)})
    assert dispatcher.catalogue_type(due) == "step.overdue"
    assert dispatcher.catalogue_type(early) is None
    assert dispatcher.catalogue_type(escalated) == "step.escalated"
