"""The SOP editor's logic: the step table as rows, its rules, the live preview, saving a draft.

The editor edits one draft version. The step table is a formset of rows; `check_table` runs the
one set of rules (`definitions.check_steps`) over all rows and puts every error on its row and
cell at once. `rearranged` adds, moves and removes rows of unsaved input (the buttons work
without JavaScript: the page is sent, rearranged and shown again, nothing saved).
`preview` lays the official matrix out from the input as it stands, valid or not, with the
same `sopdoc` layout the SOP page and the PDF use. `save_draft` writes it all in one
transaction and clears the review notes of the cells that were changed or confirmed.
"""

from django import forms
from django.db import transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils.translation import gettext as _

from activities.authoring import sopdoc, steps
from activities.authoring.definitions import check_steps, spec_of
from activities.authoring.forms import IDENTITY_FIELDS, SECTION_FIELDS
from activities.core.errors import Stale
from activities.models import ReviewNote, Role, Sop, SopItem, Step
from activities.time import durations

ROW_FIELDS = ("id", *steps.FORM_NAMES.values())


class DraftChanged(Stale):
    """The version stopped being a draft (submitted, activated) while it was being edited."""


def role_choices(sop: Sop):
    """The roles a draft's steps may name: the unit's, and those the draft proposes."""
    return (
        Role.objects.filter(unit_id=sop.unit_id)
        .filter(Q(proposed=False) | Q(steps__sop=sop))
        .distinct()
        .order_by("position", "name")
    )


def initial_rows(sop):
    """Formset initial data of the SOP's steps; a new SOP starts with a Mulai and a Selesai."""
    saved = sorted(sop.steps.all(), key=lambda step: step.number)
    if not saved:
        return [
            {"number": 1, "kind": Step.Kind.START, "roles": []},
            {"number": 2, "kind": Step.Kind.END, "roles": []},
        ]
    return [
        {"id": step.pk, **steps.initial(values)}
        for step, values in zip(saved, steps.values_of_steps(saved), strict=True)
    ]


_int = steps.as_int


def behaviour_fields(form: forms.Form) -> list[forms.BoundField]:
    """The row's fields that say what a run does at the step, shown beside the symbol."""
    return [form[name] for name in steps.BEHAVIOUR_FORM_NAMES]


def raw_rows(formset):
    """The rows as sent, valid or not, in table order: {field: value} each."""
    rows = []
    for form in formset.forms:
        row = {name: form[name].value() for name in ROW_FIELDS}
        row["DELETE"] = bool(form["DELETE"].value()) if "DELETE" in form.fields else False
        row["roles"] = [_int(pk) for pk in (row["roles"] or []) if _int(pk) is not None]
        rows.append(row)
    return rows


def rearranged(rows: list[dict], action: str) -> list[dict]:
    """Rows after an "add-N", "up-N", "down-N" or "add" action, numbered 1…n again.

    A row added below the Selesai row goes just above it. Return targets follow the step they
    point at, so moving a row keeps the decision's target.
    """
    rows = [dict(row) for row in rows]
    verb, _sep, index = action.partition("-")
    index = _int(index)
    if verb == "add":
        at = len(rows) if index is None else min(index + 1, len(rows))
        rows.insert(at, {"kind": Step.Kind.PROCESS, "roles": []})
        rows = _new_rows_before_end(rows)
    elif verb in ("up", "down") and index is not None and 0 <= index < len(rows):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    return _numbered(rows)


def _new_rows_before_end(rows: list[dict]) -> list[dict]:
    """The rows with every new row (no id yet) found below the last Selesai row moved above it.

    A step after Selesai can never run, so a row added there was meant as the last step before
    the end; a saved step put there on purpose stays, and the rules report it."""
    live_ends = [
        at
        for at, row in enumerate(rows)
        if row.get("kind") == Step.Kind.END and not row.get("DELETE")
    ]
    if not live_ends:
        return rows
    end = live_ends[-1]
    tail = rows[end + 1 :]
    moved = [row for row in tail if _int(row.get("id")) is None]
    stayed = [row for row in tail if _int(row.get("id")) is not None]
    return rows[:end] + moved + [rows[end]] + stayed


def _numbered(rows: list[dict]) -> list[dict]:
    """The rows numbered 1…n in list order, skipping rows marked for deletion (no number).

    A return target follows the step it pointed at; one that pointed at a deleted step is
    cleared, so the rules ask for a new target instead of silently pointing at its successor."""
    renumber: dict[int, int | None] = {}
    position = 0
    for row in rows:
        old = _int(row.get("number"))
        if row.get("DELETE"):
            row["number"] = None
            if old is not None:
                renumber.setdefault(old, None)
            continue
        position += 1
        if old is not None:
            renumber[old] = position if renumber.get(old) is None else renumber[old]
        row["number"] = position
    for row in rows:
        target = _int(row.get("return_number"))
        row["return_number"] = renumber.get(target, target) if target is not None else None
    return rows


