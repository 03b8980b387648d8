"""A step's fields, declared once.

`FIELDS` says, for every field of a `Step`, what an SOP file and the JSON export call it, how a
file's value is read and checked, how a revision copies it, how the pengesahan diff shows and
labels it, how the importers fill it and which form field the editor edits it with. The loader,
the export, the revision copy, the diff, the importers' draft and the editor walk `FIELDS`
instead of naming fields, so a field added here travels through all of them.

A step's values travel as `StepValues`, {field name: value}: text as text, the pelaksana as
`Role`s, the return target as a step number (the database's foreign key is resolved by
`write_steps` once every step of the SOP exists).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.authoring import datafields
from activities.models import Role, Sop, Step, duration_error_message
from activities.time import durations

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def max_length(attribute: str) -> int | None:
    """The `max_length` of a text column of `Step`."""
    return getattr(Step._meta.get_field(attribute), "max_length", None)


StepValues = dict[str, Any]


class FieldError(Exception):
    """A value of an SOP file's step that cannot be read; the message names the step."""


@dataclass(frozen=True)
class ImportContext:
    """What the importers' values are resolved against: the unit's roles by lower-case name,
    the numbers of the imported steps and the step's review notes (field → why)."""

    roles: Mapping[str, Role]
    numbers: frozenset[int]
    notes: dict[str, str]


def standard_error(text: str) -> str:
    """The Indonesian message for a waktu that does not parse, or "" when it does."""
    try:
        durations.parse(text)
    except durations.DurationError as error:
        return str(duration_error_message(error))
    return ""


def _widget_class(widget: forms.Widget, css: str) -> forms.Widget:
    widget.attrs.setdefault("class", css)
    return widget


@dataclass(frozen=True)
class StepField:
    """A text field of the step, stored under `name` (or `attribute`) on the model.

    `key` is its name in SOP files and exports, `form_name` in the editor's row form; both
    default to `name`, which is also the field's name in review notes and rule errors.
    `default` fills a file's missing key; `derive` computes it from the values read before
    (fields are read in declaration order)."""

    name: str
    label: StrOrPromise
    key: str = ""
    attribute: str = ""
    form_name: str = ""
    default: Any = ""
    derive: Callable[[StepValues], Any] | None = None
    required: bool = False
    required_message: StrOrPromise | None = None
    # Whether an SOP file's step must carry the key (its absence is reported, not defaulted).
    in_every_file: bool = False
    compared: bool = True
    # A value the file's shape check leaves to `load` (a list of objects, not of texts).
    structured: bool = False
    # The editor's cell: "behaviour" fields (what a run does at the step) sit beside the
    # symbol, whatever their number.
    group: str = "text"

    def __post_init__(self) -> None:
        for slot in ("key", "attribute", "form_name"):
            if not getattr(self, slot):
                object.__setattr__(self, slot, self.name)

    # A saved step ------------------------------------------------------------------------
    def get(self, step: Step, numbers: Mapping[int, int]) -> Any:
        """The field's value of a saved step; `numbers` maps the SOP's step ids to numbers."""
        return getattr(step, self.attribute)

    def put(self, step: Step, value: Any) -> None:
        """Set the value on an unsaved (or about to be saved) step."""
        setattr(step, self.attribute, value)

    def copied(self, value: Any, roles: Mapping[int, Role] | None) -> Any:
        """The value a copy of the SOP (a revision, another unit's copy) gives the step."""
        return value

    def missing(self, values: StepValues) -> Any:
        return self.derive(values) if self.derive else self.default

    # SOP files and the JSON export -------------------------------------------------------
    def dump(self, value: Any) -> Any:
        return value

    def exported(self, value: Any) -> bool:
        return True

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        if not isinstance(raw, str):
            raise FieldError(
                _("%(where)s: “%(key)s” harus berupa teks.") % {"where": where, "key": self.key}
            )
        return raw

    # The pengesahan diff -----------------------------------------------------------------
    def show(self, value: Any) -> str:
        return str(value)

    def comparable(self, value: Any) -> Any:
        return value

    # Importers ---------------------------------------------------------------------------
    def imported(self, item: Any, values: StepValues, context: ImportContext) -> Any:
        value = getattr(item, self.name, None)
        return self.missing(values) if value is None else value

    # The editor --------------------------------------------------------------------------
    def form_field(self) -> forms.Field:
        return forms.CharField(
            label=self.label,
            required=self.required,
            widget=_widget_class(forms.Textarea(attrs={"rows": 3}), "form-control form-control-sm"),
            error_messages=(
                {"required": self.required_message}
                if self.required and self.required_message is not None
                else None
            ),
        )

    def to_form(self, value: Any, values: StepValues) -> Any:
        # A value its rule would give anyway is shown as that rule ("sesuai simbol"), so that
        # changing the symbol in the editor changes it too.
        if self.derive and value == self.derive(values):
            return ""
        return value

    def from_form(self, data: Mapping[str, Any], values: StepValues) -> Any:
        value = data.get(self.form_name)
        return self.missing(values) if value in (None, "") and self.derive else value

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        """The value of unsaved, possibly wrong input, as the live preview draws it."""
        return str(raw or "")


