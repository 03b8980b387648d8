"""The laporan kegiatan: who may fetch it and its files, what it says, and the archived copy."""

import datetime
import hashlib
import io
import zoneinfo

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from activities.core import uploads, workflow
from activities.documents import laporan
from activities.models import ArchivedReport, Attachment, Event, Run

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
# Who does which role's steps in the seed SOPs.
PERFORMERS = {
    "Kasi": "kasi",
    "Kepala": "kepala",
    "Staf seksi": "staf",
    "Kasubag TU": "kasubag_tu",
    "Pengelola Administrasi Umum": "pengelola",
    "Kepala Bidang DIKP": "kabid",
    "Sub Kor DIMC": "subkor",
    "Tim": "tim",
    "Kernet/Supir": "supir",
}
LATER = datetime.datetime(2026, 11, 16, 8, 0, tzinfo=WIB)


def wib(month, day, hour, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=WIB)


def open_run(sop, users, *, start, title="Sosialisasi Wawasan Kebangsaan", place="Aula Ciledug"):
    opener = users[PERFORMERS[sop.steps.get(number=1).roles.first().name]]
    return workflow.open_run(
        sop=sop,
        user=opener,
        title=title,
        scheduled_on=start.date(),
        place=place,
        notes="Peserta 120 pelajar",
        now=start,
    )


def walk(run, users, *, start, now=LATER, until=None, return_at=None, attachments=None):
    """Do the steps of `run` in order from `start`, each taking its standard time on the clock.

    `return_at`: an approval step that sends the run back once; `attachments`: {step: [uploads]};
    `until`: stop before this step number.
    """
    attachments = attachments or {}
    steps = {step.number: step for step in run.sop.steps.prefetch_related("roles")}
    moment, number, returned = start, 1, False
    while number <= len(steps) and number != until:
        step = steps[number]
        user = users[PERFORMERS[step.roles.all()[0].name]]
        done = moment + datetime.timedelta(minutes=min(step.standard_minutes, 120))
        times = {"started_at": moment, "completed_at": done, "now": now}
        if step.is_approval and number == return_at and not returned:
            workflow.return_step(
                run_id=run.pk, number=number, user=user, reason="Daftar undangan kurang", **times
            )
            returned, number = True, step.return_to.number
        elif step.is_approval:
            workflow.approve_step(
                run_id=run.pk,
                number=number,
                user=user,
                instruction=f"Setuju, lanjutkan ke langkah {number + 1}",
                **times,
            )
            number += 1
        else:
            # A joint step is signed off by a performer of each of its roles.
            performers = [users[PERFORMERS[role.name]] for role in step.roles.all()]
            for performer in performers if step.is_joint else [user]:
                workflow.complete_step(
                    run_id=run.pk,
                    number=number,
                    user=performer,
                    output=f"Hasil langkah {number}",
                    attachments=attachments.get(number, ()) if performer == user else (),
                    **times,
                )
            number += 1
        moment = done
    run.refresh_from_db()
    return run


def photo(name="IMG_0001.jpg", size=(1200, 900), color=(30, 120, 200)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def tiny_pdf(name="undangan.pdf"):
    data = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def finished_run(users, sop1, django_capture_on_commit_callbacks):
    """A finished SOP 1 run with a return at step 5, photos at step 12 and a PDF at step 7."""
    files = {
        7: uploads.validate_uploads([tiny_pdf()]),
        12: uploads.validate_uploads(
            [photo("IMG_0001.jpg"), photo("IMG_0002.jpg", color=(200, 60, 30))],
            captions=["Pembukaan oleh Kepala Kantor", ""],
        ),
    }
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start)
    with django_capture_on_commit_callbacks(execute=True):
        walk(run, users, start=start, return_at=5, attachments=files)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run


@pytest.fixture
def running_run(users, sop1):
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start, title="Sosialisasi yang masih berjalan")
    return walk(run, users, start=start, until=4)


# Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["kasi", "staf", "kepala", "kasubag_tu", "pengelola", "admin"])
def test_everyone_in_the_unit_gets_the_laporan(client_for, finished_run, username):
    response = client_for(username).get(f"/kegiatan/{finished_run.pk}/laporan.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert body(response).startswith(b"%PDF-")


@pytest.mark.parametrize("username", ["outsider", "kabid", "subkor"])
def test_other_units_get_404_for_laporan_and_files(client_for, finished_run, username):
    client = client_for(username)
    attachment = Attachment.objects.filter(step_run__run=finished_run).first()
    base = f"/kegiatan/{finished_run.pk}"
    assert client.get(f"{base}/laporan.pdf").status_code == 404
    assert client.get(f"{base}/lampiran/{attachment.pk}/").status_code == 404
    assert client.get(f"{base}/lampiran/{attachment.pk}/kecil/").status_code == 404


def test_anonymous_is_sent_to_login(client, finished_run):
    response = client.get(f"/kegiatan/{finished_run.pk}/laporan.pdf")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_laporan_and_files_refuse_post(client_for, finished_run):
    attachment = Attachment.objects.filter(step_run__run=finished_run).first()
    client = client_for("kasi")
    base = f"/kegiatan/{finished_run.pk}"
    assert client.post(f"{base}/laporan.pdf").status_code == 405
    assert client.post(f"{base}/lampiran/{attachment.pk}/").status_code == 405


def test_attachment_served_to_the_unit_with_its_type(client_for, finished_run):
    client = client_for("staf")
    document = Attachment.objects.get(step_run__run=finished_run, content_type="application/pdf")
    response = client.get(f"/kegiatan/{finished_run.pk}/lampiran/{document.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(body(response)).hexdigest() == document.sha256
    image = Attachment.objects.filter(step_run__run=finished_run, content_type="image/jpeg")[0]
    thumb = client.get(f"/kegiatan/{finished_run.pk}/lampiran/{image.pk}/kecil/")
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(body(thumb))).size == (800, 600)
    # A document has no small version.
    assert (
        client.get(f"/kegiatan/{finished_run.pk}/lampiran/{document.pk}/kecil/").status_code == 404
    )


def test_attachment_id_must_belong_to_the_run_in_the_url(client_for, users, sop1, finished_run):
    other = open_run(sop1, users, start=wib(10, 20, 8), title="Kegiatan lain")
    attachment = Attachment.objects.filter(step_run__run=finished_run).first()
    response = client_for("kasi").get(f"/kegiatan/{other.pk}/lampiran/{attachment.pk}/")
    assert response.status_code == 404


def test_attachments_partial_links_only_through_the_views(finished_run):
    step_run = finished_run.step_runs.prefetch_related("attachments").get(step__number=12)
    html = render_to_string("runs/_attachments.html", {"step_run": step_run})
    first = step_run.attachments.all()[0]
    assert f"/kegiatan/{finished_run.pk}/lampiran/{first.pk}/kecil/" in html
    assert f"/kegiatan/{finished_run.pk}/lampiran/{first.pk}/" in html
    assert "Pembukaan oleh Kepala Kantor" in html
    assert "/media/" not in html


# What the laporan says -----------------------------------------------------------------------


def test_final_laporan_shows_every_step_totals_and_signature(client_for, finished_run, sop1):
    response = client_for("kasubag_tu").get(f"/kegiatan/{finished_run.pk}/laporan.pdf")
    pages = pdf_text(body(response))
    text = " ".join(pages)
    assert "PEMERINTAH KOTA TANGERANG" in text
    assert "KANTOR KESATUAN BANGSA DAN POLITIK" in text
    assert "LAPORAN KEGIATAN" in text
    assert sop1.name in text
    assert "Sosialisasi Wawasan Kebangsaan" in text
    assert "Aula Ciledug" in text
    for step in sop1.steps.all():
        assert " ".join(step.activity.split()[:4]) in text, step.number
    assert "5 hari 4 jam 45 menit" in text  # the SOP's standard total
    assert "Langkah tepat waktu" in text
    assert "Dikembalikan ke langkah 4" in text
    assert "Daftar undangan kurang" in text
    assert "Setuju, lanjutkan ke langkah 3" in text
    assert "Mengetahui," in text
    # The Kepala as his person record names him (the unit's head NIP finds it).
    assert "Temmy Mulyadi, M.Si." in text
    assert "NIP 19640606 198503 1 015" in text
    assert "Pembukaan oleh Kepala Kantor" in text
    assert f"Halaman 1 dari {len(pages)}" in pages[0]
    assert "DRAF" not in text


def test_laporan_rows_carry_rounds_performers_and_times(
    finished_run, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        report = laporan.build_run_report(finished_run.pk)
    # 15 steps; the return at step 5 adds a second round of steps 4 and 5, printed in the order
    # they happened: the return at step 5 comes before the rework of step 4 it caused.
    assert len(report.rows) == 17
    assert [(row.number, row.round) for row in report.rows][3:7] == [(4, 1), (5, 1), (4, 2), (5, 2)]
    starts = [row.started_at for row in report.rows if row.started_at]
    assert starts == sorted(starts)
    returned = report.rows[4]
    assert returned.state == "returned" and returned.return_reason == "Daftar undangan kurang"
    assert report.rows[0].performer == "Budi Santoso, S.Sos." and report.rows[0].role == "Kasi"
    assert all(row.completed_at for row in report.rows)
    assert len(report.photos) == 2 and len(report.documents) == 1
    assert report.timing.standard_display == "5 hari 4 jam 45 menit"
    assert report.timing.steps_done == 15


def test_on_behalf_is_marked(users, sop1, client_for):
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start)
    workflow.complete_step(
        run_id=run.pk,
        number=1,
        user=users["admin"],
        started_at=start,
        completed_at=start + datetime.timedelta(minutes=10),
        now=LATER,
    )
    report = laporan.build_run_report(run.pk)
    assert report.rows[0].on_behalf and report.rows[0].performer == "Administrator"
    text = " ".join(pdf_text(body(client_for("kasi").get(f"/kegiatan/{run.pk}/laporan.pdf"))))
    assert "a.n. Kasi" in text


def test_running_run_gives_a_draft_on_every_page(client_for, running_run):
    response = client_for("kepala").get(f"/kegiatan/{running_run.pk}/laporan.pdf")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    pages = pdf_text(body(response))
    assert len(pages) >= 2
    assert all("DRAF" in page for page in pages)
    assert not ArchivedReport.objects.filter(run=running_run).exists()


def test_cancelled_run_is_marked(client_for, users, running_run):
    workflow.cancel_run(run_id=running_run.pk, user=users["kasi"], reason="Narasumber berhalangan")
    text = " ".join(
        pdf_text(body(client_for("kasi").get(f"/kegiatan/{running_run.pk}/laporan.pdf")))
    )
    assert "DIBATALKAN" in text
    assert "Narasumber berhalangan" in text
    assert not ArchivedReport.objects.filter(run=running_run).exists()


# The archived copy ---------------------------------------------------------------------------


def test_finishing_archives_the_laporan_once(finished_run):
    archived = ArchivedReport.objects.get(run=finished_run)
    stored = default_storage.open(archived.file.name).read()
    assert hashlib.sha256(stored).hexdigest() == archived.sha256
    assert archived.size == len(stored)
    event = Event.objects.get(run=finished_run, kind=Event.Kind.ARCHIVED)
    assert event.after["sha256"] == archived.sha256
    # A second call changes nothing.
    assert laporan.archive_run(finished_run.pk) == archived
    assert ArchivedReport.objects.count() == 1
    assert Event.objects.filter(kind=Event.Kind.ARCHIVED).count() == 1


def test_downloads_serve_exactly_the_archived_bytes(client_for, finished_run):
    archived = ArchivedReport.objects.get(run=finished_run)
    first = body(client_for("kasi").get(f"/kegiatan/{finished_run.pk}/laporan.pdf"))
    second = body(client_for("kepala").get(f"/kegiatan/{finished_run.pk}/laporan.pdf"))
    assert first == second
    assert hashlib.sha256(first).hexdigest() == archived.sha256


def test_archive_hash_partial_shows_the_hash(finished_run):
    run = Run.objects.select_related("archived_report").get(pk=finished_run.pk)
    html = render_to_string("runs/_archive_hash.html", {"run": run})
    assert run.archived_report.sha256 in html
    assert "Laporan final diarsipkan" in html


def test_the_finished_run_page_links_its_laporan_once_with_its_hash(finished_run, client_for):
    html = client_for("kasi").get(f"/kegiatan/{finished_run.pk}/").content.decode()
    assert html.count(f"/kegiatan/{finished_run.pk}/laporan.pdf") == 1
    assert finished_run.archived_report.sha256 in html


def test_verify_archive_passes_then_detects_a_changed_byte(finished_run, capsys):
    call_command("verify_archive")
    assert "1 finished runs checked, 0 failed" in capsys.readouterr().out
    archived = ArchivedReport.objects.get(run=finished_run)
    path = default_storage.path(archived.file.name)
    with open(path, "r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert "CHANGED" in capsys.readouterr().err


def test_verify_archive_detects_a_missing_file(finished_run, capsys):
    archived = ArchivedReport.objects.get(run=finished_run)
    default_storage.delete(archived.file.name)
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert "MISSING" in capsys.readouterr().err


def test_verify_archive_detects_a_deleted_archive_row(finished_run, capsys):
    ArchivedReport.objects.filter(run=finished_run).delete()
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert f"NO ROW   run {finished_run.pk}" in capsys.readouterr().err


def test_verify_archive_detects_file_and_hash_replaced_together(finished_run, capsys):
    """The archive row is not the only record: the run's 'archived' event keeps the hash."""
    archived = ArchivedReport.objects.get(run=finished_run)
    forged = b"%PDF-1.4 forged laporan"
    with default_storage.open(archived.file.name, "wb") as handle:
        handle.write(forged)
    ArchivedReport.objects.filter(pk=archived.pk).update(
        sha256=hashlib.sha256(forged).hexdigest(), size=len(forged)
    )
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert "ALTERED" in capsys.readouterr().err


def test_verify_archive_detects_a_finished_run_never_archived(users, sop2, capsys):
    start = wib(10, 5, 8)
    run = walk(open_run(sop2, users, start=start), users, start=start)
    assert run.status == Run.Status.FINISHED and not ArchivedReport.objects.exists()
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert f"NO FILE  run {run.pk}" in capsys.readouterr().err
    # A run that finished a moment ago is waiting for its laporan, not a failure.
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    call_command("verify_archive")
    assert f"PENDING  run {run.pk}" in capsys.readouterr().out


def test_failed_render_at_finish_still_finishes_and_archives_on_a_later_request(
    users, sop1, client_for, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    start = wib(10, 12, 8)
    run = open_run(sop1, users, start=start)
    real_render = laporan.render_run_report

    def broken(*args, **kwargs):
        raise RuntimeError("fonts are gone")

    monkeypatch.setattr(laporan, "render_run_report", broken)
    with django_capture_on_commit_callbacks(execute=True):
        walk(run, users, start=start)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert not ArchivedReport.objects.filter(run=run).exists()
    assert "Task activities.documents.laporan.archive_laporan" in caplog.text
    assert "failed for good after 4 attempts" in caplog.text

    # The run page says the laporan is being prepared; a download queues the task again.
    page = client_for("pengelola").get(f"/kegiatan/{run.pk}/")
    assert "Laporan final sedang disiapkan" in page.content.decode()
    monkeypatch.setattr(laporan, "render_run_report", real_render)
    response = client_for("pengelola").get(f"/kegiatan/{run.pk}/laporan.pdf")
    assert response.status_code == 200
    archived = ArchivedReport.objects.get(run=run)
    assert hashlib.sha256(body(response)).hexdigest() == archived.sha256
    assert Event.objects.filter(run=run, kind=Event.Kind.ARCHIVED).count() == 1


def test_a_download_while_the_worker_is_busy_says_it_is_being_prepared(
    users, sop1, client_for, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    start = wib(10, 12, 8)
    run = open_run(sop1, users, start=start)
    with django_capture_on_commit_callbacks(execute=True):
        walk(run, users, start=start)
    # Finished a moment ago: the task queued at the finish is still waiting for a worker.
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    response = client_for("pengelola").get(f"/kegiatan/{run.pk}/laporan.pdf")
    assert response.status_code == 202
    assert "sedang disiapkan" in response.content.decode()
    assert not ArchivedReport.objects.filter(run=run).exists()


def test_laporan_embeds_the_small_renditions(client_for, finished_run):
    data = body(client_for("kasi").get(f"/kegiatan/{finished_run.pk}/laporan.pdf"))
    sizes = {
        image.image.size for page in PdfReader(io.BytesIO(data)).pages for image in page.images
    }
    # The photos were 1200×900 uploads; the PDF carries their 800 px renditions only.
    assert sizes == {(800, 600)}


def pdf_image_sizes(data):
    return {image.image.size for page in PdfReader(io.BytesIO(data)).pages for image in page.images}


def test_a_photo_waiting_for_its_rendition_is_left_out_of_the_laporan_and_said_so(
    users, sop1, django_capture_on_commit_callbacks
):
    photos = {12: uploads.validate_uploads([photo("IMG_0001.jpg"), photo("IMG_0002.jpg")])}
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        walk(run, users, start=start, until=13, attachments=photos)
    assert Attachment.objects.filter(step_run__run=run).count() == 2
    # The worker has not made the small versions yet: the draft laporan still opens at once,
    # without the stored photos, and tells the reader they are coming.
    data = laporan.render_run_report(run.pk)
    assert pdf_image_sizes(data) == set()
    assert "2 foto masih diproses" in " ".join(pdf_text(data))
    for callback in callbacks:
        callback()
    data = laporan.render_run_report(run.pk)
    assert pdf_image_sizes(data) == {(800, 600)}
    assert "masih diproses" not in " ".join(pdf_text(data))


def test_laporan_marks_a_run_opened_and_cancelled_on_behalf(users, sop1):
    import datetime
    import io

    from pypdf import PdfReader

    from activities.core import workflow

    run = workflow.open_run(
        sop=sop1,
        user=users["admin"],
        title="Dibuka administrator",
        scheduled_on=datetime.date(2026, 11, 30),
        place="Aula",
    )
    workflow.cancel_run(run_id=run.pk, user=users["admin"], reason="Jadwal bentrok")
    pdf_bytes = laporan.render_run_report(run.pk)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)
    text = " ".join(text.split())
    assert "a.n. Kasi" in text
    assert "oleh Administrator" in text and "Jadwal bentrok" in text
