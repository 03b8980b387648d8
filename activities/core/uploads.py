"""Attachments of a step: validation by content, size limits, storage, image renditions.

- `validate_uploads(files)` takes Django UploadedFile objects and returns `ValidUpload`s, or
  raises `django.core.exceptions.ValidationError` whose messages say which file and why.
  Nothing is written by validation.
- `store(run, step_run, uploads, actor, at)` is called by the workflow inside the transition's
  transaction; it writes the files through the storage API, the `Attachment` rows and an
  `Event` per file, and queues the making of each photo's rendition for after the commit.
- `make_rendition(attachment_id)` (run by the worker, `activities.core.uploads.make_rendition`) makes
  the small JPEG of one stored image once; `ensure_renditions(run_id)` makes every missing one
  of a run, for the final laporan.

The type of a file is read from its content (magic bytes, the parts inside an Office zip), never
from its name alone. Images are decoded and re-encoded by Pillow: that drops EXIF (GPS position,
camera serial), applies the EXIF orientation, scales phone photos down and proves the file is a
real image. Office files and PDFs are kept byte for byte.
"""

import contextlib
import contextvars
import datetime
import hashlib
import io
import logging
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import pillow_heif
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tasks import task
from PIL import Image, ImageFile, ImageOps

from activities.background.tasks import enqueue_on_commit, retried
from activities.core import events
from activities.core.errors import Unavailable
from activities.models import Attachment, Event

logger = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

STORED_LONG_SIDE = 1600
RENDITION_LONG_SIDE = 800
# 48 MP phone sensors are common; anything far beyond is a decompression bomb, not a photo.
# A JPEG that large is decoded at a reduced scale (libjpeg's draft mode), so it stays cheap.
MAX_IMAGE_PIXELS = 64_000_000
# PNG, WebP and HEIC are decoded whole: at most a 24 MP phone photo (an 8000×8000 PNG of a few
# hundred kB would otherwise cost a worker about 1 GB).
MAX_WHOLE_DECODE_PIXELS = 25_000_000
# The decoded image (at the scale it is decoded) may take at most this much memory.
MAX_DECODE_BYTES = 100 * 1024 * 1024
BYTES_PER_BAND = {"1": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}
CAPTION_MAX_LENGTH = 200
# Put before a JPEG's end marker to tell a whole file from a cut one (see _read_image); no FF
# byte, which would start a marker.
JPEG_CUT_PROBE = b"\x55" * 64


@dataclass(frozen=True)
class FileKind:
    label: str
    content_type: str
    extensions: tuple
    # Pillow format the stored file is written in; None keeps the bytes as uploaded.
    store_as: str | None = None

    @property
    def is_image(self):
        return self.store_as is not None