@dataclass(frozen=True)
class NumberField(StepField):
    default: Any = None
    in_every_file: bool = True
    compared: bool = False

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise FieldError(
                _("%(where)s: “%(key)s” wajib diisi.") % {"where": where, "key": self.key}
            )
        return raw

    def form_field(self) -> forms.Field:
        return forms.IntegerField(
            label=self.label,
            min_value=1,
            max_value=999,
            widget=forms.NumberInput(attrs={"class": "form-control form-control-sm sop-no"}),
        )

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        return as_int(raw)


@dataclass(frozen=True)
class ChoiceField(StepField):
    """A choice of the model's; a value it does not offer is the step-table rules' to report."""

    choices: tuple[tuple[str, StrOrPromise], ...] = ()

    def show(self, value: Any) -> str:
        return str(dict(self.choices).get(value, value))

    def form_field(self) -> forms.Field:
        # A derived choice may be left to its rule ("sesuai simbol"): the form says so, empty.
        choices = (
            [("", gettext_lazy("Sesuai simbol")), *self.choices] if self.derive else self.choices
        )
        return forms.ChoiceField(
            label=self.label,
            choices=choices,
            required=not self.derive,
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        )

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        return raw if raw in dict(self.choices) else None


@dataclass(frozen=True)
class StandardField(StepField):
    """The waktu as the document writes it; the model derives the minutes when it is saved."""

    def show(self, value: Any) -> str:
        return " ".join(str(value).split())

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        # Whether it parses is the step-table rules' to say, with every other problem.
        return str(raw or "")

    def imported(self, item: Any, values: StepValues, context: ImportContext) -> Any:
        standard = str(item.standard or "")[: max_length(self.attribute)]
        problem = standard_error(standard)
        if problem:
            # A waktu that does not parse is kept in the note; the cell waits for a person.
            context.notes.setdefault(self.name, problem)
            context.notes[self.name] = f"{context.notes[self.name]} ({_('tertulis')}: “{standard}”)"
            return "1 menit"
        return standard

    def form_field(self) -> forms.Field:
        return forms.CharField(
            label=self.label,
            required=False,
            max_length=max_length(self.attribute),
            widget=forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": "15 menit"}
            ),
        )


class RoleChoices(forms.ModelMultipleChoiceField[Role]):
    widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})

    def label_from_instance(self, role: Role) -> str:
        return role.name


