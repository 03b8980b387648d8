"""The kop surat of a unit as one data object, for every document that prints it.

`Letterhead.for_unit(unit)` holds what `templates/reports/_letterhead.html` prints: the emblem,
the government and unit lines as the unit writes them, address, telephone, e-mail, website and
the rule under it, plus the signatory of the unit. A unit without an emblem gets the same kop
with its text centred over the whole width.
"""

import base64
import io
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from activities.documents import pdf

EMBLEM_MAX_BYTES = 1024 * 1024
# Elements and attributes an emblem's SVG may not carry: no scripts, no embedded HTML, nothing
# fetched from elsewhere (WeasyPrint would try, and a browser would run scripts).
SVG_FORBIDDEN_TAGS = {"script", "foreignObject", "iframe", "embed", "object", "image", "use"}
SVG_HREF = ("href", "{http://www.w3.org/1999/xlink}href")


def _city(parent_name):
    """“Pemerintah Kota Tangerang” → “Tangerang”, for the place line above the signature."""
    name = parent_name.strip()
    for prefix in ("Pemerintah ", "Kota ", "Kabupaten "):
        name = name.removeprefix(prefix)
    return name


def _svg_problem(data):
    text = data.decode("utf-8", errors="replace")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        return _("SVG lambang tidak boleh memuat DOCTYPE atau ENTITY.")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return _("Berkas SVG lambang tidak dapat dibaca.")
    if root.tag.rsplit("}", 1)[-1] != "svg":
        return _("Berkas lambang bukan gambar SVG.")
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] in SVG_FORBIDDEN_TAGS:
            return _("SVG lambang tidak boleh memuat skrip, gambar luar atau elemen tertanam.")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local.lower().startswith("on"):
                return _("SVG lambang tidak boleh memuat skrip.")
            if name in SVG_HREF and not value.startswith("#"):
                return _("SVG lambang tidak boleh merujuk ke berkas lain.")
            if "url(" in value and "url(#" not in value.replace(" ", ""):
                return _("SVG lambang tidak boleh merujuk ke berkas lain.")
    return None


def emblem_kind(data):
    """ "png", "jpeg" or "svg" from the content, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return "svg"
    return None


def check_emblem(file):
    """Refuse an emblem that is too large, not a PNG/JPEG/SVG by its content, or unsafe."""
    if file.size is not None and file.size > EMBLEM_MAX_BYTES:
        raise ValidationError(_("Lambang paling besar 1 MB."), code="size")
    file.seek(0)
    data = file.read()
    file.seek(0)
    kind = emblem_kind(data)
    if kind is None:
        raise ValidationError(_("Lambang harus berupa gambar PNG, JPEG atau SVG."), code="type")
    if kind == "svg":
        problem = _svg_problem(data)
        if problem:
            raise ValidationError(problem, code="svg")
        return
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError(
            _("Gambar lambang rusak atau tidak dapat dibaca."), code="image"
        ) from None


MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}


def emblem_data_uri(field_file):
    """The emblem as a data: URI for web pages (the CSP allows data: images), or ""."""
    if not field_file:
        return ""
    try:
        with field_file.storage.open(field_file.name, "rb") as handle:
            data = handle.read(EMBLEM_MAX_BYTES + 1)
    except OSError:
        return ""
    kind = emblem_kind(data)
    if kind is None:
        return ""
    return f"data:{MIME_TYPES[kind]};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass
class Letterhead:
    government: str
    unit_lines: list = field(default_factory=list)
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    rule: str = "double"
    emblem_url: str = ""
    city: str = ""
    head_title: str = ""
    head_name: str = ""
    head_rank: str = ""
    head_nip: str = ""

    @classmethod
    def for_unit(cls, unit, *, web=False):
        """The unit's kop; `web=True` embeds the emblem for a page instead of a PDF."""
        lines = [line.strip() for line in unit.letterhead_name.splitlines() if line.strip()]
        if unit.emblem:
            emblem = emblem_data_uri(unit.emblem) if web else pdf.media_url(unit.emblem.name)
        else:
            emblem = ""
        return cls(
            government=unit.parent_name,
            unit_lines=lines or [unit.name],
            address=unit.address,
            phone=unit.phone,
            email=unit.email,
            website=unit.website,
            rule=unit.letterhead_rule,
            emblem_url=emblem,
            city=_city(unit.parent_name),
            head_title=unit.head_title,
            head_name=unit.head_name,
            head_rank=unit.head_rank,
            head_nip=unit.head_nip,
        )

    @classmethod
    def for_government(cls, units=()):
        """The kop of a document over several units: the government, with the emblem the
        units print (the government's own)."""
        government = settings.SOPFLOW_PARENT_GOVERNMENT
        emblem = next((pdf.media_url(unit.emblem.name) for unit in units if unit.emblem), "")
        return cls(government=government, city=_city(government), emblem_url=emblem)

    @property
    def unit_name(self):
        return " ".join(self.unit_lines)

    @property
    def contact_lines(self):
        """The address; telephone and e-mail; the website: the lines that are known."""
        contact = []
        if self.phone:
            contact.append(f"{_('Telepon')} {self.phone}")
        if self.email:
            # Tata naskah dinas writes the e-mail address as "Pos-el".
            contact.append(f"{_('Pos-el')}: {self.email}")
        website = f"{_('Laman')}: {self.website}" if self.website else ""
        return [line for line in (self.address, " · ".join(contact), website) if line]

    @property
    def has_signatory(self):
        return bool(self.head_title and self.head_name)
