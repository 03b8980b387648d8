"""From an upload to a draft: which reader a file needs, and writing what it read as a new draft
version with its review notes (nothing is activated)."""

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from activities.authoring.definitions import (
    EXPORT_FORMAT,
    SopFileError,
    StepSpec,
    check_steps,
    load_sop,
    standard_error,
)
from activities.authoring.importers.common import MAX_BYTES, ImportRefused
from activities.authoring.importers.docx import read_docx
from activities.authoring.importers.text import read_text
from activities.authoring.importers.xlsx import read_xlsx
from activities.core import uploads
from activities.models import ReviewNote, Role, Sop, SopItem, Step


def read_upload(data, unit_roles=()):
    """An uploaded DOCX or XLSX, its type read from its content, never from its name."""
    if not data:
        raise ImportRefused(_("Berkas kosong."))
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("Berkas lebih dari 5 MB."))
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
    steps = {}
    standard_limit = Step._meta.get_field("standard_text").max_length
    for item in imported.steps:
        standard = item.standard[:standard_limit]
        if standard_error(standard):
            # A waktu that does not parse is kept in the note; the cell waits for a person.
            item.notes.setdefault("standard", standard_error(standard))
            item.notes["standard"] = f"{item.notes['standard']} ({_('tertulis')}: “{standard}”)"
            standard = "1 menit"
        step = Step.objects.create(
            sop=sop,
            number=item.number,
            activity=item.activity,
            kind=item.kind,
            requirements=item.requirements,
            standard_text=standard,
            output=item.output,
            remarks=item.remarks,
        )
        step.roles.set([roles[n.lower()] for n in item.roles if n.lower() in roles])
        steps[item.number] = step
    for item in imported.steps:
        target = steps.get(item.return_to)
        if target is not None and item.return_to < item.number:
            steps[item.number].return_to = target
            steps[item.number].save(update_fields=["return_to"])
        elif item.return_to is not None:
            item.notes.setdefault("return_to", _("Tujuan pengembalian tidak sah."))
    notes = [
        ReviewNote(sop=sop, step=None, field=key, message=message)
        for key, message in imported.notes.items()
    ]
    notes += [
        ReviewNote(sop=sop, step=steps[item.number], field=key, message=message)
        for item in imported.steps
        for key, message in item.notes.items()
    ]
    notes += _rule_notes(sop, steps, {(n.step_id, n.field) for n in notes})
    ReviewNote.objects.bulk_create(notes)
    return sop, new_roles


def _rule_notes(sop, steps, noted):
    """The step-table rules the draft still breaks, as notes on their cells."""
    specs = [
        StepSpec(
            number=step.number,
            kind=step.kind,
            role_unit_ids=tuple(role.unit_id for role in step.roles.all()),
            return_to=step.return_to.number if step.return_to_id else None,
            row=step,
        )
        for step in steps.values()
    ]
    notes = []
    for error in check_steps(sop.unit_id, specs):
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
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(_("Berkas JSON tidak sah: %(msg)s") % {"msg": error}) from None
    if "\\u0000" in json.dumps(parsed):
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
        if len(data) > MAX_BYTES:
            raise ImportRefused(_("Berkas lebih dari 5 MB."))
        sop = _read_json(data, unit)
        return ImportResult(sop, [], 0)
    else:
        imported = read_upload(data, list(unit.roles.all()))
    sop, new_roles = create_draft(imported, unit)
    return ImportResult(sop, new_roles, sop.review_notes.count())


# Writing the official layout ------------------------------------------------------------------
