"""From an upload to a draft: which reader a file needs, and writing what it read as a new draft
version with its review notes (nothing is activated)."""

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from activities.authoring import steps
from activities.authoring.definitions import (
    EXPORT_FORMAT,
    SopFileError,
    check_steps,
    load_sop,
    saved_specs,
)
from activities.authoring.importers.common import ImportRefused, check_size
from activities.authoring.importers.docx import read_docx
from activities.authoring.importers.text import read_text
from activities.authoring.importers.xlsx import read_xlsx
from activities.core import uploads
from activities.models import ReviewNote, Role, Sop, SopItem


def read_upload(data, unit_roles=()):
    """An uploaded DOCX or XLSX, its type read from its content, never from its name."""
    if not data:
        raise ImportRefused(_("Berkas kosong."))
    check_size(len(data))
    try:
        kind = uploads.sniff(data)
    except uploads.Refused as error:
        raise ImportRefused(str(error)) from None
    if kind is uploads.DOCX:
        return read_docx(data, unit_roles)
    if kind is uploads.XLSX:
        return read_xlsx(data, unit_roles)
    if data.startswith(b"PK"):
        raise ImportRefused(_("Berkas rusak: isinya bukan dokumen DOCX atau XLSX yang utuh."))
    raise ImportRefused(
        _("Jenis berkas tidak didukung: unggah DOCX atau XLSX, atau tempel teks tabelnya.")
    )


@transaction.atomic
def create_draft(imported, unit):
    """A new draft version of the imported SOP in `unit`, with its notes; returns
    (sop, new role names). Roles named by the document's columns that the unit lacks are
    added to the unit. Nothing is activated."""
    roles = {role.name.lower(): role for role in unit.roles.all()}
    new_roles = []
    position = max((role.position for role in roles.values()), default=0)
    for name in imported.columns:
        if name and name.lower() not in roles:
            position += 1
            roles[name.lower()] = Role.objects.create(unit=unit, name=name, position=position)
            new_roles.append(name)
    name = (imported.fields.get("name") or "").strip() or _("SOP hasil impor")
    name = name[: Sop._meta.get_field("name").max_length]
    latest = Sop.objects.filter(unit=unit, name=name).order_by("-version").first()
    fields = {}
    for key, value in imported.fields.items():
        if key == "name":
            continue
        limit = Sop._meta.get_field(key).max_length
        fields[key] = str(value)[:limit] if limit else value
    sop = Sop(
        unit=unit,
        name=name,
        version=latest.version + 1 if latest else 1,
        status=Sop.Status.DRAFT,
        previous=Sop.objects.filter(unit=unit, name=name, status=Sop.Status.ACTIVE).first(),
        **fields,
    )
    sop.clean()
    sop.save()
    SopItem.objects.bulk_create(
        SopItem(sop=sop, section=section, position=position, text=text)
        for section, items in imported.sections.items()
        for position, text in enumerate(items, start=1)
    )
    numbers = frozenset(item.number for item in imported.steps)
    rows = [
        steps.imported_values(item, steps.ImportContext(roles, numbers, item.notes))
        for item in imported.steps
    ]
    written = steps.write_steps(sop, rows)
    notes = [
        ReviewNote(sop=sop, step=None, field=key, message=message)
        for key, message in imported.notes.items()
    ]
    notes += [
        ReviewNote(sop=sop, step=written[item.number], field=key, message=message)
        for item in imported.steps
        for key, message in item.notes.items()
    ]
    notes += _rule_notes(sop, {(n.step_id, n.field) for n in notes})
    ReviewNote.objects.bulk_create(notes)
    return sop, new_roles


def _rule_notes(sop: Sop, noted: set) -> list[ReviewNote]:
    """The step-table rules the draft still breaks, as notes on their cells."""
    notes = []
    for error in check_steps(sop.unit_id, saved_specs(sop)):
        step = error.row
        key = (step.pk if step else None, error.field or "steps")
        if key in noted:
            continue
        noted.add(key)
        notes.append(
            ReviewNote(sop=sop, step=step, field=error.field or "steps", message=error.message)
        )
    return notes


def _read_json(data, unit):
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
        has_nul = "\\u0000" in json.dumps(parsed)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(_("Berkas JSON tidak sah: %(msg)s") % {"msg": error}) from None
    except RecursionError:
        raise ImportRefused(
            _("Berkas JSON tidak sah: isinya bersarang terlalu dalam untuk sebuah ekspor SOP.")
        ) from None
    if has_nul:
        raise ImportRefused(_("Berkas JSON berisi karakter NUL."))
    if not isinstance(parsed, dict) or parsed.get("format") != EXPORT_FORMAT:
        raise ImportRefused(_("Berkas JSON ini bukan ekspor SOP sopflow."))
    try:
        sop, _created = load_sop(parsed, unit=unit, as_draft=True)
    except SopFileError as error:
        raise ImportRefused(str(error)) from None
    return sop


@dataclass
class ImportResult:
    sop: Sop
    new_roles: list
    notes: int


def import_source(unit, *, data=None, text=None):
    """Import one upload (bytes) or pasted text into `unit` as a new draft; all or nothing."""
    if text is not None:
        imported = read_text(text, list(unit.roles.all()))
    elif data and data.lstrip()[:1] == b"{":
        check_size(len(data))
        sop = _read_json(data, unit)
        return ImportResult(sop, [], 0)
    else:
        imported = read_upload(data, list(unit.roles.all()))
    sop, new_roles = create_draft(imported, unit)
    return ImportResult(sop, new_roles, sop.review_notes.count())


# Writing the official layout ------------------------------------------------------------------
