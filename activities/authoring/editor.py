"""The SOP editor's logic: the step table as rows, its rules, the live preview, saving a draft.

The editor edits one draft version. The step table is a formset of rows; `check_table` runs the
one set of rules (`definitions.check_steps`) over all rows and puts every error on its row and
cell at once. `rearranged` adds, moves and removes rows of unsaved input (the buttons work
without JavaScript: the page is sent, rearranged and shown again, nothing saved).
`preview` lays the official matrix out from the input as it stands, valid or not, with the
same `sopdoc` layout the SOP page and the PDF use. `save_draft` writes it all in one
transaction and clears the review notes of the cells that were changed or confirmed.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from activities.authoring import sopdoc
from activities.authoring.definitions import StepSpec, check_steps
from activities.authoring.forms import IDENTITY_FIELDS, SECTION_FIELDS
from activities.core.errors import Stale
from activities.models import ReviewNote, Sop, SopItem, Step
from activities.time import durations

# Formset field of each rule field, and the review-note field of each formset field.
FORM_FIELDS = {
    "number": "number",
    "kind": "kind",
    "roles": "roles",
    "standard": "standard_text",
    "return_to": "return_number",
}
NOTE_FIELDS = {value: key for key, value in FORM_FIELDS.items()}
ROW_FIELDS = (
    "id",
    "number",
    "activity",
    "roles",
    "kind",
    "return_number",
    "requirements",
    "standard_text",
    "output",
    "remarks",
)


class DraftChanged(Stale):
    """The version stopped being a draft (submitted, activated) while it was being edited."""


def initial_rows(sop):
    """Formset initial data of the SOP's steps; a new SOP starts with a Mulai and a Selesai."""
    steps = sorted(sop.steps.all(), key=lambda step: step.number)
    if not steps:
        return [
            {"number": 1, "kind": Step.Kind.START, "roles": []},
            {"number": 2, "kind": Step.Kind.END, "roles": []},
        ]
    numbers = {step.pk: step.number for step in steps}
    return [
        {
            "id": step.pk,
            "number": step.number,
            "activity": step.activity,
            "roles": [role.pk for role in step.roles.all()],
            "kind": step.kind,
            "return_number": numbers.get(step.return_to_id),
            "requirements": step.requirements,
            "standard_text": step.standard_text,
            "output": step.output,
            "remarks": step.remarks,
        }
        for step in steps
    ]


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def raw_rows(formset):
    """The rows as sent, valid or not, in table order: {field: value} each."""
    rows = []
    for form in formset.forms:
        row = {name: form[name].value() for name in ROW_FIELDS}
        row["DELETE"] = bool(form["DELETE"].value()) if "DELETE" in form.fields else False
        row["roles"] = [_int(pk) for pk in (row["roles"] or []) if _int(pk) is not None]
        rows.append(row)
    return rows


def rearranged(rows, action):
    """Rows after an "add-N", "up-N", "down-N" or "add" action, numbered 1…n again.

    Return targets follow the step they point at, so moving a row keeps the decision's target.
    """
    rows = [dict(row) for row in rows]
    verb, _sep, index = action.partition("-")
    index = _int(index)
    if verb == "add":
        at = len(rows) if index is None else min(index + 1, len(rows))
        rows.insert(at, {"kind": Step.Kind.PROCESS, "roles": []})
    elif verb in ("up", "down") and index is not None and 0 <= index < len(rows):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    renumber = {}
    for position, row in enumerate(rows, start=1):
        old = _int(row.get("number"))
        if old is not None:
            renumber.setdefault(old, position)
        row["number"] = position
    for row in rows:
        target = _int(row.get("return_number"))
        row["return_number"] = renumber.get(target, target) if target is not None else None
    return rows


def check_table(unit, formset):
    """Every rule the table breaks, on its row's cell; returns the errors of no single row.

    Cells whose own field is already wrong (a kind not offered) are left to that message."""
    specs, forms = [], []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None) or {}
        if data.get("DELETE"):
            continue
        specs.append(
            StepSpec(
                number=data.get("number"),
                kind=None if "kind" in form.errors else data.get("kind"),
                role_unit_ids=None
                if "roles" in form.errors
                else tuple(role.unit_id for role in data.get("roles", [])),
                return_to=data.get("return_number"),
                standard=None if "standard_text" in form.errors else data.get("standard_text", ""),
                row=index,
            )
        )
        forms.append(form)
    general = []
    for error in check_steps(unit.pk, specs):
        if error.row is None:
            general.append(error.message)
        else:
            formset.forms[error.row].add_error(FORM_FIELDS[error.field], error.message)
    return general


# The preview ----------------------------------------------------------------------------------


class _Roles(list):
    def all(self):
        return self


@dataclass
class PreviewStep:
    """What `sopdoc.build` reads of a step, from input that is not saved (and may be wrong)."""

    pk: int
    number: int
    kind: str
    activity: str
    requirements: str
    output: str
    remarks: str
    standard_text: str
    roles: _Roles = field(default_factory=_Roles)
    return_to_id: int | None = None

    @property
    def standard_display(self):
        return " ".join(self.standard_text.split())

    @property
    def standard(self):
        try:
            return durations.parse(self.standard_text)
        except durations.DurationError:
            return None


