"""SOP definitions: the rules a step table must keep, and the loader for SOP files.

The same rules guard every way an SOP is written: the admin (through the step inline's
formset), the SOP editor, the importers and the loader. `check_steps` reports every broken rule
at once, each tied to the row and cell it is about, so a form can show all of them together.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from activities.authoring import steps
from activities.authoring.steps import standard_error
from activities.core.policy import ROLE_FLAGS
from activities.models import Role, Sop, SopItem, Step, Unit
from activities.text import first_control_character

__all__ = ["standard_error"]


@dataclass(frozen=True)
class StepSpec:
    """What the rules need to know of one step, wherever it comes from.

    `row` names the step's row for the caller (a form index, a line of a file). `standard` is
    the waktu as written; it, `kind` and `role_unit_ids` are None when the caller has already
    reported that cell (a form field that did not validate).
    """

    number: int | None
    kind: str | None
    role_unit_ids: tuple | None
    return_to: int | None
    standard: str | None = None
    row: object = None
    # What a run does at the step; None: what the symbol has always meant (a decision approves).
    action: str | None = None
    # Who must complete it (`Step.Completion`), the quorum, and its parallel group.
    completion: str | None = None
    quorum: int | None = None
    parallel: int | None = None

    @property
    def approves(self) -> bool:
        action = Step.default_action(self.kind) if self.action is None else self.action
        return action == Step.Action.APPROVAL


def spec_of(values: steps.StepValues, row: object = None) -> StepSpec:
    """The rules' view of one step's declared values."""
    roles = values["roles"]
    return StepSpec(
        number=values["number"],
        kind=values["kind"],
        role_unit_ids=None if roles is None else tuple(role.unit_id for role in roles),
        return_to=values["return_to"],
        standard=values["standard"],
        row=row,
        action=values["action"],
        completion=values.get("completion"),
        quorum=values.get("quorum"),
        parallel=values.get("parallel"),
    )


def saved_specs(sop: Sop) -> list[StepSpec]:
    """The specs of an SOP's saved steps, each with its step as its row."""
    saved = steps.saved_steps(sop)
    return [
        spec_of(values, step)
        for step, values in zip(saved, steps.values_of_steps(saved), strict=True)
    ]


@dataclass(frozen=True)
class RuleError:
    """One broken rule: its message and, when it is about one cell, that row and field.

    Fields are the step's, as `steps.FIELDS` names them ("number", "kind", "roles", ...)."""

    message: str
    row: object = None
    field: str | None = None

    def __str__(self):
        return self.message


def _number_errors(specs):
    count = len(specs)
    seen, errors = set(), []
    for spec in specs:
        number = spec.number
        if number is None or not 1 <= number <= count or number in seen:
            errors.append(
                RuleError(
                    _(
                        "Nomor langkah harus berurutan 1 sampai %(count)s tanpa loncatan atau "
                        "ganda (nomor %(n)s)."
                    )
                    % {"count": count, "n": "–" if number is None else number},
                    spec.row,
                    "number",
                )
            )
        if number is not None:
            seen.add(number)
    return errors


def _terminal_errors(specs, kind, label_many, label_place, position):
    matching = [spec for spec in specs if spec.kind == kind]
    if len(matching) != 1:
        message = label_many % {"n": len(matching)}
        if not matching:
            return [RuleError(message)]
        return [RuleError(message, spec.row, "kind") for spec in matching]
    spec = matching[0]
    if spec.number is not None and spec.number != position:
        return [RuleError(label_place, spec.row, "kind")]
    return []


