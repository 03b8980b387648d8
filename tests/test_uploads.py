"""Attachments: checked by content and size, images cleaned and scaled, nothing kept on refusal."""

import datetime
import hashlib
import io
import random
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from openpyxl import Workbook
from PIL import Image, ImageFile

from activities.core import uploads, workflow
from activities.models import Attachment, Event
from tests.test_reports import LATER, open_run, tiny_pdf, wib

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def media_files(settings):
    """The stored attachment files (the units' emblems of the demo kop live beside them)."""
    root = settings.MEDIA_ROOT
    folder = root / "lampiran"
    return sorted(str(path.relative_to(root)) for path in folder.rglob("*") if path.is_file())


def camera_jpeg(name="IMG_0001.jpg", size=(4000, 3000), orientation=6):
    """A phone photo: EXIF with a GPS position, a camera name and a rotation flag."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif.get_ifd(GPS_IFD).update({1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 38.0, 0.0)})
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def noise_jpeg(progressive=False):
    """A 400×300 photo of noise: a long scan, with room to cut it in the middle."""
    pixels = random.Random(7).randbytes(400 * 300 * 3)
    buffer = io.BytesIO()
    image = Image.frombytes("RGB", (400, 300), pixels)
    image.save(buffer, "JPEG", quality=90, progressive=progressive)
    return buffer.getvalue()


def cut_and_closed(data):
    """`data` cut in the middle of its scans, with an end marker put after the cut."""
    scan = data.index(b"\xff\xda")
    return data[: (scan + len(data)) // 2] + b"\xff\xd9"


def png_with_alpha(name="denah.png"):
    image = Image.new("RGBA", (2400, 600), (0, 128, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 1200, 600))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def docx(name="undangan.docx", macro=False):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\x00" * 10)
    return SimpleUploadedFile(name, buffer.getvalue())


def xlsx(name="daftar-hadir.xlsx"):
    workbook = Workbook()
    workbook.active["A1"] = "Nama"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def heic(name="IMG_0002.HEIC"):
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 10)).save(buffer, "HEIF", quality=60)
    return SimpleUploadedFile(name, buffer.getvalue())


def refusal(files):
    with pytest.raises(ValidationError) as caught:
        uploads.validate_uploads(files)
    return " ".join(caught.value.messages)


@pytest.fixture
def run(users, sop1):
    return open_run(sop1, users, start=wib(10, 5, 8))


def complete_step_1(run, user, attachments):
    return workflow.complete_step(
        run_id=run.pk,
        number=1,
        user=user,
        started_at=run.opened_at,
        completed_at=run.opened_at + datetime.timedelta(minutes=12),
        attachments=attachments,
        now=LATER,
    )


# Refused ------------------------------------------------------------------------------------


def test_executable_renamed_as_jpg_is_refused(db, settings):
    message = refusal([SimpleUploadedFile("foto.jpg", b"MZ\x90\x00\x03" + b"\x00" * 500)])
    assert "“foto.jpg” ditolak" in message
    assert "jenis berkas tidak diterima" in message
    assert media_files(settings) == []


def test_file_whose_content_differs_from_its_name_is_refused(db):
    message = refusal([SimpleUploadedFile("undangan.pdf", docx().read())])
    assert "isinya DOCX" in message


def test_oversized_file_is_refused(db, settings):
    settings.SOPFLOW_UPLOAD_MAX_BYTES = 2000
    big = SimpleUploadedFile("besar.pdf", b"%PDF-1.4\n" + b"0" * 3000 + b"\n%%EOF\n")
    message = refusal([big])
    assert "melebihi batas" in message and filesizeformat(2000) in message


def test_too_much_for_one_step_is_refused(db, settings):
    settings.SOPFLOW_UPLOAD_MAX_BYTES = 4000
    settings.SOPFLOW_UPLOAD_STEP_MAX_BYTES = 5000
    part = b"%PDF-1.4\n" + b"0" * 3000 + b"\n%%EOF\n"
    message = refusal([SimpleUploadedFile("a.pdf", part), SimpleUploadedFile("b.pdf", part)])
    assert "per langkah" in message


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(
            SimpleUploadedFile("rusak.jpg", camera_jpeg().read()[:6000]), id="truncated-jpeg"
        ),
        pytest.param(
            SimpleUploadedFile("rusak.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200), id="png-header"
        ),
        pytest.param(SimpleUploadedFile("terpotong.pdf", b"%PDF-1.7\n1 0 obj\n"), id="cut-pdf"),
    ],
)
def test_corrupt_files_are_refused(db, upload):
    message = refusal([upload])
    assert "rusak" in message or "terpotong" in message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(noise_jpeg(), id="baseline"),
        pytest.param(noise_jpeg(progressive=True), id="progressive"),
        pytest.param(camera_jpeg().read(), id="decoded-at-a-reduced-scale"),
    ],
)
def test_a_jpeg_cut_short_and_closed_with_an_end_marker_is_refused(db, data):
    message = refusal([SimpleUploadedFile("foto.jpg", cut_and_closed(data))])
    assert "“foto.jpg” ditolak: gambar rusak atau tidak dapat dibaca sebagai JPEG." in message


def test_a_cut_jpeg_on_the_step_page_is_refused_and_nothing_is_kept(db, settings, run, client_for):
    cut = SimpleUploadedFile("foto.jpg", cut_and_closed(noise_jpeg()), content_type="image/jpeg")
    response = client_for("kasi").post(
        f"/kegiatan/{run.pk}/langkah/1/", {"action": "selesai", "lampiran": [cut]}
    )
    assert response.status_code == 200
    assert "“foto.jpg” ditolak: gambar rusak" in response.content.decode()
    assert run.step_runs.get(step__number=1).state == "active"
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


def test_images_are_decoded_with_truncated_images_refused(db, monkeypatch):
    """Even where something told Pillow to load truncated images, uploads are decoded strictly."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    seen = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        if self.tile:  # pixels still to decode
            seen.append(ImageFile.LOAD_TRUNCATED_IMAGES)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    uploads.validate_uploads([SimpleUploadedFile("foto.jpg", noise_jpeg()), png_with_alpha()])
    assert seen and not any(seen)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_decompression_bomb_is_refused(db):
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    message = refusal([SimpleUploadedFile("bom.png", buffer.getvalue())])
    assert "terlalu besar" in message


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the upload as unreadable if any pixel gets decoded."""
    from PIL import ImageFile

    def load(self):
        raise RuntimeError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_a_huge_image_decoded_whole_is_refused_before_decoding(db, no_decoding, image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 8000), (255, 255, 255)).save(buffer, image_format)
    assert len(buffer.getvalue()) < 300_000
    name = f"poster.{image_format.lower()}"
    assert "8000×8000 piksel terlalu besar" in refusal(
        [SimpleUploadedFile(name, buffer.getvalue())]
    )


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(db):
    # 31.5 MP: beyond what PNG may have, but libjpeg decodes it at 1/4 scale.
    buffer = io.BytesIO()
    Image.new("L", (7000, 4500), 128).save(buffer, "JPEG")
    [upload] = uploads.validate_uploads([SimpleUploadedFile("panorama.jpg", buffer.getvalue())])
    with Image.open(io.BytesIO(upload.data)) as stored:
        assert max(stored.size) == uploads.STORED_LONG_SIDE


def test_the_decoded_size_is_bounded_before_decoding(db, no_decoding, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_DECODE_BYTES", 1000 * 1000)
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 20, 30)).save(buffer, "JPEG")
    assert "1200×900 piksel terlalu besar" in refusal(
        [SimpleUploadedFile("foto.jpg", buffer.getvalue())]
    )


def test_office_file_with_macros_is_refused(db):
    assert "makro" in refusal([docx(macro=True)])


def test_zip_that_is_not_an_office_file_is_refused(db):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("program.exe", b"MZ")
    assert "jenis berkas tidak diterima" in refusal(
        [SimpleUploadedFile("x.docx", buffer.getvalue())]
    )


def test_one_bad_file_refuses_the_whole_batch(db, settings, run, users):
    message = refusal([tiny_pdf(), SimpleUploadedFile("virus.jpg", b"\x7fELF" + b"\x00" * 100)])
    assert "virus.jpg" in message and "undangan.pdf" not in message
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


def test_files_for_another_units_run_are_refused(db, settings, users, sop2):
    other = open_run(sop2, users, start=wib(10, 5, 8))
    files = uploads.validate_uploads([tiny_pdf(), camera_jpeg()])
    events = Event.objects.count()
    with pytest.raises(workflow.WorkflowError) as caught:
        complete_step_1(other, users["kasi"], files)
    assert caught.value.code == "forbidden"
    assert Attachment.objects.count() == 0
    assert Event.objects.count() == events
    assert media_files(settings) == []


def test_upload_to_another_units_run_through_the_step_page_is_404(
    db, settings, users, sop2, client_for
):
    other = open_run(sop2, users, start=wib(10, 5, 8))
    response = client_for("kasi").post(
        f"/kegiatan/{other.pk}/langkah/1/",
        {"action": "selesai", "lampiran": [camera_jpeg(), tiny_pdf()]},
    )
    assert response.status_code == 404
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


def test_refused_upload_on_the_step_page_changes_nothing(db, settings, run, client_for):
    response = client_for("kasi").post(
        f"/kegiatan/{run.pk}/langkah/1/",
        {"action": "selesai", "lampiran": [SimpleUploadedFile("foto.jpg", b"MZ" + b"\0" * 64)]},
    )
    assert response.status_code == 200
    assert "“foto.jpg” ditolak" in response.content.decode()
    assert run.step_runs.get(step__number=1).state == "active"
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


def test_a_refused_step_form_asks_for_its_files_again(db, settings, run, client_for):
    """The form keeps what was typed, but a file input cannot: the page has to say so."""
    client = client_for("kasi")
    step_run = run.step_runs.get(step__number=1)
    response = client.post(
        f"/kegiatan/{run.pk}/langkah/1/",
        {
            "action": "selesai",
            "version": step_run.version,
            "round": step_run.round,
            "notes": "Undangan sudah dikirim",
            "completed_at": "tanggal salah",
            "lampiran": [camera_jpeg(), tiny_pdf()],
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Undangan sudah dikirim" in page
    assert "Pilih berkasnya lagi sebelum mengirim" in page
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []
    unsent = client.get(f"/kegiatan/{run.pk}/langkah/1/").content.decode()
    assert "Pilih berkasnya lagi" not in unsent


def test_a_round_that_moved_on_while_its_photo_was_processed_keeps_nothing(
    db, settings, run, users, client_for, monkeypatch
):
    """The photo is re-encoded before the run is locked. If meanwhile the step is done, its
    approval returned and the step active again in a new round, the transition refuses the
    old form under the lock with the message a stale round gets, and no file is written."""
    client = client_for("kasi")
    step_run = run.step_runs.get(step__number=1)
    real_encode = uploads._encode

    def step_returned_meanwhile(*args):
        workflow.complete_step(run_id=run.pk, number=1, user=users["admin"])
        workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulang")
        return real_encode(*args)

    monkeypatch.setattr(uploads, "_encode", step_returned_meanwhile)
    response = client.post(
        f"/kegiatan/{run.pk}/langkah/1/",
        {
            "action": "selesai",
            "version": step_run.version,
            "round": step_run.round,
            "lampiran": [camera_jpeg(), tiny_pdf()],
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/kegiatan/{run.pk}/langkah/1/"
    assert "sudah dikembalikan dan dibuka lagi" in response.content.decode()
    assert run.step_runs.get(step__number=1, round=2).state == "active"
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


def test_storage_failure_rolls_the_step_back(db, settings, run, users, monkeypatch):
    files = uploads.validate_uploads([camera_jpeg(), tiny_pdf()])
    real_save = FileSystemStorage._save
    calls = []

    def flaky_save(storage, name, content):
        calls.append(name)
        if len(calls) == 2:  # the photo is written, then the disk is full
            raise OSError(28, "No space left on device")
        return real_save(storage, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", flaky_save)
    events = Event.objects.count()
    with pytest.raises(workflow.WorkflowError) as caught:
        complete_step_1(run, users["kasi"], files)
    assert caught.value.code == "storage"
    assert run.step_runs.get(step__number=1).state == "active"
    assert Attachment.objects.count() == 0
    assert Event.objects.count() == events
    assert media_files(settings) == []


def test_files_of_a_transition_that_fails_after_storing_them_are_removed(
    db, settings, run, users, monkeypatch
):
    files = uploads.validate_uploads([camera_jpeg(), tiny_pdf()])

    def lost_race(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    # Everything up to the attachments succeeds; then activating the next step fails.
    monkeypatch.setattr(workflow, "_advance", lost_race)
    with pytest.raises(workflow.WorkflowError) as caught:
        complete_step_1(run, users["kasi"], files)
    assert caught.value.code == "conflict"
    assert run.step_runs.get(step__number=1).state == "active"
    assert Attachment.objects.count() == 0
    assert media_files(settings) == []


# Accepted -----------------------------------------------------------------------------------


def test_good_files_are_stored_with_rows_and_events(
    db, settings, run, users, django_capture_on_commit_callbacks
):
    files = uploads.validate_uploads(
        [camera_jpeg(), png_with_alpha(), tiny_pdf(), docx(), xlsx(), heic()]
    )
    with django_capture_on_commit_callbacks(execute=True):
        complete_step_1(run, users["kasi"], files)
    attachments = list(Attachment.objects.order_by("pk"))
    assert [a.content_type for a in attachments] == [
        "image/jpeg",
        "image/png",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "image/jpeg",  # HEIC is stored as JPEG, which every browser shows
    ]
    for attachment in attachments:
        data = default_storage.open(attachment.file.name).read()
        assert hashlib.sha256(data).hexdigest() == attachment.sha256
        assert attachment.size == len(data)
        assert attachment.uploaded_by == users["kasi"]
        assert attachment.file.name.startswith(f"lampiran/{run.pk}/")
        assert bool(attachment.rendition) == attachment.is_image
    assert attachments[-1].original_name == "IMG_0002.HEIC"
    assert attachments[-1].file.name.endswith(".jpg")
    events = Event.objects.filter(run=run, kind=Event.Kind.ATTACHED)
    assert sorted(e.after["attachment"] for e in events) == [a.pk for a in attachments]
    # Documents are kept byte for byte.
    pdf = attachments[2]
    assert default_storage.open(pdf.file.name).read() == tiny_pdf().read()


def test_photo_is_upright_scaled_and_without_exif(
    db, run, users, django_capture_on_commit_callbacks
):
    [upload] = uploads.validate_uploads([camera_jpeg(orientation=6)])
    with django_capture_on_commit_callbacks(execute=True):
        step_run = complete_step_1(run, users["kasi"], [upload])
    [attachment] = step_run.attachments.all()
    stored = Image.open(default_storage.open(attachment.file.name))
    # 4000×3000 turned a quarter by its EXIF flag, scaled to 1600 on the long side.
    assert stored.size == (1200, 1600)
    assert not stored.getexif()
    assert "exif" not in stored.info
    data = default_storage.open(attachment.file.name).read()
    assert b"PhoneMaker" not in data and b"Model X" not in data
    small = Image.open(default_storage.open(attachment.rendition.name))
    assert small.format == "JPEG" and small.size == (600, 800)
    assert not small.getexif()


def test_png_keeps_transparency_and_gets_a_jpeg_rendition(db):
    [upload] = uploads.validate_uploads([png_with_alpha()])
    stored = Image.open(io.BytesIO(upload.data))
    assert stored.format == "PNG" and stored.mode == "RGBA" and stored.size == (1600, 400)
    small = Image.open(io.BytesIO(uploads.rendition_bytes(upload.data)))
    assert small.format == "JPEG" and small.size == (800, 200)
    # The transparent half is white in the rendition, not black.
    assert small.getpixel((700, 100)) > (240, 240, 240)


def test_the_rendition_is_made_after_the_commit_once_per_photo(
    db, settings, run, users, django_capture_on_commit_callbacks
):
    files = uploads.validate_uploads([camera_jpeg(), tiny_pdf(), png_with_alpha()])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        step_run = complete_step_1(run, users["kasi"], files)
    photos = [a for a in step_run.attachments.order_by("pk") if a.is_image]
    # The upload stored the originals only; the small versions are the worker's job.
    assert len(photos) == 2 and not any(a.rendition for a in photos)
    assert not [name for name in media_files(settings) if "/kecil/" in name]
    for callback in callbacks:
        callback()
    names = [Attachment.objects.get(pk=a.pk).rendition.name for a in photos]
    assert all(names)
    stored = media_files(settings)
    assert sorted(name for name in stored if "/kecil/" in name) == sorted(names)

    # A retry or a second worker: the same rendition, nothing new written.
    for photo in photos:
        assert uploads.make_rendition.enqueue(photo.pk).return_value in names
    assert uploads.ensure_renditions(run.pk) == []
    assert media_files(settings) == stored
    # A document gets no rendition.
    pdf = step_run.attachments.get(content_type="application/pdf")
    assert uploads.make_rendition.enqueue(pdf.pk).return_value is None
    assert not Attachment.objects.get(pk=pdf.pk).rendition


def test_two_workers_making_one_rendition_keep_one_file(db, settings, run, users, monkeypatch):
    [upload] = uploads.validate_uploads([camera_jpeg()])
    [photo] = complete_step_1(run, users["kasi"], [upload]).attachments.all()
    real = uploads.rendition_bytes
    raced = []

    def other_worker_first(data):
        if not raced:
            raced.append(True)
            raced.append(uploads.make_rendition.call(photo.pk))  # finishes while this one works
        return real(data)

    monkeypatch.setattr(uploads, "rendition_bytes", other_worker_first)
    assert uploads.make_rendition.call(photo.pk) == raced[1]
    assert Attachment.objects.get(pk=photo.pk).rendition.name == raced[1]
    assert [name for name in media_files(settings) if "/kecil/" in name] == [raced[1]]


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_whole_jpeg_is_accepted(db, progressive):
    data = noise_jpeg(progressive=progressive)
    [upload] = uploads.validate_uploads([SimpleUploadedFile("foto.jpg", data)])
    assert upload.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(upload.data)).size == (400, 300)


def test_small_image_is_not_enlarged(db):
    [upload] = uploads.validate_uploads([camera_jpeg(size=(640, 480), orientation=1)])
    assert Image.open(io.BytesIO(upload.data)).size == (640, 480)


def test_no_files_is_fine(db):
    assert uploads.validate_uploads([]) == []


# The input ----------------------------------------------------------------------------------


def test_upload_field_names_types_and_limits(db, settings):
    settings.SOPFLOW_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    html = render_to_string("runs/_upload_field.html", {})
    assert 'name="lampiran"' in html and "multiple" in html
    for accepted in (".pdf", ".jpg", ".png", ".webp", ".heic", ".docx", ".xlsx", "image/jpeg"):
        assert accepted in html
    assert "PDF, JPEG, PNG, WebP, HEIC, DOCX, XLSX" in html
    assert str(filesizeformat(5 * 1024 * 1024)) in html
    assert str(filesizeformat(settings.SOPFLOW_UPLOAD_STEP_MAX_BYTES)) in html