def preview(sop, identity_data, rows, roles):
    """(document, sop-like object) of the matrix as the input stands, for `reports/_sop_*`."""
    by_pk = {role.pk: role for role in roles}
    kinds = set(Step.Kind.values)
    steps = []
    live = [row for row in rows if not row.get("DELETE")]
    for position, row in enumerate(live, start=1):
        steps.append(
            PreviewStep(
                pk=-position,
                number=_int(row.get("number")) or position,
                kind=row.get("kind") if row.get("kind") in kinds else Step.Kind.PROCESS,
                activity=str(row.get("activity") or ""),
                requirements=str(row.get("requirements") or ""),
                output=str(row.get("output") or ""),
                remarks=str(row.get("remarks") or ""),
                standard_text=str(row.get("standard_text") or ""),
                roles=_Roles(by_pk[pk] for pk in row.get("roles", []) if pk in by_pk),
            )
        )
    by_number = {step.number: step for step in steps}
    for step, row in zip(steps, live, strict=True):
        target = by_number.get(_int(row.get("return_number")))
        step.return_to_id = target.pk if target else None
    shown = Sop(unit=sop.unit, version=sop.version, status=sop.status)
    for name in IDENTITY_FIELDS:
        setattr(shown, name, str(identity_data.get(name) or getattr(sop, name)))
    sections = {
        section: [line.strip() for line in str(identity_data.get(name) or "").splitlines()]
        for name, section, _label in SECTION_FIELDS
    }
    # An unsaved Sop has no items to read and may hold a waktu that does not parse yet.
    shown.items = lambda section: [line for line in sections.get(section, []) if line]
    shown.standard_total_display = lambda steps=None: durations.format_total(
        *durations.total(s.standard for s in (steps or []) if s.standard is not None)
    )
    return sopdoc.build(shown, steps), shown


def identity_values(sop, identity_form):
    """The identity input as sent, falling back to the stored values on a first view."""
    if identity_form.is_bound:
        return {name: identity_form[name].value() for name in identity_form.fields}
    values = {name: getattr(sop, name) for name in IDENTITY_FIELDS}
    values.update({name: identity_form.initial.get(name, "") for name, *_rest in SECTION_FIELDS})
    return values


# Saving ---------------------------------------------------------------------------------------


def _step_values(step):
    return {
        "number": step.number,
        "kind": step.kind,
        "roles": sorted(role.pk for role in step.roles.all()),
        "standard_text": step.standard_text,
        "return_number": step.return_to.number if step.return_to_id else None,
        "activity": step.activity,
        "requirements": step.requirements,
        "output": step.output,
        "remarks": step.remarks,
    }


@transaction.atomic
def save_draft(sop, identity_form, formset, confirmed_notes=()):
    """Write the identity, the sections and the step table of a draft; returns the SOP.

    Review notes go when their cell was changed, their row was marked as checked, or (for
    SOP-level notes) they were confirmed one by one. Raises `DraftChanged` when the version is
    no longer a draft."""
    locked = Sop.objects.select_for_update().filter(pk=sop.pk, status=Sop.Status.DRAFT).first()
    if locked is None:
        raise DraftChanged(_("Versi ini bukan draf lagi; perubahan tidak disimpan."))
    before_items = {section: sop.items(section) for section in SopItem.Section.values}
    before_fields = {name: getattr(locked, name) for name in IDENTITY_FIELDS}
    identity_form.instance = sop
    sop = identity_form.save()
    items = identity_form.section_items()
    sop.sop_items.all().delete()
    SopItem.objects.bulk_create(
        SopItem(sop=sop, section=section, position=position, text=text)
        for section, lines in items.items()
        for position, text in enumerate(lines, start=1)
    )

    old = {
        step.pk: step for step in sop.steps.select_related("return_to").prefetch_related("roles")
    }
    before = {pk: _step_values(step) for pk, step in old.items()}
    # Numbers and return targets are rewritten below; park them so no constraint trips midway.
    sop.steps.update(return_to=None, number=F("number") + 1000)
    kept, rows = {}, []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        step = old.get(data.get("id")) or Step(sop=sop)
        step.number = data["number"]
        step.activity = data["activity"]
        step.kind = data["kind"]
        step.requirements = data["requirements"]
        step.standard_text = data["standard_text"]
        step.output = data["output"]
        step.remarks = data["remarks"]
        step.return_to = None
        step.save()
        step.roles.set(data["roles"])
        kept[step.number] = step
        rows.append((step, data))
    Step.objects.filter(sop=sop).exclude(pk__in=[step.pk for step in kept.values()]).delete()
    for step, data in rows:
        target = kept.get(data.get("return_number"))
        if target is not None:
            step.return_to = target
            step.save(update_fields=["return_to"])

    stale = []
    for step, data in rows:
        was = before.get(step.pk)
        if was is None:
            continue
        now = dict(data, roles=sorted(role.pk for role in data["roles"]))
        if data.get("reviewed"):
            stale.append(ReviewNote.objects.filter(step=step))
            continue
        changed = [NOTE_FIELDS.get(name, name) for name in was if was[name] != now.get(name)]
        stale.append(ReviewNote.objects.filter(step=step, field__in=changed))
    changed_identity = [
        name for name in IDENTITY_FIELDS if before_fields[name] != getattr(sop, name)
    ]
    changed_identity += [f"section:{s}" for s in items if items[s] != before_items.get(s)]
    stale.append(ReviewNote.objects.filter(sop=sop, step=None, field__in=changed_identity))
    stale.append(ReviewNote.objects.filter(sop=sop, step=None, pk__in=list(confirmed_notes)))
    for queryset in stale:
        queryset.delete()
    # Step-table notes of a sound table (an importer's "steps" note) no longer apply.
    ReviewNote.objects.filter(sop=sop, step=None, field="steps").delete()
    return sop