def check_steps(unit_id, specs):
    """Every rule the step table breaks, as `RuleError`s; an empty list means it is sound.

    The rules: at least one step; numbers 1…n, each once; exactly one Mulai, at number 1, and
    one Selesai, the last; every step has a pelaksana, all from the SOP's unit; an approval
    returns to an earlier step and only an approval has a return target; waktu parses.
    """
    if not specs:
        return [RuleError(_("SOP harus memiliki paling sedikit satu langkah."))]
    errors = _number_errors(specs)
    errors += _terminal_errors(
        specs,
        Step.Kind.START,
        _("SOP harus memiliki tepat satu langkah Mulai (ditemukan %(n)s)."),
        _("Langkah Mulai harus langkah nomor 1."),
        1,
    )
    errors += _terminal_errors(
        specs,
        Step.Kind.END,
        _("SOP harus memiliki tepat satu langkah Selesai (ditemukan %(n)s)."),
        _("Langkah Selesai harus langkah terakhir."),
        len(specs),
    )
    for spec in specs:
        n = "–" if spec.number is None else spec.number
        # None: the caller's own form has already reported that cell.
        if spec.kind is not None and spec.kind not in Step.Kind.values:
            errors.append(
                RuleError(
                    _("Langkah %(n)s: simbol “%(kind)s” tidak dikenal.")
                    % {"n": n, "kind": spec.kind},
                    spec.row,
                    "kind",
                )
            )
        if spec.role_unit_ids is None:
            pass
        elif not spec.role_unit_ids:
            errors.append(
                RuleError(
                    _("Langkah %(n)s belum memiliki pelaksana.") % {"n": n}, spec.row, "roles"
                )
            )
        elif any(unit != unit_id for unit in spec.role_unit_ids):
            errors.append(
                RuleError(
                    _("Pelaksana langkah %(n)s harus jabatan dari unit kerja SOP ini.") % {"n": n},
                    spec.row,
                    "roles",
                )
            )
        if spec.action is not None and spec.action not in Step.Action.values:
            errors.append(
                RuleError(
                    _("Langkah %(n)s: tindakan “%(action)s” tidak dikenal.")
                    % {"n": n, "action": spec.action},
                    spec.row,
                    "action",
                )
            )
        elif spec.approves:
            if spec.return_to is None:
                errors.append(
                    RuleError(
                        _("Langkah keputusan %(n)s harus memiliki langkah tujuan pengembalian.")
                        % {"n": n},
                        spec.row,
                        "return_to",
                    )
                )
            elif spec.number is not None and spec.return_to >= spec.number:
                errors.append(
                    RuleError(
                        _("Langkah %(n)s hanya dapat dikembalikan ke langkah sebelumnya.")
                        % {"n": n},
                        spec.row,
                        "return_to",
                    )
                )
        elif spec.return_to is not None:
            errors.append(
                RuleError(
                    _(
                        "Hanya langkah keputusan yang dapat memiliki tujuan pengembalian "
                        "(langkah %(n)s)."
                    )
                    % {"n": n},
                    spec.row,
                    "return_to",
                )
            )
        errors += _completion_errors(spec, n)
        if spec.standard is not None:
            message = standard_error(spec.standard)
            if message:
                errors.append(
                    RuleError(
                        _("Langkah %(n)s: %(msg)s") % {"n": n, "msg": message},
                        spec.row,
                        "standard",
                    )
                )
    return errors + _parallel_errors(specs)


def _completion_errors(spec, n):
    """A joint step names at least two roles (every role) or a quorum of two or more."""
    errors = []
    if spec.completion == Step.Completion.ALL and spec.role_unit_ids is not None:
        if len(spec.role_unit_ids) < 2:
            errors.append(
                RuleError(
                    _(
                        "Langkah %(n)s: “diselesaikan oleh semua pelaksana” memerlukan paling "
                        "sedikit dua pelaksana."
                    )
                    % {"n": n},
                    spec.row,
                    "completion",
                )
            )
    if spec.completion == Step.Completion.QUORUM and (spec.quorum or 0) < 2:
        errors.append(
            RuleError(
                _("Langkah %(n)s: kuorum harus diisi, paling sedikit 2 orang.") % {"n": n},
                spec.row,
                "quorum",
            )
        )
    if spec.completion != Step.Completion.QUORUM and spec.quorum is not None:
        errors.append(
            RuleError(
                _("Langkah %(n)s: kuorum hanya untuk langkah yang diselesaikan secara kuorum.")
                % {"n": n},
                spec.row,
                "quorum",
            )
        )
    return errors


def _parallel_errors(specs):
    """A parallel group is two or more consecutive steps between Mulai and Selesai."""
    numbered = sorted(
        (spec for spec in specs if spec.number is not None), key=lambda spec: spec.number
    )
    groups: dict[int, list[StepSpec]] = {}
    for spec in numbered:
        if spec.parallel is not None:
            groups.setdefault(spec.parallel, []).append(spec)
    errors = []
    for group, members in groups.items():
        numbers = [spec.number for spec in members]
        if len(members) < 2 or numbers != list(range(numbers[0], numbers[-1] + 1)):
            message = _(
                "Kelompok paralel %(group)s harus terdiri atas paling sedikit dua langkah "
                "yang berurutan (langkah %(numbers)s)."
            ) % {"group": group, "numbers": ", ".join(map(str, numbers))}
            errors += [RuleError(message, spec.row, "parallel") for spec in members]
        for spec in members:
            if spec.kind in (Step.Kind.START, Step.Kind.END):
                errors.append(
                    RuleError(
                        _("Langkah Mulai dan Selesai tidak dapat masuk kelompok paralel.")
                        + f" ({spec.number})",
                        spec.row,
                        "parallel",
                    )
                )
    return errors