PDF = FileKind("PDF", "application/pdf", (".pdf",))
JPEG = FileKind("JPEG", "image/jpeg", (".jpg", ".jpeg", ".jfif"), "JPEG")
PNG = FileKind("PNG", "image/png", (".png",), "PNG")
WEBP = FileKind("WebP", "image/webp", (".webp",), "WEBP")
# Browsers other than Safari cannot show HEIC, so phone photos in HEIC are stored as JPEG.
HEIC = FileKind("HEIC", "image/heic", (".heic", ".heif"), "JPEG")
DOCX = FileKind(
    "DOCX",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
XLSX = FileKind(
    "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
)
KINDS = (PDF, JPEG, PNG, WEBP, HEIC, DOCX, XLSX)
IMAGE_EXTENSIONS = {ext for kind in KINDS if kind.is_image for ext in kind.extensions}
EXTENSION_BY_FORMAT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
CONTENT_TYPE_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PILLOW_FORMATS = {JPEG: {"JPEG", "MPO"}, PNG: {"PNG"}, WEBP: {"WEBP"}, HEIC: {"HEIF"}}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def accept_attribute():
    """The `accept=` of the file input: extensions and MIME types of every allowed kind."""
    values = [ext for kind in KINDS for ext in kind.extensions]
    values += [kind.content_type for kind in KINDS]
    return ",".join(dict.fromkeys(values))


def allowed_labels():
    return ", ".join(kind.label for kind in KINDS)


def max_file_bytes():
    return settings.SOPFLOW_UPLOAD_MAX_BYTES


def max_step_bytes():
    return settings.SOPFLOW_UPLOAD_STEP_MAX_BYTES


@dataclass(frozen=True)
class ValidUpload:
    name: str
    content_type: str
    data: bytes
    sha256: str
    caption: str = ""
    # When the photo was taken (`photo_taken_at`), and the id the browser's queue gave it.
    taken_at: datetime.datetime | None = None
    client_id: uuid.UUID | None = None

    @property
    def extension(self):
        for kind in KINDS:
            if kind.content_type == self.content_type and not kind.is_image:
                return kind.extensions[0]
        return EXTENSION_BY_FORMAT.get(self.content_type.removeprefix("image/").upper(), "")


class Refused(Exception):
    """One file is refused; the message names the file and the reason."""


def sniff(data):
    """The kind a file's first bytes (and, for Office files, its zip parts) say it is."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return HEIC
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


# Content types and relationships of active Office content: macros (whatever the part is
# called), ActiveX controls, and parts fetched from elsewhere when the file is opened (a remote
# template, an external OLE object, subdocument or frame).
OFFICE_ACTIVE_TYPES = re.compile(
    rb"vbaProject|vbaData|macroEnabled|ms-office\.activeX|/activeX|wordVbaData", re.IGNORECASE
)
OFFICE_FETCHED_TYPES = re.compile(
    rb"/(attachedTemplate|oleObject|subDocument|frame|package)\b", re.IGNORECASE
)
OFFICE_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.IGNORECASE)
# The XML parts read to find them: the content types and the relationships; read at most this
# much of each, so a zip bomb decompresses no further.
OFFICE_XML_READ_BYTES = 1024 * 1024
OFFICE_MAX_PARTS = 5000


def _office_is_active(archive, names):
    """Whether an Office package carries macros, ActiveX or parts fetched when it opens."""
    if len(names) > OFFICE_MAX_PARTS:
        return True
    if any(name.lower().endswith(("vbaproject.bin", "vbadata.xml")) for name in names):
        return True
    for name in names:
        if name != "[Content_Types].xml" and not name.endswith(".rels"):
            continue
        with archive.open(name) as part:
            xml = part.read(OFFICE_XML_READ_BYTES)
        if OFFICE_ACTIVE_TYPES.search(xml):
            return True
        for relationship in OFFICE_RELATIONSHIP.findall(xml):
            external = re.search(rb"TargetMode\s*=\s*[\"']External", relationship)
            if external and OFFICE_FETCHED_TYPES.search(relationship):
                return True
    return False


def _office_kind(data):
    # The central directory and the small XML parts that name the others are read, each up
    # to a limit: nothing else is decompressed, so a zip bomb is harmless.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" not in names:
                return None
            active = _office_is_active(archive, names)
    except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, NotImplementedError):
        return None
    if active:
        raise Refused(
            _(
                "berkas Office yang berisi makro, kontrol ActiveX atau templat dari luar tidak "
                "diterima. Simpan sebagai .docx/.xlsx biasa."
            )
        )
    if any(name.startswith("word/") for name in names):
        return DOCX
    if any(name.startswith("xl/") for name in names):
        return XLSX
    return None


def _jpeg_end(data):
    """Where the end-of-image marker of a JPEG's picture stands, or None if it has none.

    The header segments are skipped by their lengths (an EXIF thumbnail carries its own end
    marker); after the first scan starts, FF D9 can only be the real end, because FF bytes inside
    compressed data are always followed by 00 or a restart.
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker == 0xDA:
            end = data.find(b"\xff\xd9", position)
            return None if end == -1 else end
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        position += 2 + length
    return None


# What makes a PDF act on its own when opened or clicked: scripts, actions run on opening or
# on page events, launching programs, sending forms, embedded files and media, XFA forms.
PDF_ACTIVE_KEYS = {
    "/JS",
    "/JavaScript",
    "/OpenAction",
    "/AA",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/EF",
    "/RichMedia",
    "/XFA",
}
PDF_MAX_OBJECTS = 200_000


PDF_NAME = re.compile(rb"/((?:[A-Za-z0-9_.\-]|#[0-9A-Fa-f]{2})+)")


PDF_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)


def _pdf_names(data):
    """Every name written in the PDF's bytes outside streams, #-escapes decoded (/J#53 is /JS).

    Stream contents are skipped: compressed bytes would match a short name like /AA by chance.
    """
    for match in PDF_NAME.finditer(PDF_STREAM.sub(b"", data)):
        raw = match.group(1)
        if b"#" in raw:
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        yield "/" + raw.decode("latin-1")