@dataclass(frozen=True)
class RolesField(StepField):
    """The pelaksana: `Role`s of the SOP's unit, named in files, set once the step is saved."""

    default: Any = ()

    def get(self, step: Step, numbers: Mapping[int, int]) -> Any:
        return list(step.roles.all())

    def put(self, step: Step, value: Any) -> None:
        step.roles.set(value)

    def copied(self, value: Any, roles: Mapping[int, Role] | None) -> Any:
        return [roles[role.pk] for role in value] if roles else list(value)

    def dump(self, value: Any) -> Any:
        return [role.name for role in sorted(value, key=lambda role: (role.position, role.name))]

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        if not isinstance(raw, list):
            raise FieldError(
                _("%(where)s: “%(key)s” harus berupa daftar jabatan.")
                % {"where": where, "key": self.key}
            )
        unknown = [name for name in raw if not isinstance(name, str) or name not in roles]
        if unknown:
            raise FieldError(
                _("%(where)s: pelaksana %(roles)s tidak ada di daftar jabatan.")
                % {"where": where, "roles": ", ".join(map(str, unknown))}
            )
        return [roles[name] for name in raw]

    def show(self, value: Any) -> str:
        return ", ".join(role.name for role in value)

    def comparable(self, value: Any) -> Any:
        return sorted(role.pk for role in value)

    def imported(self, item: Any, values: StepValues, context: ImportContext) -> Any:
        return [context.roles[n.lower()] for n in item.roles if n.lower() in context.roles]

    def form_field(self) -> forms.Field:
        return RoleChoices(label=self.label, queryset=Role.objects.none(), required=False)

    def to_form(self, value: Any, values: StepValues) -> Any:
        return [role.pk for role in value]

    def from_form(self, data: Mapping[str, Any], values: StepValues) -> Any:
        return list(data.get(self.form_name) or [])

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        return [roles[pk] for pk in raw or [] if pk in roles]


@dataclass(frozen=True)
class ReturnField(StepField):
    """The step a returned approval goes back to: a number in files, a foreign key saved."""

    default: Any = None

    def get(self, step: Step, numbers: Mapping[int, int]) -> Any:
        return numbers.get(step.return_to_id) if step.return_to_id else None

    def put(self, step: Step, value: Any) -> None:
        # Linked by `write_steps` once every step of the SOP is saved.
        step.return_to = None

    def exported(self, value: Any) -> bool:
        return value is not None

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise FieldError(
                _("%(where)s: “%(key)s” harus nomor langkah.") % {"where": where, "key": self.key}
            )
        return raw

    def show(self, value: Any) -> str:
        return "" if value is None else str(value)

    def imported(self, item: Any, values: StepValues, context: ImportContext) -> Any:
        target = item.return_to
        if target is None:
            return None
        if target in context.numbers and target < item.number:
            return target
        context.notes.setdefault(self.name, _("Tujuan pengembalian tidak sah."))
        return None

    def form_field(self) -> forms.Field:
        return forms.IntegerField(
            label=self.label,
            required=False,
            min_value=1,
            max_value=999,
            widget=forms.NumberInput(attrs={"class": "form-control form-control-sm sop-no"}),
        )

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        return as_int(raw)


class DataFieldsFormField(forms.CharField):
    """The editor's cell of a step's data fields: one field per line, read into objects."""

    def to_python(self, value: Any) -> Any:
        fields, errors = datafields.parse_lines(super().to_python(value) or "")
        if errors:
            raise forms.ValidationError(errors)
        return fields


@dataclass(frozen=True)
class DataFieldsField(StepField):
    """The data a run records at the step (`activities.authoring.datafields`): a list of field
    objects in files and on the row, one line per field in the editor."""

    default: Any = ()
    # Its list of objects is checked by `load`, not as the text lists of the file's shape.
    structured: bool = True

    def put(self, step: Step, value: Any) -> None:
        step.data_fields = [dict(field) for field in value or ()]

    def copied(self, value: Any, roles: Mapping[int, Role] | None) -> Any:
        return [dict(field) for field in value or ()]

    def exported(self, value: Any) -> bool:
        return bool(value)

    def dump(self, value: Any) -> Any:
        return [dict(field) for field in value or ()]

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        fields, errors = datafields.checked(raw, where)
        if errors:
            raise FieldError("; ".join(errors))
        return fields

    def show(self, value: Any) -> str:
        return datafields.as_lines(value)

    def comparable(self, value: Any) -> Any:
        return list(value or ())

    def imported(self, item: Any, values: StepValues, context: ImportContext) -> Any:
        return list(getattr(item, self.name, None) or ())

    def form_field(self) -> forms.Field:
        return DataFieldsFormField(
            label=self.label,
            required=False,
            help_text=gettext_lazy(
                "Satu isian per baris, mis. “Jumlah peserta: angka, wajib, min 1” atau "
                "“Kelurahan: daftar kelurahan, banyak”."
            ),
            widget=_widget_class(forms.Textarea(attrs={"rows": 2}), "form-control form-control-sm"),
        )

    def to_form(self, value: Any, values: StepValues) -> Any:
        return datafields.as_lines(value)

    def from_form(self, data: Mapping[str, Any], values: StepValues) -> Any:
        return list(data.get(self.form_name) or ())

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        fields, _errors = datafields.parse_lines(str(raw or ""))
        return fields