class SopFileError(Exception):
    """An SOP file that cannot be loaded; the message says where and why."""


def _require(mapping, key, where):
    if not isinstance(mapping, dict):
        raise SopFileError(_("%(where)s harus berupa objek JSON.") % {"where": where})
    if key not in mapping or mapping[key] in (None, ""):
        raise SopFileError(_("%(where)s: “%(key)s” wajib diisi.") % {"where": where, "key": key})
    return mapping[key]


def read_sop_file(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise SopFileError(
            _("%(path)s bukan JSON yang sah (baris %(line)s): %(msg)s")
            % {"path": path, "line": error.lineno, "msg": error.msg}
        ) from None


# Sop fields an SOP file may set; the unit, the version chain and timestamps are the loader's.
# role_names holds database ids of one installation; a version written elsewhere starts afresh.
SOP_FILE_EXCLUDED = {
    "id",
    "unit",
    "previous",
    "created_at",
    "updated_at",
    "role_names",
    "klasifikasi",
}


def sop_file_fields():
    return [f.name for f in Sop._meta.concrete_fields if f.name not in SOP_FILE_EXCLUDED]


# The shape of an SOP file ----------------------------------------------------------------------
# Checked before anything is loaded, so that a value of the wrong type is a message naming its
# place, never an exception from the database. The types come from the models (and a step's
# from `steps.FIELDS`); the loader still checks what the values mean.

ROLE_FILE_KEYS = {"name", "kind", "capabilities", "reports_to"}


def _value_error(value: Any, field: models.Field, path: str) -> str | None:
    """What is wrong with `value` for a column like `field`, or None."""
    if value is None:
        if field.null:
            return None
        return _("%(path)s tidak boleh null.") % {"path": path}
    if isinstance(field, models.IntegerField):
        if isinstance(value, bool) or not isinstance(value, int):
            return _("%(path)s harus berupa bilangan bulat.") % {"path": path}
        return None
    return _text_error(value, path, field.max_length)


def _text_error(value: Any, path: str, limit: int | None = None) -> str | None:
    if not isinstance(value, str):
        return _("%(path)s harus berupa teks.") % {"path": path}
    if limit and len(value) > limit:
        return _("%(path)s lebih dari %(n)s karakter.") % {"path": path, "n": limit}
    character = first_control_character(value, multiline=True)
    if character:
        return _("%(path)s berisi karakter tak terlihat %(code)s yang tidak diizinkan.") % {
            "path": path,
            "code": f"U+{ord(character):04X}",
        }
    return None


def _object_errors(data: Any, path: str, fields: dict[str, models.Field]) -> list[str]:
    if not isinstance(data, dict):
        return [_("%(where)s harus berupa objek JSON.") % {"where": path}]
    errors = [
        _value_error(value, fields[key], f"{path}.{key}")
        for key, value in data.items()
        if key in fields
    ]
    return [error for error in errors if error]


def _text_list_errors(data: Any, path: str, limit: int | None = None) -> list[str]:
    if not isinstance(data, list):
        return [_("%(path)s harus berupa daftar teks.") % {"path": path}]
    errors = [_text_error(item, f"{path}[{n}]", limit) for n, item in enumerate(data)]
    return [error for error in errors if error]


def _role_errors(data: Any) -> list[str]:
    if not isinstance(data, list):
        return [_("%(path)s harus berupa daftar jabatan.") % {"path": "roles"}]
    errors, seen = [], set()
    fields = {"name": Role._meta.get_field("name"), "kind": Role._meta.get_field("kind")}
    for n, role in enumerate(data):
        path = f"roles[{n}]"
        errors += _object_errors(role, path, fields)
        if not isinstance(role, dict):
            continue
        unknown = sorted(set(role) - ROLE_FILE_KEYS)
        if unknown:
            errors.append(
                _("%(path)s: kunci tidak dikenal %(keys)s.")
                % {"path": path, "keys": ", ".join(unknown)}
            )
        if "capabilities" in role:
            errors += _text_list_errors(role["capabilities"], f"{path}.capabilities")
        if role.get("reports_to") is not None:
            errors += filter(None, [_text_error(role["reports_to"], f"{path}.reports_to")])
        name = role.get("name")
        if isinstance(name, str):
            if name in seen:
                errors.append(
                    _("%(path)s: jabatan “%(name)s” tertulis lebih dari sekali.")
                    % {"path": path, "name": name}
                )
            seen.add(name)
    return errors


def _steps_shape_errors(data: Any) -> list[str]:
    if not isinstance(data, list):
        return [_("“steps” harus berupa daftar langkah.")]
    errors = []
    for n, step in enumerate(data):
        if not isinstance(step, dict):
            continue  # the loader reports it with the step's number
        for f in steps.FIELDS:
            if f.structured:
                continue
            value, path = step.get(f.key), f"steps[{n}].{f.key}"
            if isinstance(value, str):
                errors.append(_text_error(value, path, steps.max_length(f.attribute)))
            elif isinstance(value, list):
                errors += _text_list_errors(value, path)
    return [error for error in errors if error]


def shape_errors(data: Any) -> list[str]:
    """Every place where an SOP file (what `export_sop` writes) has a value of the wrong shape:
    the wrong type, null where the model has no null, text too long or with invisible
    control characters, a role named twice. Empty when the file can be loaded safely."""
    if not isinstance(data, dict):
        return [_("Berkas SOP harus berupa objek JSON.")]
    errors = []
    if "unit" in data:
        unit_fields = {
            f.name: f
            for f in Unit._meta.concrete_fields
            if f.name != "id" and not isinstance(f, models.FileField)
        }
        errors += _object_errors(data["unit"], "unit", unit_fields)
    errors += _role_errors(data.get("roles", []))
    if "sop" in data:
        fields = {name: Sop._meta.get_field(name) for name in sop_file_fields()}
        errors += _object_errors(data["sop"], "sop", fields)
    sections = data.get("sections", {})
    if isinstance(sections, dict):
        limit = SopItem._meta.get_field("text").max_length
        for key, lines in sections.items():
            errors += _text_list_errors(lines, f"sections.{key}", limit)
    if "steps" in data:
        errors += _steps_shape_errors(data["steps"])
    return errors


def _step_values(
    unit: Unit, roles: dict[str, Role], steps_data: list
) -> tuple[list[steps.StepValues], list[str]]:
    """(values, errors) of the file's steps: every problem of every step, not just the first."""
    errors, rows, specs = [], [], []
    for index, step_data in enumerate(steps_data, start=1):
        if not isinstance(step_data, dict):
            errors.append(_("langkah ke-%(n)s harus berupa objek JSON.") % {"n": index})
            continue
        values, problems = steps.loaded(step_data, roles, steps.step_where(index, step_data))
        errors += problems
        rows.append(values)
        specs.append(spec_of(values, index))
    errors += [str(error) for error in check_steps(unit.pk, specs)]
    return rows, errors


def clear_contents(sop):
    """Delete the sections, steps and review notes of draft `sop`, to be written again."""
    sop.review_notes.all().delete()
    sop.sop_items.all().delete()
    # A step names another as its return target; unlink them so they can go in any order.
    sop.steps.update(return_to=None)
    sop.steps.all().delete()


@transaction.atomic
def load_sop(data, *, unit=None, as_draft=False, into=None):
    """Create the unit, roles and SOP of one SOP file; returns (sop, created).

    `into`: an open draft of `unit` (locked by the caller) written over instead: it keeps its
    row, version and previous version, and takes everything else from the file.

    Roles are named within the unit. Without `as_draft` it is idempotent: an SOP version that
    already exists is left as it is (it may have runs pinned to it), so loading the same file
    twice changes nothing. With `as_draft` (an import through the app) the SOP always becomes a
    new draft version in `unit` (or the file's unit), after the versions already there; nothing
    is activated. Every problem of the file is reported at once; nothing is written then.
    """
    errors = shape_errors(data)
    if errors:
        raise SopFileError("; ".join(errors[:20]))
    if unit is None:
        unit_data = _require(data, "unit", "SOP")
        short_name = _require(unit_data, "short_name", "unit")
        unit_fields = {f.name for f in Unit._meta.concrete_fields} - {"id", "short_name"}
        unit, _created = Unit.objects.get_or_create(
            short_name=short_name,
            defaults={k: v for k, v in unit_data.items() if k in unit_fields},
        )
    roles = {role.name: role for role in unit.roles.all()}
    for position, role_data in enumerate(data.get("roles", []), start=len(roles) + 1):
        name = _require(role_data, "name", "roles")
        if name not in roles:
            kind = role_data.get("kind", Role.Kind.MEMBER)
            if kind not in Role.Kind.values:
                raise SopFileError(_("Jenis jabatan “%(kind)s” tidak dikenal.") % {"kind": kind})
            capabilities = role_data.get("capabilities", [])
            unknown = sorted(set(capabilities) - set(ROLE_FLAGS.values()))
            if unknown:
                raise SopFileError(
                    _("Jabatan %(name)s: kewenangan %(flags)s tidak dikenal (dikenal: %(known)s).")
                    % {
                        "name": name,
                        "flags": ", ".join(map(str, unknown)),
                        "known": ", ".join(ROLE_FLAGS.values()),
                    }
                )
            # Capabilities are seeded when the role is created; afterwards the admin owns them.
            # A role an imported draft names is only proposed until the draft is approved.
            roles[name] = Role.objects.create(
                unit=unit,
                name=name,
                kind=kind,
                position=position,
                proposed=as_draft or into is not None,
                **{flag: True for flag in capabilities},
            )
    # Superiors (escalations go up this chain); a superior chosen in the admin is kept.
    for role_data in data.get("roles", []):
        superior = role_data.get("reports_to")
        role = roles[role_data["name"]]
        if superior and role.reports_to_id is None:
            if superior not in roles:
                raise SopFileError(
                    _("Atasan “%(superior)s” dari jabatan “%(role)s” tidak ada di daftar jabatan.")
                    % {"superior": superior, "role": role.name}
                )
            role.reports_to = roles[superior]
            role.save(update_fields=["reports_to"])

    sop_data = _require(data, "sop", "SOP")
    name = _require(sop_data, "name", "sop")
    unknown = sorted(set(sop_data) - set(sop_file_fields()))
    if unknown:
        raise SopFileError(
            _("Isian SOP tidak dikenal: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    fields = {k: v for k, v in sop_data.items() if k != "name"}
    previous = None
    if into is not None:
        previous = into.previous
        fields["version"] = into.version
        fields["status"] = Sop.Status.DRAFT
    elif as_draft:
        latest = Sop.objects.filter(unit=unit, name=name).order_by("-version").first()
        previous = Sop.objects.filter(unit=unit, name=name, status=Sop.Status.ACTIVE).first()
        fields["version"] = latest.version + 1 if latest else 1
        fields["status"] = Sop.Status.DRAFT
    else:
        existing = Sop.objects.filter(
            unit=unit, name=name, version=fields.get("version", 1)
        ).first()
        if existing is not None:
            return existing, False

    steps_data = _require(data, "steps", "SOP")
    if not isinstance(steps_data, list):
        raise SopFileError(_("“steps” harus berupa daftar langkah."))
    rows, errors = _step_values(unit, roles, steps_data)
    sections = data.get("sections", {})
    if not isinstance(sections, dict):
        errors.append(_("“sections” harus berupa objek JSON."))
        sections = {}
    for section in sections:
        if section not in SopItem.Section.values:
            errors.append(_("Bagian identitas “%(s)s” tidak dikenal.") % {"s": section})
    sop = Sop(unit=unit, name=name, previous=previous, **fields)
    if into is not None:
        sop.pk, sop.created_at, sop.role_names = into.pk, into.created_at, into.role_names
        # The same row: its own (unit, name, version) is not a clash.
        sop._state.adding = False
    try:
        sop.full_clean()
    except ValidationError as error:
        errors += error.messages
    if errors:
        raise SopFileError("; ".join(errors))
    if into is not None:
        sop._change_reason = "Diganti dengan isi berkas impor"
        sop.save(force_update=True)
        clear_contents(sop)
    else:
        sop.save()
    for section, lines in sections.items():
        SopItem.objects.bulk_create(
            SopItem(sop=sop, section=section, position=position, text=str(text))
            for position, text in enumerate(lines, start=1)
        )
    steps.write_steps(sop, rows)
    return sop, True


EXPORT_FORMAT = "sopflow-sop"


def export_sop(sop):
    """One SOP version as portable data: no database ids, roles by name within the unit.

    The result is what `load_sop` reads, so another installation can import it.
    """
    saved = sorted(sop.steps.all(), key=lambda step: step.number)
    used = {role.pk for step in saved for role in step.roles.all()}
    roles = [role for role in sop.unit.roles.all() if role.pk in used]
    # The emblem is an uploaded file, not data a JSON file carries.
    unit_fields = [
        f.name
        for f in Unit._meta.concrete_fields
        if f.name != "id" and f.get_internal_type() != "FileField"
    ]
    sections = {section: [] for section in SopItem.Section.values}
    for item in sorted(sop.sop_items.all(), key=lambda item: (item.section, item.position)):
        sections[item.section].append(item.text)
    return {
        "format": EXPORT_FORMAT,
        "format_version": 1,
        "unit": {name: getattr(sop.unit, name) for name in unit_fields},
        "roles": [{"name": role.name, "kind": role.kind} for role in roles],
        "sop": {name: getattr(sop, name) for name in sop_file_fields()},
        "sections": sections,
        "steps": [steps.exported(values) for values in steps.values_of_steps(saved)],
    }
