"""The installable app's server side: the manifest and the service worker, the queue's token, and
exactly-once step completions and photos sent by the offline queue (client ids)."""

import datetime
import io
import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from activities.core import uploads, workflow
from activities.models import Attachment, Event, StepRun
from tests.test_run_views import form_data, messages_of, open_run, step_run, step_url

pytestmark = pytest.mark.django_db

QUEUE = {"HTTP_X_SOPFLOW_QUEUE": "1", "HTTP_ACCEPT": "application/json"}
WIB = datetime.timezone(datetime.timedelta(hours=7))


def jpeg(taken=None, size=(640, 480), color="#7a9cc6"):
    """A JPEG photo, with EXIF DateTimeOriginal `taken` ("2026:05:14 09:41:07") if given."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(uploads.EXIF_IFD)[uploads.DATE_TIME_ORIGINAL] = taken
    data = io.BytesIO()
    image.save(data, "JPEG", exif=exif)
    return data.getvalue()


def photos(count, taken="2026:05:14 09:41:07"):
    return [
        SimpleUploadedFile(f"foto-{n}.jpg", jpeg(taken, color=f"#{n}0{n}0{n}0"))
        for n in range(count)
    ]


def queued_post(client, run, number, *, client_id, files=(), file_ids=(), taken=(), **fields):
    data = form_data(run, number, "selesai", notes="Dikirim dari antrean.", **fields)
    data |= {
        "client_id": str(client_id),
        "lampiran": list(files),
        "lampiran_client_id": [str(value) for value in file_ids],
        "lampiran_diambil": list(taken),
    }
    return client.post(step_url(run, number), data, **QUEUE)


def rewound(files):
    for upload in files:
        upload.seek(0)
    return files


# --- exactly once -------------------------------------------------------------------------------


def test_a_replay_gets_the_first_answer_and_nothing_is_written_twice(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    completion, file_ids = uuid.uuid4(), [uuid.uuid4() for _ in range(3)]
    files = photos(3)
    sent = dict(client_id=completion, files=files, file_ids=file_ids)
    first = queued_post(client, run, 1, **sent)
    assert first.status_code == 200, first.content
    events_after_first = Event.objects.filter(run=run).count()
    # The answer was lost: the queue sends the same item again, twice.
    replays = [queued_post(client, run, 1, **(sent | {"files": rewound(files)})) for _ in range(2)]

    assert [json.loads(r.content) for r in replays] == [json.loads(first.content)] * 2
    answer = json.loads(first.content)
    assert answer["status"] == "terkirim"
    assert answer["url"] == reverse("run_detail", args=[run.pk])
    assert answer["message"].startswith("Langkah 1 selesai. Berikutnya langkah 2")
    closed = StepRun.objects.get(run=run, step__number=1)
    assert closed.state == StepRun.State.DONE and closed.client_id == completion
    assert Attachment.objects.filter(step_run=closed).count() == 3
    assert set(Attachment.objects.values_list("client_id", flat=True)) == set(file_ids)
    assert Event.objects.filter(run=run, kind=Event.Kind.COMPLETED).count() == 1
    assert Event.objects.filter(run=run).count() == events_after_first
    assert step_run(run, 2).state == StepRun.State.ACTIVE


def test_a_replay_of_the_page_form_redirects_with_the_first_message(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    data = form_data(run, 1, "selesai") | {"client_id": str(uuid.uuid4())}
    first = client.post(step_url(run, 1), data, follow=True)
    again = client.post(step_url(run, 1), data, follow=True)
    assert again.redirect_chain == first.redirect_chain
    assert messages_of(again) == messages_of(first)
    assert Event.objects.filter(run=run, kind=Event.Kind.COMPLETED).count() == 1


def test_a_moved_on_round_refuses_another_item_as_a_racing_post(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    stale_form = form_data(run, 1, "selesai")
    assert queued_post(client, run, 1, client_id=uuid.uuid4()).status_code == 200
    # Another item, filled in on the same round before it closed: refused, not a second close.
    other = client.post(step_url(run, 1), stale_form | {"client_id": str(uuid.uuid4())}, **QUEUE)
    racing = client.post(step_url(run, 1), stale_form, follow=True)

    assert other.status_code == 409
    refusal = json.loads(other.content)
    assert refusal["status"] == "gagal"
    assert [refusal["message"]] == messages_of(racing)
    assert refusal["message"].startswith("Langkah 1 sudah diselesaikan oleh")
    assert Event.objects.filter(run=run, kind=Event.Kind.COMPLETED).count() == 1


def test_a_send_that_loses_the_race_to_its_own_first_send_gets_that_answer(
    client_for, users, sop1, monkeypatch
):
    """Two copies of one item in flight: the second is checked before the first commits, then
    refused under the lock; it is answered as the first was."""
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    completion = uuid.uuid4()
    data = form_data(run, 1, "selesai") | {"client_id": str(completion)}
    real_replayed, calls = workflow.replayed, []

    def replayed(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            # The first copy commits just after the second one looked for it.
            workflow.complete_step(
                run_id=run.pk, number=1, user=users["kasi"], client_id=completion
            )
            return None
        return real_replayed(**kwargs)

    monkeypatch.setattr(workflow, "replayed", replayed)
    response = client.post(step_url(run, 1), data, **QUEUE)
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["status"] == "terkirim"
    assert Event.objects.filter(run=run, kind=Event.Kind.COMPLETED).count() == 1


def test_one_file_id_twice_in_a_send_is_stored_once(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    file_id = uuid.uuid4()
    response = queued_post(
        client_for("kasi"), run, 1, client_id=uuid.uuid4(), files=photos(2), file_ids=[file_id] * 2
    )
    assert response.status_code == 200
    assert Attachment.objects.filter(step_run__run=run).count() == 1


def test_client_ids_are_unique_per_step_round_in_the_database(users, sop1):
    run = open_run(sop1, users["kasi"])
    file_id, completion = uuid.uuid4(), uuid.uuid4()
    files = uploads.validate_uploads(photos(1), client_ids=[file_id])
    closed = workflow.complete_step(
        run_id=run.pk, number=1, user=users["kasi"], attachments=files, client_id=completion
    )
    attachment = Attachment.objects.get(step_run=closed)
    with pytest.raises(IntegrityError), transaction.atomic():
        Attachment.objects.create(
            step_run=closed,
            file=attachment.file.name,
            original_name="lagi.jpg",
            content_type="image/jpeg",
            size=1,
            sha256="0" * 64,
            uploaded_by=users["kasi"],
            uploaded_at=timezone.now(),
            client_id=file_id,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        StepRun.objects.filter(run=run, step__number=2).update(client_id=completion)


def test_a_queued_item_of_another_role_is_refused_with_the_reason(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    response = queued_post(client_for("staf"), run, 1, client_id=uuid.uuid4())
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "status": "gagal",
        "message": "Anda tidak memegang jabatan pelaksana langkah ini.",
    }
    assert step_run(run, 1).state == StepRun.State.ACTIVE


def test_a_queued_item_with_bad_values_is_refused_with_the_reasons(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    broken = SimpleUploadedFile("foto-rusak.jpg", jpeg()[:400])
    response = queued_post(
        client_for("kasi"),
        run,
        1,
        client_id=uuid.uuid4(),
        files=[broken],
        completed_at="bukan tanggal",
    )
    assert response.status_code == 400
    message = json.loads(response.content)["message"]
    assert "foto-rusak.jpg" in message and "tanggal" in message.lower()
    assert step_run(run, 1).state == StepRun.State.ACTIVE
    assert not Attachment.objects.exists()


def test_a_queued_item_without_a_session_is_sent_to_the_login(client, users, sop1):
    run = open_run(sop1, users["kasi"])
    response = queued_post(client, run, 1, client_id=uuid.uuid4())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert step_run(run, 1).state == StepRun.State.ACTIVE


# --- the photo's taken-at time --------------------------------------------------------------------


def test_the_taken_at_time_is_read_from_the_file_before_its_metadata_is_stripped(
    client_for, users, sop1
):
    run = open_run(sop1, users["kasi"])
    response = queued_post(
        client_for("kasi"),
        run,
        1,
        client_id=uuid.uuid4(),
        files=photos(1, taken="2026:05:14 09:41:07"),
        # What the browser says loses against the file's own time.
        taken=["2020:01:01 00:00:00"],
    )
    assert response.status_code == 200
    attachment = Attachment.objects.get(step_run__run=run)
    assert attachment.taken_at == datetime.datetime(2026, 5, 14, 9, 41, 7, tzinfo=WIB)
    with attachment.file.open("rb") as stored, Image.open(stored) as image:
        assert not image.getexif()
    event = Event.objects.get(run=run, kind=Event.Kind.ATTACHED)
    assert event.after["taken_at"] == "2026-05-14T09:41:07+07:00"


def test_the_browsers_taken_at_time_serves_a_photo_the_canvas_stripped(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    response = queued_post(
        client_for("kasi"),
        run,
        1,
        client_id=uuid.uuid4(),
        files=photos(3, taken=None),
        taken=["2026:05:14 10:15:00", "2026:05:14 10:16:00 +08:00", "9999:99:99 bukan"],
    )
    assert response.status_code == 200
    times = list(
        Attachment.objects.filter(step_run__run=run)
        .order_by("pk")
        .values_list("taken_at", flat=True)
    )
    assert times == [
        datetime.datetime(2026, 5, 14, 10, 15, tzinfo=WIB),
        datetime.datetime(2026, 5, 14, 9, 16, tzinfo=WIB),
        None,
    ]


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("2026:05:14 09:41:07", "", datetime.datetime(2026, 5, 14, 9, 41, 7, tzinfo=WIB)),
        ("2026:05:14 09:41:07", "+00:00", datetime.datetime(2026, 5, 14, 16, 41, 7, tzinfo=WIB)),
        (
            "2026:05:14 09:41:07.25 -03:00",
            "",
            datetime.datetime(2026, 5, 14, 19, 41, 7, tzinfo=WIB),
        ),
        ("0000:00:00 00:00:00", "", None),
        ("1999:12:31 23:59:59", "", None),
        ("2026:02:30 09:41:07", "", None),
        ("2026:05:14 09:41:07", "+23:00", None),
        ("    :  :     :  :  ", "", None),
        ("", "", None),
    ],
)
def test_exif_times(text, offset, expected):
    assert uploads.exif_time(text, offset) == expected


def test_a_time_in_the_future_is_not_a_taken_at_time():
    tomorrow = timezone.localtime() + datetime.timedelta(days=2)
    assert uploads.exif_time(tomorrow.strftime("%Y:%m:%d %H:%M:%S")) is None


def test_photo_taken_at_of_files_without_one():
    assert uploads.photo_taken_at(jpeg()) is None
    assert uploads.photo_taken_at(b"%PDF-1.7 bukan gambar") is None


# --- the installable app ----------------------------------------------------------------------------


def test_the_service_worker_is_served_from_the_root_for_everyone(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert 'importScripts("/static/js/antrean.js")' in body
    assert "__VERSION__" not in body and "sopflow-shell-" in body
    # The app shell it caches on install, and the page it shows for one it never kept.
    assert '"/static/bootstrap/css/bootstrap.min.css"' in body
    assert '"offline": "/offline/"' in body


def test_the_manifest_names_the_app_in_indonesian_with_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["short_name"] == "Tugas SOP"
    assert manifest["start_url"] == "/tugas/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone" and manifest["theme_color"]
    static_root = Path(settings.BASE_DIR) / "static"
    for icon in manifest["icons"]:
        with Image.open(static_root / icon["src"].removeprefix("/static/")) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_every_page_links_the_manifest_and_the_queue(client_for):
    page = client_for("staf").get("/tugas/").content.decode()
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'id="antrean-badge"' in page and 'id="offline-banner"' in page
    assert 'data-sumber="jaringan"' in page and 'data-pengguna="staf"' in page


def test_the_queue_token_needs_a_session(client, client_for):
    assert client.get("/antrean/token/")["Location"].startswith(reverse("login"))
    response = client_for("staf").get("/antrean/token/")
    assert response.status_code == 200
    token = json.loads(response.content)
    assert token["user"] == "staf" and len(token["csrf"]) == 64
    assert "no-store" in response["Cache-Control"]


def test_the_queue_page_and_the_offline_page(client, client_for):
    assert client.get("/offline/").status_code == 200
    assert client.get("/antrean/")["Location"].startswith(reverse("login"))
    page = client_for("staf").get("/antrean/").content.decode()
    assert "Kirim sekarang" in page and 'id="antrean-daftar"' in page