@dataclass(frozen=True)
class RuleChoiceField(ChoiceField):
    """A choice whose default files and exports leave out (old files stay as they were)."""

    def exported(self, value: Any) -> bool:
        return bool(value != self.default)

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        value = super().load(raw, roles, where)
        if value not in dict(self.choices):
            raise FieldError(
                _("%(where)s: “%(key)s” tidak dikenal: “%(value)s”.")
                % {"where": where, "key": self.key, "value": value}
            )
        return value

    def form_field(self) -> forms.Field:
        # A row sent without it keeps the default.
        return forms.ChoiceField(
            label=self.label,
            choices=self.choices,
            required=False,
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        )

    def from_form(self, data: Mapping[str, Any], values: StepValues) -> Any:
        return data.get(self.form_name) or self.default


@dataclass(frozen=True)
class OptionalNumberField(StepField):
    """A small whole number a step may leave empty (None), left out of files when empty."""

    default: Any = None
    maximum: int = 999

    def exported(self, value: Any) -> bool:
        return value is not None

    def load(self, raw: Any, roles: Mapping[str, Role], where: str) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= self.maximum:
            raise FieldError(
                _("%(where)s: “%(key)s” harus bilangan bulat 1 sampai %(max)s.")
                % {"where": where, "key": self.key, "max": self.maximum}
            )
        return raw

    def show(self, value: Any) -> str:
        return "" if value is None else str(value)

    def form_field(self) -> forms.Field:
        return forms.IntegerField(
            label=self.label,
            required=False,
            min_value=1,
            max_value=self.maximum,
            widget=forms.NumberInput(attrs={"class": "form-control form-control-sm sop-no"}),
        )

    def from_form(self, data: Mapping[str, Any], values: StepValues) -> Any:
        return data.get(self.form_name)

    def from_raw(self, raw: Any, roles: Mapping[int, Role]) -> Any:
        return as_int(raw)


def _default_action(values: StepValues) -> str:
    action: str = Step.default_action(values.get("kind"))
    return action


FIELDS: tuple[StepField, ...] = (
    NumberField("number", gettext_lazy("No")),
    StepField(
        "activity",
        gettext_lazy("Aktivitas"),
        required=True,
        required_message=gettext_lazy("Aktivitas wajib diisi."),
    ),
    RolesField("roles", gettext_lazy("Pelaksana")),
    ChoiceField(
        "kind",
        gettext_lazy("Simbol"),
        default=Step.Kind.PROCESS,
        choices=tuple(Step.Kind.choices),
        group="symbol",
    ),
    ChoiceField(
        "action",
        gettext_lazy("Tindakan"),
        derive=_default_action,
        choices=tuple(Step.Action.choices),
        group="behaviour",
    ),
    StepField("requirements", gettext_lazy("Kelengkapan")),
    StandardField(
        "standard", gettext_lazy("Waktu"), attribute="standard_text", form_name="standard_text"
    ),
    StepField("output", gettext_lazy("Output")),
    StepField("remarks", gettext_lazy("Keterangan")),
    ReturnField(
        "return_to", gettext_lazy("Kembali ke langkah"), form_name="return_number", group="return"
    ),
    DataFieldsField("data_fields", gettext_lazy("Isian data"), group="data"),
    # Who must complete the step (a joint step: every role named, or a quorum of holders).
    RuleChoiceField(
        "completion",
        gettext_lazy("Diselesaikan oleh"),
        default=Step.Completion.ANY,
        choices=tuple(Step.Completion.choices),
        group="behaviour",
    ),
    OptionalNumberField("quorum", gettext_lazy("Kuorum (orang)"), group="behaviour", maximum=99),
    # Consecutive steps with the same number run side by side.
    OptionalNumberField(
        "parallel",
        gettext_lazy("Kelompok paralel"),
        attribute="parallel_group",
        form_name="parallel_group",
        group="behaviour",
    ),
)
BY_NAME: dict[str, StepField] = {f.name: f for f in FIELDS}

