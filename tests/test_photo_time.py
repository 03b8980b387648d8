"""The photo stamp is the time the photo was taken (EXIF DateTimeOriginal, read before the
re-encoding strips EXIF), not the upload time."""

import datetime
import io
import subprocess
import zoneinfo

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from activities.core import uploads
from activities.documents import laporan
from tests.test_reports import open_run, walk, wib

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def jpeg(taken=None, offset=None):
    image = Image.new("RGB", (64, 48), (120, 80, 40))
    exif = Image.Exif()
    if taken:
        ifd = exif.get_ifd(uploads.EXIF_IFD)
        ifd[uploads.DATE_TIME_ORIGINAL] = taken
        if offset:
            ifd[uploads.OFFSET_TIME_ORIGINAL] = offset
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile("IMG_0007.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_the_time_a_photo_was_taken_is_kept_and_its_exif_dropped():
    [upload] = uploads.validate_uploads([jpeg("2026:09:26 09:15:00")])
    assert upload.taken_at == datetime.datetime(2026, 9, 26, 9, 15, tzinfo=WIB)
    with Image.open(io.BytesIO(upload.data)) as stored:
        assert not stored.getexif().get_ifd(uploads.EXIF_IFD)


def test_the_cameras_own_offset_is_honoured():
    [upload] = uploads.validate_uploads([jpeg("2026:09:26 10:15:00", "+08:00")])
    assert upload.taken_at == datetime.datetime(2026, 9, 26, 9, 15, tzinfo=WIB)


def test_no_or_impossible_exif_time_is_unknown():
    assert uploads.validate_uploads([jpeg()])[0].taken_at is None
    assert uploads.validate_uploads([jpeg("1970:01:01 00:00:00")])[0].taken_at is None
    assert uploads.validate_uploads([jpeg("2099:01:01 00:00:00")])[0].taken_at is None
    assert uploads.validate_uploads([jpeg("kemarin sore")])[0].taken_at is None


def test_the_laporan_stamps_a_photo_with_the_time_it_was_taken(users, sop2):
    start = wib(9, 30, 8)
    files = {4: uploads.validate_uploads([jpeg("2026:09:29 16:40:00"), jpeg()])}
    run = walk(open_run(sop2, users, start=start), users, start=start, attachments=files)
    uploads.ensure_renditions(run.pk)
    report = laporan.build_run_report(run.pk)
    assert [photo.taken_at for photo in report.photos] == [
        datetime.datetime(2026, 9, 29, 16, 40, tzinfo=WIB),
        None,
    ]
    text = subprocess.run(
        ["pdftotext", "-", "-"],
        input=laporan.render_run_report(run.pk),
        capture_output=True,
        check=True,
    ).stdout.decode()
    text = " ".join(text.split())
    assert "difoto 29 September 2026 16.40" in text
    assert "diunggah" in text  # the photo without EXIF says what its time is