def _pdf_graph_names(data):
    """Every name in the object graph pypdf reads, compressed object streams included."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reader = PdfReader(io.BytesIO(data), strict=False)
    pending, seen = [reader.trailer], set()
    while pending and len(seen) <= PDF_MAX_OBJECTS:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                yield str(name)
                if isinstance(value, str) and value.startswith("/"):
                    yield str(value)
                if name != "/Parent":
                    pending.append(value)
        elif isinstance(node, ArrayObject):
            pending.extend(node)


def _pdf_active_key(data):
    """The first active-content name of the PDF, or None: in its bytes, then in its objects."""
    for name in _pdf_names(data):
        if name in PDF_ACTIVE_KEYS:
            return name
    try:
        for name in _pdf_graph_names(data):
            if name in PDF_ACTIVE_KEYS:
                return name
    except Exception as error:
        # pypdf could not follow it; the byte scan above still ran.
        logger.info("PDF upload not read as objects: %r", error)
    return None


def _refuse_active_pdf(data):
    key = _pdf_active_key(data)
    if key is not None:
        raise Refused(
            _(
                "PDF ini berisi konten aktif (%(key)s: skrip, tindakan otomatis atau berkas "
                "sisipan) dan tidak diterima. Cetak ulang sebagai PDF biasa (Print → Save as "
                "PDF) lalu unggah lagi."
            )
            % {"key": key.lstrip("/")}
        )


def _flatten(image):
    """RGB on a white background: JPEG has no transparency."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image, image_format, icc_profile):
    buffer = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        _flatten(image).save(buffer, "JPEG", quality=85, optimize=True, **options)
    elif image_format == "WEBP":
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA", "P") else "RGB"
        image.convert(mode).save(buffer, "WEBP", quality=85, **options)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _too_large(width, height):
    return Refused(
        _("gambar %(width)s×%(height)s piksel terlalu besar untuk diproses.")
        % {"width": width, "height": height}
    )


def _decoded_bytes(image):
    """Memory the pixels of `image` take once decoded at its (draft) size."""
    band = BYTES_PER_BAND.get(image.mode, 1)
    return image.width * image.height * len(image.getbands()) * band