def settled(formset) -> QueryDict:
    """The posted table as it is saved: deleted rows dropped, the others renumbered 1…n.

    The page's script renumbers the rows as Hapus is ticked, but the table must also save
    without it (and from any client): a row ticked for deletion or a row added below Selesai
    must not turn into "numbers must be consecutive" until the user retypes every number. The
    rows keep the order of the numbers typed (ties in table order), so renumbering by hand
    still reorders them. Returns the data to bind the formset to again."""
    rows = raw_rows(formset)
    for at, row in enumerate(rows):
        row["at"] = at
    live = [row for row in rows if not row["DELETE"]]
    typed = {id(row): _int(row["number"]) for row in live}
    live.sort(key=lambda row: (typed[id(row)] or row["at"] + 1, row["at"]))
    deleted = [row for row in rows if row["DELETE"]]
    # Deleted rows take part in the numbering only to clear return targets that pointed at them.
    ordered = _numbered(deleted + _new_rows_before_end(live))[len(deleted) :]
    data = QueryDict(mutable=True)
    prefix = formset.prefix
    for key, values in formset.data.lists():
        if not key.startswith(f"{prefix}-"):
            data.setlist(key, values)
    for at, row in enumerate(ordered):
        old, new = formset.forms[row["at"]].prefix, formset.add_prefix(at)
        for key, values in formset.data.lists():
            if key.startswith(f"{old}-"):
                data.setlist(new + key.removeprefix(old), values)
        data[f"{new}-{steps.FORM_NAMES['number']}"] = str(row["number"])
        target = row["return_number"]
        data[f"{new}-{steps.FORM_NAMES['return_to']}"] = "" if target is None else str(target)
    data[formset.management_form.add_prefix("TOTAL_FORMS")] = str(len(ordered))
    initial = formset.initial_form_count()
    data[formset.management_form.add_prefix("INITIAL_FORMS")] = str(min(initial, len(ordered)))
    return data


def check_table(unit, formset):
    """Every rule the table breaks, on its row's cell; returns the errors of no single row.

    Cells whose own field is already wrong (a kind not offered) are left to that message."""
    specs = []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None) or {}
        if not data.get("DELETE"):
            specs.append(spec_of(steps.from_form(data, form.errors), index))
    general = []
    for error in check_steps(unit.pk, specs):
        if error.row is None:
            general.append(error.message)
        else:
            formset.forms[error.row].add_error(steps.FORM_NAMES[error.field], error.message)
    return general


# The preview ----------------------------------------------------------------------------------


class _Roles(list):
    def all(self):
        return self


class PreviewStep:
    """What `sopdoc.build` reads of a step, from input that is not saved (and may be wrong)."""

    def __init__(self, pk: int, values: steps.StepValues) -> None:
        self.pk = pk
        self.values = values
        steps.assign(self, values)
        self.roles = _Roles(values["roles"])
        self.return_to_id: int | None = None

    @property
    def standard_display(self) -> str:
        return " ".join(self.standard_text.split())

    @property
    def standard(self) -> durations.Standard | None:
        try:
            return durations.parse(self.standard_text)
        except durations.DurationError:
            return None


def preview(sop, identity_data, rows, roles):
    """(document, sop-like object) of the matrix as the input stands, for `reports/_sop_*`."""
    by_pk = {role.pk: role for role in roles}
    shown_steps = []
    live = [row for row in rows if not row.get("DELETE")]
    for position, row in enumerate(live, start=1):
        values = steps.from_raw(row, by_pk)
        values["number"] = values["number"] or position
        shown_steps.append(PreviewStep(-position, values))
    by_number = {step.number: step for step in shown_steps}
    for step in shown_steps:
        target = by_number.get(step.values["return_to"])
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
    return sopdoc.build(shown, shown_steps), shown


def identity_values(sop, identity_form):
    """The identity input as sent, falling back to the stored values on a first view."""
    if identity_form.is_bound:
        return {name: identity_form[name].value() for name in identity_form.fields}
    values = {name: getattr(sop, name) for name in IDENTITY_FIELDS}
    values.update({name: identity_form.initial.get(name, "") for name, *_rest in SECTION_FIELDS})
    return values


# Saving ---------------------------------------------------------------------------------------


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

    old = {step.pk: step for step in steps.saved_steps(sop)}
    before = dict(zip(old, steps.values_of_steps(old.values()), strict=True))
    # Numbers and return targets are rewritten below; park them so no constraint trips midway.
    sop.steps.update(return_to=None, number=F("number") + 1000)
    kept = [form.cleaned_data for form in formset.forms]
    kept = [data for data in kept if data and not data.get("DELETE")]
    rows = [steps.from_form(data) for data in kept]
    existing = {index: old[data["id"]] for index, data in enumerate(kept) if data.get("id") in old}
    written = steps.write_steps(sop, rows, existing)
    Step.objects.filter(sop=sop).exclude(pk__in=[step.pk for step in written.values()]).delete()

    stale = []
    for data, values in zip(kept, rows, strict=True):
        step = written[values["number"]]
        was = before.get(step.pk)
        if was is None:
            continue
        if data.get("reviewed"):
            stale.append(ReviewNote.objects.filter(step=step))
            continue
        changed = steps.changed_fields(was, values)
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