# The completion rule of a step more than one pelaksana completes, as the printed SOP writes it in
# the Keterangan column (the layout has no column of its own for it) and the importers read it
# back. Indonesian in every locale: it is the SOP's own text, read again from its documents.
ALL_NOTE = "Dikerjakan bersama oleh semua pelaksana."
QUORUM_NOTE = "Cukup {n} pelaksana."
_COMPLETION_NOTE = re.compile(
    r"\s*(?:dikerjakan\s+bersama\s+oleh\s+semua\s+pelaksana|cukup\s+(\d{1,2})\s+pelaksana)\.?",
    re.IGNORECASE,
)


def completion_note(completion: str | None, quorum: int | None) -> str:
    """The Keterangan line of a step's completion rule; "" for one pelaksana (the default)."""
    if completion == Step.Completion.ALL:
        return ALL_NOTE
    if completion == Step.Completion.QUORUM and quorum:
        return QUORUM_NOTE.format(n=quorum)
    return ""


def printed_remarks(remarks: str, completion: str | None, quorum: int | None) -> str:
    """The Keterangan cell of a printed or exported step: its remarks, then its rule."""
    return "\n".join(part for part in (remarks, completion_note(completion, quorum)) if part)


def read_completion_note(text: str) -> tuple[str | None, int | None, str]:
    """(completion, quorum, the remarks without it) of a Keterangan cell `printed_remarks`
    wrote; (None, None, text) when it states no rule."""
    match = _COMPLETION_NOTE.search(text or "")
    if match is None:
        return None, None, text
    rest = (text[: match.start()] + text[match.end() :]).strip()
    if match.group(1) is None:
        return Step.Completion.ALL, None, rest
    return Step.Completion.QUORUM, int(match.group(1)), rest


FILE_KEYS: frozenset[str] = frozenset(f.key for f in FIELDS)
_RELATED = (RolesField,)


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _numbers(steps: Iterable[Step]) -> dict[int, int]:
    return {step.pk: step.number for step in steps}


def values_of(step: Step, numbers: Mapping[int, int]) -> StepValues:
    """Every declared value of a saved step."""
    return {f.name: f.get(step, numbers) for f in FIELDS}


def values_of_steps(steps: Iterable[Step]) -> list[StepValues]:
    """The values of an SOP's steps (all of them: return targets are their numbers)."""
    steps = list(steps)
    numbers = _numbers(steps)
    return [values_of(step, numbers) for step in steps]


def saved_steps(sop: Sop) -> list[Step]:
    return list(sop.steps.prefetch_related("roles").order_by("number"))


def assign(step: Step, values: StepValues) -> None:
    """Put the values a step holds in its own row (not the pelaksana, not the return target)."""
    for f in FIELDS:
        if not isinstance(f, _RELATED):
            f.put(step, values[f.name])