@contextlib.contextmanager
def _truncated_images_refused():
    """Pillow raises "image file is truncated" instead of padding a file that ends too soon."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(data, width, height):
    """Every pixel of `data` decoded, a JPEG at the reduced scale it is stored at."""
    image = Image.open(io.BytesIO(data))
    if image.format in ("JPEG", "MPO"):
        # Let libjpeg decode at a reduced scale: a 12 MP photo then costs a quarter of the time.
        scale = STORED_LONG_SIDE / max(image.size)
        if scale < 1:
            image.draft("RGB", (round(image.width * scale), round(image.height * scale)))
    if _decoded_bytes(image) > MAX_DECODE_BYTES:
        raise _too_large(width, height)
    with _truncated_images_refused():
        image.load()
    return image


def _pixels_digest(image):
    return hashlib.sha256(image.tobytes()).digest()


def _read_image(data, kind):
    """Decode an image completely, upright; raise Refused if it is not a sound image.

    Everything that bounds the cost is checked from the header, before any pixel is decoded:
    the pixel count (tighter for formats decoded whole) and the memory of the decoded image.
    """
    with Image.open(io.BytesIO(data)) as probe:
        if probe.format not in PILLOW_FORMATS[kind]:
            raise ValueError(f"{probe.format} is not {kind.label}")
        width, height = probe.size
        whole = probe.format not in ("JPEG", "MPO")
        if width * height > (MAX_WHOLE_DECODE_PIXELS if whole else MAX_IMAGE_PIXELS):
            raise _too_large(width, height)
        probe.verify()
    if kind is JPEG:
        end = _jpeg_end(data)
        if end is None:
            raise ValueError("JPEG without its end marker")
        # libjpeg draws the part of a file that ends too soon in grey and Pillow reports nothing,
        # so a photo cut off in transfer and closed with an end marker would pass. Decoded with
        # JPEG_CUT_PROBE before its end marker, a whole file comes out the same (libjpeg skips
        # bytes between the last scan and the end); a cut one reads them as picture data.
        # Compared by digest: the two decoded pictures are never in memory together.
        with _decode(data[:end] + JPEG_CUT_PROBE + data[end:], width, height) as probed:
            probed_digest = _pixels_digest(probed)
    image = _decode(data, width, height)
    if kind is JPEG and _pixels_digest(image) != probed_digest:
        raise ValueError("JPEG cut short before its end marker")
    icc_profile = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    if upright.mode == "P":
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    elif upright.mode not in ("1", "L", "LA", "RGB", "RGBA"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    # A fresh info dict: EXIF, XMP, comments and GPS never reach the stored file.
    upright.info = {}
    return upright, icc_profile


def _unreadable(kind):
    return Refused(
        _("gambar rusak atau tidak dapat dibaca sebagai %(kind)s.") % {"kind": kind.label}
    )


def _process_image(data, kind):
    """(stored bytes, stored Pillow format) of an uploaded image."""
    try:
        stored, icc_profile = _read_image(data, kind)
        # In place: the full-size pixels are not kept beside the scaled copy.
        stored.thumbnail((STORED_LONG_SIDE, STORED_LONG_SIDE), Image.Resampling.LANCZOS)
        stored_bytes = _encode(stored, kind.store_as, icc_profile)
    except Refused:
        raise
    except Image.DecompressionBombError:
        raise Refused(_("gambar terlalu besar untuk diproses.")) from None
    except Exception as error:
        # Decoders raise many kinds of errors on hostile or broken input; all mean "unreadable".
        logger.info("Unreadable %s upload: %r", kind.label, error)
        raise _unreadable(kind) from None
    return stored_bytes, kind.store_as


def rendition_bytes(data):
    """The small JPEG (≤ RENDITION_LONG_SIDE) of a stored image, decoded with the same checks."""
    kind = sniff(data)
    if kind is None or not kind.is_image:
        raise _unreadable(kind or JPEG)
    try:
        image, _icc_profile = _read_image(data, kind)
        image.thumbnail((RENDITION_LONG_SIDE, RENDITION_LONG_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        _flatten(image).save(buffer, "JPEG", quality=80, optimize=True)
    except Refused:
        raise
    except Exception as error:
        logger.info("Unreadable stored %s image: %r", kind.label, error)
        raise _unreadable(kind) from None
    return buffer.getvalue()


# EXIF tags: the Exif IFD, DateTimeOriginal and its OffsetTimeOriginal (EXIF 2.31).
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
EXIF_DATE = re.compile(
    r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*([+-]\d{2}:\d{2})?\s*$"
)
EXIF_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")
EARLIEST_PHOTO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def exif_time(text, offset=""):
    """An EXIF date-time ("2026:05:14 09:41:07", its offset "+07:00" given apart as EXIF keeps it
    or at its end as the browser's queue sends it) as an aware moment, or None when it is not one or is implausible (before 2000, or tomorrow or later).

    EXIF times carry no zone unless OffsetTimeOriginal says it: a camera's clock shows local
    time, read here in the office's zone (Jakarta)."""
    match = EXIF_DATE.match(str(text or ""))
    if match is None:
        return None
    *parts, written_offset = match.groups()
    try:
        naive = datetime.datetime(*(int(part) for part in parts))
    except ValueError:
        return None
    zone_match = EXIF_OFFSET.match(str(offset or written_offset or ""))
    if zone_match is not None:
        sign, hours, minutes = zone_match.groups()
        delta = datetime.timedelta(hours=int(hours), minutes=int(minutes))
        if delta > datetime.timedelta(hours=14):
            return None
        moment = naive.replace(tzinfo=datetime.timezone(-delta if sign == "-" else delta))
    else:
        moment = timezone.make_aware(naive)
    if not EARLIEST_PHOTO <= moment <= timezone.now() + datetime.timedelta(days=1):
        return None
    return moment


def photo_taken_at(data):
    """When a photo was taken, from its EXIF DateTimeOriginal (the file's own bytes, read before
    the re-encoding strips the metadata), or None when the file does not say."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            # The EXIF block the header gave, never `getexif()`: for some formats (PNG) that
            # decodes the whole picture, before its size was checked. Cameras write JPEG, HEIC.
            raw = image.info.get("exif") if image.format in ("JPEG", "MPO", "HEIF") else None
            if not raw:
                return None
            exif = Image.Exif()
            exif.load(raw)
            exif = exif.get_ifd(EXIF_IFD)
    except Exception:
        # No EXIF, or EXIF a decoder cannot read: the photo simply has no taken-at time.
        return None
    text, offset = exif.get(DATE_TIME_ORIGINAL), exif.get(OFFSET_TIME_ORIGINAL)
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    return exif_time(text, offset)


def _validate_one(upload, caption, taken_at=None, client_id=None):
    name = PurePath(upload.name or "").name or "berkas"
    limit = max_file_bytes()
    if upload.size is not None and upload.size > limit:
        raise Refused(
            _("ukurannya %(size)s, melebihi batas %(limit)s per berkas.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
        )
    upload.seek(0)
    # Read one byte past the limit: the declared size of an upload is not proof of its length.
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise Refused(
            _("ukurannya melebihi batas %(limit)s per berkas.") % {"limit": filesizeformat(limit)}
        )
    if not data:
        raise Refused(_("berkasnya kosong."))
    kind = sniff(data)
    if kind is None:
        raise Refused(
            _("jenis berkas tidak diterima. Yang diterima: %(kinds)s.")
            % {"kinds": allowed_labels()}
        )
    extension = PurePath(name).suffix.lower()
    expected = IMAGE_EXTENSIONS if kind.is_image else kind.extensions
    if extension not in expected:
        raise Refused(
            _(
                "nama berkas berakhiran “%(extension)s”, tetapi isinya %(kind)s. "
                "Unggah berkas asli dengan nama yang sesuai isinya."
            )
            % {"extension": extension or _("(tanpa akhiran)"), "kind": kind.label}
        )
    if kind is PDF and b"%%EOF" not in data[-2048:]:
        raise Refused(_("berkas PDF terpotong atau rusak."))
    if kind is PDF:
        _refuse_active_pdf(data)
    content_type = kind.content_type
    if kind.is_image:
        # The file's own time first (the re-encoding below drops it), else the time the
        # browser's queue read from it before it made its smaller copy.
        taken_at = photo_taken_at(data) or taken_at
        data, image_format = _process_image(data, kind)
        content_type = CONTENT_TYPE_BY_FORMAT[image_format]
    return ValidUpload(
        name=name[:255],
        content_type=content_type,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        caption=(caption or "").strip()[:CAPTION_MAX_LENGTH],
        taken_at=taken_at if kind.is_image else None,
        client_id=client_id,
    )


def client_uuid(value):
    """A client-generated id (a UUID in text) as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(str(value or "").strip())
    except ValueError:
        return None


def validate_uploads(files, captions=(), client_ids=(), taken_ats=()):
    """Check every file by content and size; return them ready to store, or refuse them all.

    `captions`, if given, pairs a caption with each file in order; so do `client_ids` (the ids
    the browser's offline queue gave the files: a file whose id came before in the same list
    is the same file sent twice and is left out) and `taken_ats` (the EXIF DateTimeOriginal the
    browser read before it made its smaller copy, used when the file itself has none).
    """
    files = [upload for upload in files if upload is not None]
    if not files:
        return []
    captions = list(captions) + [""] * len(files)
    ids = [client_uuid(value) for value in client_ids] + [None] * len(files)
    times = [exif_time(value) for value in taken_ats] + [None] * len(files)
    seen, kept = set(), []
    for position, upload in enumerate(files):
        if ids[position] is not None and ids[position] in seen:
            continue
        seen.add(ids[position])
        kept.append((upload, captions[position], ids[position], times[position]))
    files = [upload for upload, *_rest in kept]
    errors = []
    total = sum(upload.size or 0 for upload in files)
    if total > max_step_bytes():
        errors.append(
            _("Jumlah ukuran lampiran %(size)s melebihi batas %(limit)s per langkah.")
            % {"size": filesizeformat(total), "limit": filesizeformat(max_step_bytes())}
        )
    valid = []
    for upload, caption, client_id, taken_at in kept:
        try:
            valid.append(_validate_one(upload, caption, taken_at, client_id))
        except Refused as refusal:
            name = PurePath(upload.name or "").name or _("(tanpa nama)")
            errors.append(
                _("“%(name)s” ditolak: %(reason)s") % {"name": name, "reason": refusal.args[0]}
            )
    if errors:
        raise ValidationError(errors, code="upload")
    return valid


def _stored_name(upload):
    stem = slugify(PurePath(upload.name).stem)[:60] or "berkas"
    # The hash prefix makes names unguessable and keeps two "IMG_0001.jpg" apart.
    return f"{upload.sha256[:16]}-{stem}"


# The files written by the transition running in this context, so that they can be removed
# again if its transaction rolls back after they were written.
_written_by_transition = contextvars.ContextVar("written_by_transition", default=None)


@contextlib.contextmanager
def removed_on_failure():
    """Files stored inside the block are deleted again if the block raises.

    Wrapped around a transition's transaction: the database forgets the attachments on a
    rollback, and without this their files would stay in storage with nothing pointing at them.
    """
    written = []
    token = _written_by_transition.set(written)
    try:
        yield
    except BaseException:
        _delete(written)
        raise
    finally:
        _written_by_transition.reset(token)


def _delete(field_files):
    for field_file in field_files:
        try:
            field_file.storage.delete(field_file.name)
        except OSError:
            logger.warning("Could not remove %s after a failed transition", field_file.name)


def store(run, step_run, uploads, actor, at):
    """Write `uploads` for `step_run`; called inside the transition's transaction.

    A storage failure (disk full, object store down) becomes a `WorkflowError`, so the whole
    transition rolls back with a message; the files this call already wrote are removed.
    """
    stored = []
    written = _written_by_transition.get()
    written = [] if written is None else written
    try:
        for upload in uploads:
            stored.append(_store_one(run, step_run, upload, actor, at, written))
    except OSError:
        logger.exception("Could not store attachments of step run %s", step_run.pk)
        _delete(written)
        written.clear()
        raise Unavailable(
            _("Lampiran tidak dapat disimpan, jadi langkah ini belum tercatat. Coba lagi.")
        ) from None
    return stored


def _store_one(run, step_run, upload, actor, at, written):
    attachment = Attachment(
        step_run=step_run,
        original_name=upload.name,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        caption=upload.caption,
        uploaded_by=actor.user,
        uploaded_at=at,
        taken_at=upload.taken_at,
        client_id=upload.client_id,
    )
    base = _stored_name(upload)
    attachment.file.save(base + upload.extension, ContentFile(upload.data), save=False)
    written.append(attachment.file)
    attachment.save()
    if attachment.is_image:
        enqueue_on_commit(make_rendition, attachment.pk)
    events.record(
        Event.Kind.ATTACHED,
        actor=actor,
        at=at,
        run=run,
        step_run=step_run,
        after={
            "attachment": attachment.pk,
            "name": attachment.original_name,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "sha256": attachment.sha256,
        }
        | ({"taken_at": attachment.taken_at.isoformat()} if attachment.taken_at else {})
        | ({"client_id": str(attachment.client_id)} if attachment.client_id else {}),
    )
    return attachment


@task()
@retried
def make_rendition(attachment_id):
    """The storage name of the small JPEG of image attachment `attachment_id`, made once.

    Idempotent: an attachment that has its rendition is left alone, and when two workers make
    it at once, the first to record it wins and the other's file is removed again. None for an
    attachment that is gone or is not an image.
    """
    attachment = Attachment.objects.select_related("step_run").filter(pk=attachment_id).first()
    if attachment is None or not attachment.is_image:
        return None
    if attachment.rendition:
        return attachment.rendition.name
    with attachment.file.open("rb") as source:
        small = rendition_bytes(source.read())
    stem = PurePath(attachment.file.name).stem
    attachment.rendition.save(stem + ".jpg", ContentFile(small), save=False)
    name = attachment.rendition.name
    recorded = Attachment.objects.filter(pk=attachment_id, rendition="").update(rendition=name)
    if not recorded:
        attachment.rendition.storage.delete(name)
        return Attachment.objects.get(pk=attachment_id).rendition.name
    return name


def ensure_renditions(run_id):
    """Make every missing rendition of run `run_id`'s photos now (before its final laporan)."""
    missing = Attachment.objects.filter(
        step_run__run_id=run_id, content_type__startswith="image/", rendition=""
    ).values_list("pk", flat=True)
    return [make_rendition.call(pk) for pk in missing]


@task()
def clean_orphan_files():
    """Remove stored files no row refers to, once a day old (manage.py clean_orphan_files)."""
    call_command("clean_orphan_files")
