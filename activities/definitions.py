"""SOP definitions: the rules a step table must keep, and the loader for SOP files.

The same rules guard the admin (through the step inline's formset) and the loader, so an SOP
that breaks them never reaches the database either way.
"""

import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from activities import durations
from activities.models import Role, Sop, SopItem, Step, Unit, duration_error_message
from activities.policy import ROLE_FLAGS


@dataclass(frozen=True)
class StepSpec:
    """What the rules need to know of one step, wherever it comes from."""

    number: int
    kind: str
    role_unit_ids: tuple
    return_to: int | None


def check_steps(unit_id, specs):
    """Messages for every rule the step table breaks; an empty list means it is sound."""
    errors = []
    if not specs:
        return [_("SOP harus memiliki paling sedikit satu langkah.")]
    numbers = sorted(spec.number for spec in specs)
    if numbers != list(range(1, len(specs) + 1)):
        errors.append(
            _("Nomor langkah harus berurutan 1 sampai %(count)s tanpa loncatan atau ganda.")
            % {"count": len(specs)}
        )
    starts = [spec.number for spec in specs if spec.kind == Step.Kind.START]
    ends = [spec.number for spec in specs if spec.kind == Step.Kind.END]
    if len(starts) != 1:
        errors.append(
            _("SOP harus memiliki tepat satu langkah Mulai (ditemukan %(n)s).") % {"n": len(starts)}
        )
    elif starts[0] != 1:
        errors.append(_("Langkah Mulai harus langkah nomor 1."))
    if len(ends) != 1:
        errors.append(
            _("SOP harus memiliki tepat satu langkah Selesai (ditemukan %(n)s).") % {"n": len(ends)}
        )
    elif ends[0] != max(numbers):
        errors.append(_("Langkah Selesai harus langkah terakhir."))
    for spec in sorted(specs, key=lambda s: s.number):
        if not spec.role_unit_ids:
            errors.append(_("Langkah %(n)s belum memiliki pelaksana.") % {"n": spec.number})
        elif any(unit != unit_id for unit in spec.role_unit_ids):
            errors.append(
                _("Pelaksana langkah %(n)s harus jabatan dari unit kerja SOP ini.")
                % {"n": spec.number}
            )
        if spec.kind == Step.Kind.DECISION:
            if spec.return_to is None:
                errors.append(
                    _("Langkah keputusan %(n)s harus memiliki langkah tujuan pengembalian.")
                    % {"n": spec.number}
                )
            elif spec.return_to >= spec.number:
                errors.append(
                    _("Langkah %(n)s hanya dapat dikembalikan ke langkah sebelumnya.")
                    % {"n": spec.number}
                )
        elif spec.return_to is not None:
            errors.append(
                _(
                    "Hanya langkah keputusan yang dapat memiliki tujuan pengembalian (langkah %(n)s)."
                )
                % {"n": spec.number}
            )
    return errors


class SopFileError(Exception):
    """An SOP file that cannot be loaded; the message says where and why."""


def _require(mapping, key, where):
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


@transaction.atomic
def load_sop(data):
    """Create or update the unit, roles and SOP of one SOP file; returns (sop, created).

    Idempotent: an SOP version that already exists is left as it is (it may have runs that are
    pinned to it), so loading the same file twice changes nothing.
    """
    unit_data = _require(data, "unit", "SOP")
    short_name = _require(unit_data, "short_name", "unit")
    unit, _created = Unit.objects.get_or_create(
        short_name=short_name,
        defaults={k: v for k, v in unit_data.items() if k != "short_name"},
    )
    roles = {}
    for position, role_data in enumerate(data.get("roles", []), start=1):
        name = _require(role_data, "name", "roles")
        capabilities = role_data.get("capabilities", [])
        unknown = sorted(set(capabilities) - set(ROLE_FLAGS.values()))
        if unknown:
            raise SopFileError(
                _("Jabatan %(name)s: kewenangan %(flags)s tidak dikenal (yang dikenal: %(known)s).")
                % {
                    "name": name,
                    "flags": ", ".join(unknown),
                    "known": ", ".join(ROLE_FLAGS.values()),
                }
            )
        # Capabilities are seeded when the role is created; afterwards the admin owns them.
        role, _created = Role.objects.get_or_create(
            unit=unit,
            name=name,
            defaults={
                "kind": role_data.get("kind", Role.Kind.MEMBER),
                "position": position,
                **{flag: True for flag in capabilities},
            },
        )
        roles[name] = role

    sop_data = _require(data, "sop", "SOP")
    name = _require(sop_data, "name", "sop")
    version = sop_data.get("version", 1)
    existing = Sop.objects.filter(unit=unit, name=name, version=version).first()
    if existing is not None:
        return existing, False

    steps_data = _require(data, "steps", "SOP")
    specs = []
    for index, step_data in enumerate(steps_data, start=1):
        where = _("langkah ke-%(n)s") % {"n": index}
        number = _require(step_data, "number", where)
        standard = _require(step_data, "standard", where)
        try:
            durations.parse(standard)
        except durations.DurationError as error:
            raise SopFileError(
                _("Langkah %(n)s: %(msg)s") % {"n": number, "msg": duration_error_message(error)}
            ) from None
        kind = step_data.get("kind", Step.Kind.PROCESS)
        if kind not in Step.Kind.values:
            raise SopFileError(
                _("Langkah %(n)s: simbol “%(kind)s” tidak dikenal.") % {"n": number, "kind": kind}
            )
        unknown = [r for r in step_data.get("roles", []) if r not in roles]
        if unknown:
            raise SopFileError(
                _("Langkah %(n)s: pelaksana %(roles)s tidak ada di daftar jabatan.")
                % {"n": number, "roles": ", ".join(unknown)}
            )
        specs.append(
            StepSpec(
                number=number,
                kind=kind,
                role_unit_ids=tuple(unit.pk for _r in step_data.get("roles", [])),
                return_to=step_data.get("return_to"),
            )
        )
    errors = check_steps(unit.pk, specs)
    if errors:
        raise SopFileError("; ".join(errors))

    fields = {k: v for k, v in sop_data.items() if k not in ("name", "version")}
    sop = Sop(unit=unit, name=name, version=version, **fields)
    try:
        sop.full_clean()
    except ValidationError as error:
        raise SopFileError("; ".join(error.messages)) from None
    sop.save()
    for section, lines in data.get("sections", {}).items():
        if section not in SopItem.Section.values:
            raise SopFileError(_("Bagian identitas “%(s)s” tidak dikenal.") % {"s": section})
        SopItem.objects.bulk_create(
            SopItem(sop=sop, section=section, position=position, text=text)
            for position, text in enumerate(lines, start=1)
        )
    by_number = {}
    for step_data in steps_data:
        step = Step.objects.create(
            sop=sop,
            number=step_data["number"],
            activity=step_data.get("activity", ""),
            kind=step_data.get("kind", Step.Kind.PROCESS),
            requirements=step_data.get("requirements", ""),
            standard_text=step_data["standard"],
            output=step_data.get("output", ""),
            remarks=step_data.get("remarks", ""),
        )
        step.roles.set([roles[name] for name in step_data.get("roles", [])])
        by_number[step.number] = step
    for step_data in steps_data:
        if step_data.get("return_to"):
            step = by_number[step_data["number"]]
            step.return_to = by_number[step_data["return_to"]]
            step.save(update_fields=["return_to"])
    return sop, True