def write_steps(
    sop: Sop, rows: Iterable[StepValues], existing: Mapping[int, Step] | None = None
) -> dict[int, Step]:
    """Save a step per row of values in `sop`; returns {number: step}.

    `existing` maps a row's index to a saved step to overwrite instead (the editor's rows)."""
    rows = list(rows)
    written: dict[int, Step] = {}
    for index, values in enumerate(rows):
        step = (existing or {}).get(index) or Step(sop=sop)
        assign(step, values)
        step.save()
        for f in FIELDS:
            if isinstance(f, _RELATED):
                f.put(step, values[f.name])
        written[step.number] = step
    for values in rows:
        target = written.get(values["return_to"])
        if target is not None:
            step = written[values["number"]]
            step.return_to = target
            step.save(update_fields=["return_to"])
    return written


def copied_values(values: StepValues, roles: Mapping[int, Role] | None = None) -> StepValues:
    return {f.name: f.copied(values[f.name], roles) for f in FIELDS}


def exported(values: StepValues) -> dict[str, Any]:
    """A step as the JSON export writes it."""
    return {f.key: f.dump(values[f.name]) for f in FIELDS if f.exported(values[f.name])}


def step_where(index: int, raw: Any) -> str:
    number = raw.get("number") if isinstance(raw, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        return _("Langkah %(n)s") % {"n": number}
    return _("langkah ke-%(n)s") % {"n": index}


def loaded(
    raw: Mapping[str, Any], roles: Mapping[str, Role], where: str
) -> tuple[StepValues, list[str]]:
    """(values, errors) of one step of an SOP file; a key no field declares is refused."""
    errors = [
        _("%(where)s: kunci tidak dikenal “%(key)s”.") % {"where": where, "key": key}
        for key in raw
        if key not in FILE_KEYS
    ]
    values: StepValues = {}
    for f in FIELDS:
        try:
            if f.key in raw or f.in_every_file:
                values[f.name] = f.load(raw.get(f.key), roles, where)
            else:
                values[f.name] = f.missing(values)
        except FieldError as error:
            errors.append(str(error))
            values[f.name] = None
    return values, errors


def imported_values(item: Any, context: ImportContext) -> StepValues:
    """The values of one importer's step (`ImportedStep`)."""
    values: StepValues = {}
    for f in FIELDS:
        values[f.name] = f.imported(item, values, context)
    return values


def diff_values(values: StepValues) -> dict[str, str]:
    """{field: text} of the fields the pengesahan diff compares."""
    return {f.name: f.show(values[f.name]) for f in FIELDS if f.compared}


def diff_labels() -> list[tuple[str, str]]:
    return [(f.name, str(f.label)) for f in FIELDS if f.compared]


def changed_fields(before: StepValues, after: StepValues) -> list[str]:
    return [
        f.name
        for f in FIELDS
        if f.comparable(before.get(f.name)) != f.comparable(after.get(f.name))
    ]


# The editor -------------------------------------------------------------------------------

FORM_NAMES: dict[str, str] = {f.name: f.form_name for f in FIELDS}
BEHAVIOUR_FORM_NAMES: tuple[str, ...] = tuple(f.form_name for f in FIELDS if f.group == "behaviour")


def form_fields() -> dict[str, forms.Field]:
    """The editor row form's field of every declared field, in declaration order."""
    return {f.form_name: f.form_field() for f in FIELDS}


def initial(values: StepValues) -> dict[str, Any]:
    return {f.form_name: f.to_form(values[f.name], values) for f in FIELDS}


def from_form(data: Mapping[str, Any], errors: Iterable[str] = ()) -> StepValues:
    """The values of a row form's cleaned data; a field named in `errors` (a cell the form has
    already refused) is None, so the step-table rules leave that cell to the form's message."""
    errors = set(errors)
    values: StepValues = {}
    for f in FIELDS:
        values[f.name] = None if f.form_name in errors else f.from_form(data, values)
    return values


def from_raw(row: Mapping[str, Any], roles: Mapping[int, Role]) -> StepValues:
    """Values of an unsaved row as sent, valid or not, with a choice not offered as None."""
    values: StepValues = {}
    for f in FIELDS:
        value = f.from_raw(row.get(f.form_name), roles)
        values[f.name] = f.missing(values) if value is None and f.default is not None else value
    return values
