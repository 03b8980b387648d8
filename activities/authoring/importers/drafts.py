"""From an upload to a draft: which reader a file needs, and writing what it read as a new draft
version with its review notes (nothing is activated)."""

import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from activities.authoring import steps
from activities.authoring.definitions import (
    EXPORT_FORMAT,
    SopFileError,
    check_steps,
    clear_contents,
    load_sop,
    saved_specs,
    shape_errors,
)
from activities.authoring.importers.common import (
    ImportedSop,
    ImportRefused,
    check_size,
    near_roles,
)
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


class DraftExists(Exception):
    """The imported SOP already has an open draft in the unit: replace it or add a version?"""

    def __init__(self, draft: Sop) -> None:
        super().__init__(draft.pk)
        self.draft = draft


# What replacing a draft keeps of it: its place among the versions and what it froze.
_KEPT_ON_REPLACE = frozenset(
    {"id", "unit", "version", "status", "previous", "role_names", "created_at", "updated_at"}
)


def _unit_roles(imported: ImportedSop, unit) -> tuple[dict[str, Role], list[str]]:
    """{lower-case name: role} of the unit, with the roles the document's columns name that the
    unit lacks proposed (`Role.proposed`: no list of the unit offers them until the draft is
    approved); and the names proposed. A proposal of an earlier draft is used again."""
    roles = {role.name.lower(): role for role in unit.roles.all()}
    new_roles = []
    position = max((role.position for role in roles.values()), default=0)
    for name in imported.columns:
        if name and name.lower() not in roles:
            position += 1
            roles[name.lower()] = Role.objects.create(
                unit=unit, name=name, position=position, proposed=True
            )
        if name and roles[name.lower()].proposed and name not in new_roles:
            new_roles.append(name)
    return roles, new_roles


def _proposal_notes(sop: Sop, written: dict, new_roles: list[str], noted: set) -> list[ReviewNote]:
    """Review notes on the roles the draft proposes: one for the SOP naming each with the
    unit's roles of a near name, and one on each step it performs that has no roles note."""
    if not new_roles:
        return []
    live = list(Role.objects.live().filter(unit=sop.unit_id))
    near = {name: [role.name for role in near_roles(name, live)] for name in new_roles}
    described = []
    for name in new_roles:
        if near[name]:
            described.append(
                _("%(name)s (mirip jabatan unit: %(near)s)")
                % {"name": name, "near": ", ".join(near[name])}
            )
        else:
            described.append(name)
    notes = [
        ReviewNote(
            sop=sop,
            step=None,
            field="roles",
            message=_(
                "Jabatan yang belum ada di unit kerja diusulkan draf ini dan baru dibuat bila "
                "draf disahkan: %(roles)s. Bila sama dengan jabatan unit yang ada, pilih jabatan "
                "itu di tabel langkah."
            )
            % {"roles": "; ".join(described)},
        )
    ]
    for step in written.values():
        if (step.pk, "roles") in noted:
            continue
        for role in step.roles.all():
            if role.name in near and near[role.name]:
                notes.append(
                    ReviewNote(
                        sop=sop,
                        step=step,
                        field="roles",
                        message=_(
                            "Pelaksana %(name)s belum ada di unit kerja (diusulkan); mirip "
                            "jabatan unit %(near)s: pilih itu bila sama."
                        )
                        % {"name": role.name, "near": ", ".join(near[role.name])},
                    )
                )
                noted.add((step.pk, "roles"))
                break
    return notes


def _drop_unused_proposals(unit) -> None:
    """Delete the unit's proposed roles no step uses any more (a replaced draft's)."""
    unused = Role.objects.filter(unit=unit, proposed=True, steps__isnull=True, members__isnull=True)
    for role in unused:
        try:
            role.delete()
        except ProtectedError:
            pass


def _identity(imported: ImportedSop, unit) -> Sop:
    """An unsaved draft of `unit` with the identity the document states."""
    name = (imported.fields.get("name") or "").strip() or _("SOP hasil impor")
    name = name[: Sop._meta.get_field("name").max_length]
    fields = {}
    for key, value in imported.fields.items():
        if key == "name":
            continue
        limit = Sop._meta.get_field(key).max_length
        fields[key] = str(value)[:limit] if limit else value
    sop = Sop(unit=unit, name=name, status=Sop.Status.DRAFT, **fields)
    sop.clean()
    return sop


def open_draft(imported: ImportedSop, unit) -> Sop | None:
    """The open draft (`SopQuerySet.open_drafts`) of the imported SOP in `unit`: the same
    number, or the same name when the document states no number."""
    sop = _identity(imported, unit)
    drafts = Sop.objects.open_drafts().filter(unit=unit)
    drafts = (
        drafts.filter(number=sop.number) if sop.number.strip() else drafts.filter(name=sop.name)
    )
    return drafts.order_by("-updated_at", "-pk").first()


@transaction.atomic
def create_draft(imported: ImportedSop, unit) -> tuple[Sop, list[str]]:
    """A new draft version of the imported SOP in `unit`, with its notes; returns
    (sop, new role names). Roles named by the document's columns that the unit lacks are
    added to the unit. Nothing is activated."""
    roles, new_roles = _unit_roles(imported, unit)
    sop = _identity(imported, unit)
    latest = Sop.objects.filter(unit=unit, name=sop.name).order_by("-version").first()
    sop.version = latest.version + 1 if latest else 1
    sop.previous = Sop.objects.filter(unit=unit, name=sop.name, status=Sop.Status.ACTIVE).first()
    sop.save()
    _write_contents(sop, imported, roles, new_roles)
    return sop, new_roles


