"""The photo stamp is the time the photo was taken (EXIF DateTimeOriginal, read before the
re-encoding strips EXIF), not the upload time."""

import datetime
import io
import zoneinfo

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from activities.core import uploads

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