def _locked_open_draft(draft: Sop) -> Sop:
    """`draft` locked, refused when it is no longer an open draft."""
    sop = Sop.objects.open_drafts().select_for_update().filter(pk=draft.pk).first()
    if sop is None:
        raise ImportRefused(
            _(
                "Draf versi %(version)s sudah diajukan, berlaku atau dihapus, jadi tidak dapat "
                "diganti. Tidak ada yang disimpan; impor lagi untuk menyimpannya sebagai draf baru."
            )
            % {"version": draft.version}
        )
    return sop


@transaction.atomic
def replace_draft(imported: ImportedSop, draft: Sop) -> tuple[Sop, list[str]]:
    """Write the imported SOP over the open draft `draft`: the same row and version number,
    its identity, sections, steps and review notes all from the document; returns
    (sop, new role names). Refused when the draft is no longer open."""
    sop = _locked_open_draft(draft)
    fresh = _identity(imported, sop.unit)
    taken = Sop.objects.filter(unit=sop.unit_id, name=fresh.name, version=sop.version)
    if taken.exclude(pk=sop.pk).exists():
        raise ImportRefused(
            _(
                "Nama SOP di berkas ini (%(name)s) sudah dipakai versi %(version)s yang lain; "
                "simpan sebagai draf baru."
            )
            % {"name": fresh.name, "version": sop.version}
        )
    roles, new_roles = _unit_roles(imported, sop.unit)
    for field in Sop._meta.concrete_fields:
        if field.name not in _KEPT_ON_REPLACE:
            setattr(sop, field.attname, getattr(fresh, field.attname))
    sop._change_reason = "Diganti dengan isi berkas impor"
    sop.save()
    clear_contents(sop)
    _write_contents(sop, imported, roles, new_roles)
    _drop_unused_proposals(sop.unit)
    return sop, new_roles


def _write_contents(
    sop: Sop, imported: ImportedSop, roles: dict[str, Role], new_roles: list[str]
) -> None:
    """The sections, steps and review notes of the imported SOP, written into `sop`."""
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
    noted = {(n.step_id, n.field) for n in notes}
    notes += _proposal_notes(sop, written, new_roles, noted)
    notes += _rule_notes(sop, noted)
    ReviewNote.objects.bulk_create(notes)


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


def _parse_json(data):
    """The parsed sopflow JSON export in `data`; refused when it is not one."""
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
    errors = shape_errors(parsed)
    if errors:
        raise ImportRefused("; ".join(errors[:20]))
    return parsed


def json_open_draft(parsed, unit) -> Sop | None:
    """The open draft of the SOP a JSON export holds, in `unit`: the same number, or the same
    name when it states no number (as `open_draft`)."""
    sop = parsed.get("sop")
    if not isinstance(sop, dict) or not isinstance(sop.get("name"), str):
        return None  # load_sop refuses it with its message
    number = str(sop.get("number") or "").strip()
    drafts = Sop.objects.open_drafts().filter(unit=unit)
    drafts = drafts.filter(number=number) if number else drafts.filter(name=sop["name"])
    return drafts.order_by("-updated_at", "-pk").first()


@transaction.atomic
def _load_json(parsed, unit, draft: Sop | None) -> Sop:
    try:
        into = _locked_open_draft(draft) if draft is not None else None
        sop, _created = load_sop(parsed, unit=unit, as_draft=True, into=into)
    except SopFileError as error:
        raise ImportRefused(str(error)) from None
    return sop


@dataclass
class ImportResult:
    sop: Sop
    new_roles: list
    notes: int
    replaced: bool = False


def import_source(
    unit, *, data=None, text=None, replace: int | None = None, as_new: bool = False
) -> ImportResult:
    """Import one upload (bytes) or pasted text into `unit` as a draft; all or nothing.

    When the document is an SOP that already has an open draft in `unit`, the caller decides:
    `replace` (that draft's id) writes the document over it, `as_new` adds a version as any
    other import does; with neither, `DraftExists` is raised and nothing is written.
    """
    parsed = None
    if text is not None:
        imported = read_text(text, list(unit.roles.all()))
    elif data and data.lstrip()[:1] == b"{":
        check_size(len(data))
        parsed = _parse_json(data)
    else:
        imported = read_upload(data, list(unit.roles.all()))
    if parsed is not None:
        draft = None if as_new else json_open_draft(parsed, unit)
    else:
        draft = None if as_new else open_draft(imported, unit)
    if draft is None and replace is not None:
        raise ImportRefused(
            _("Draf yang hendak diganti sudah tidak terbuka. Tidak ada yang disimpan.")
        )
    if draft is not None and replace is None:
        raise DraftExists(draft)
    if draft is not None and draft.pk != replace:
        raise ImportRefused(_("Draf SOP ini berubah sejak pertanyaan tadi; impor lagi."))
    if parsed is not None:
        sop, new_roles = _load_json(parsed, unit, draft), []
    elif draft is not None:
        sop, new_roles = replace_draft(imported, draft)
    else:
        sop, new_roles = create_draft(imported, unit)
    return ImportResult(sop, new_roles, sop.review_notes.count(), replaced=draft is not None)


# Writing the official layout ------------------------------------------------------------------
