"""The step form's data fields: one form field per field the step declares (`Step.data_fields`),
with its limits and Indonesian messages, and the entered values as the transition takes them.

A reference list is looked up for the run's unit (its own list of that slug, else the city's);
only active items are offered. A value is handed to the transition as a plain dict per value
(`entries`), carrying the label and the item's name as they are now.
"""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import DataType, ReferenceItem, data_specs, number_text
from activities.text import plain_text

PREFIX = "data_"
YES, NO = "ya", "tidak"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _messages(spec):
    label = spec.label
    return {
        "required": _("%(label)s wajib diisi.") % {"label": label},
        "invalid": _("%(label)s: isi angka, mis. 120.") % {"label": label},
        "invalid_choice": _("%(label)s: pilihan “%%(value)s” tidak tersedia.") % {"label": label},
        "min_value": _("%(label)s paling kecil %%(limit_value)s.") % {"label": label},
        "max_value": _("%(label)s paling besar %%(limit_value)s.") % {"label": label},
        "max_length": _("%(label)s paling banyak %%(limit_value)d karakter.") % {"label": label},
        "max_digits": _("%(label)s terlalu besar.") % {"label": label},
        "max_decimal_places": _("%(label)s paling banyak 4 angka di belakang koma.")
        % {"label": label},
        "max_whole_digits": _("%(label)s terlalu besar.") % {"label": label},
    }


def _item_label(item):
    return item.name


def _reference_field(spec, reference_list, items):
    messages = _messages(spec)
    if reference_list is None:
        field = forms.ChoiceField(
            label=spec.label,
            required=spec.required,
            choices=[],
            help_text=_("Daftar rujukan “%(list)s” belum tersedia; minta admin membuatnya.")
            % {"list": spec.list},
            error_messages=messages,
        )
        field.items = {}
        return field
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(item.group, []).append((item.pk, _item_label(item)))
    # Items under a heading (the kelurahan of each kecamatan) are offered in groups.
    if set(grouped) == {""}:
        choices = grouped[""]
    else:
        choices = [(group or _("Lainnya"), options) for group, options in grouped.items()]
    if spec.multiple:
        field = forms.TypedMultipleChoiceField(
            label=spec.label,
            required=spec.required,
            coerce=int,
            choices=choices,
            widget=forms.SelectMultiple(attrs={"size": 8, "class": "form-select"}),
            help_text=_("Tahan Ctrl (atau sentuh) untuk memilih lebih dari satu."),
            error_messages=messages,
        )
    else:
        field = forms.TypedChoiceField(
            label=spec.label,
            required=spec.required,
            coerce=int,
            empty_value=None,
            choices=[("", "—"), *choices],
            error_messages=messages,
        )
    field.items = {item.pk: item for item in items}
    return field


def _field(spec, reference):
    messages = _messages(spec)
    common = {"label": spec.label, "required": spec.required, "error_messages": messages}
    if spec.type == DataType.NUMBER:
        return forms.DecimalField(
            max_digits=18,
            decimal_places=4,
            min_value=spec.minimum,
            max_value=spec.maximum,
            widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            **common,
        )
    if spec.type == DataType.TEXT:
        return forms.CharField(max_length=spec.max_length, **common)
    if spec.type == DataType.DATE:
        messages["invalid"] = _("%(label)s: masukkan tanggal yang valid, mis. 23-11-2026.") % {
            "label": spec.label
        }
        return forms.DateField(
            input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"], widget=DateInput(), **common
        )
    if spec.type == DataType.TIME:
        messages["invalid"] = _("%(label)s: masukkan jam yang valid, mis. 14:30.") % {
            "label": spec.label
        }
        return forms.TimeField(input_formats=["%H:%M", "%H.%M"], widget=TimeInput(), **common)
    if spec.type == DataType.YESNO:
        return forms.ChoiceField(
            choices=[(YES, _("Ya")), (NO, _("Tidak"))],
            widget=forms.RadioSelect,
            **common,
        )
    if spec.type == DataType.CHOICE:
        options = [(choice, choice) for choice in spec.choices]
        if spec.multiple:
            return forms.MultipleChoiceField(
                choices=options, widget=forms.CheckboxSelectMultiple, **common
            )
        return forms.ChoiceField(choices=[("", "—"), *options], **common)
    reference_list, items = reference.get(spec.list, (None, []))
    return _reference_field(spec, reference_list, items)


def _references(step, unit_id):
    """{slug: (list, active items)} of the reference lists the step's fields name, in one query
    (none when it names no list). A unit's own list of a slug takes the city's place."""
    slugs = {spec.list for spec in data_specs(step) if spec.type == DataType.REFERENCE}
    if not slugs:
        return {}
    rows = (
        ReferenceItem.objects.filter(
            Q(reference_list__unit_id=unit_id) | Q(reference_list__unit__isnull=True),
            reference_list__slug__in=sorted(slugs),
            active=True,
        )
        .select_related("reference_list")
        .order_by("position", "group", "name")
    )
    found: dict = {}
    for item in rows:
        reference_list = item.reference_list
        own = reference_list.unit_id is not None
        kept = found.get(reference_list.slug)
        if kept is None or (own and kept[0].unit_id is None):
            kept = found[reference_list.slug] = (reference_list, [])
        if kept[0].pk == reference_list.pk:
            kept[1].append(item)
    return found


def add_data_fields(form, step_run):
    """Add the step's data fields to `form`; returns their names in order."""
    specs = data_specs(step_run.step)
    if not specs:
        form.data_specs = []
        return []
    reference = _references(step_run.step, step_run.run.unit_id)
    names = []
    for spec in specs:
        name = PREFIX + spec.key
        form.fields[name] = plain_text(_field(spec, reference))
        names.append(name)
    form.data_specs = specs
    return names


def _entry(spec, position, value, item=None):
    entry = {"key": spec.key, "label": spec.label, "type": spec.type, "position": position}
    if spec.type == DataType.NUMBER:
        entry["number"] = number_text(value)
    elif spec.type == DataType.DATE:
        entry["date"] = value.isoformat()
    elif spec.type == DataType.TIME:
        entry["time"] = value.strftime("%H:%M")
    elif spec.type == DataType.YESNO:
        entry["flag"] = value == YES
    elif item is not None:
        entry["item"], entry["text"] = item.pk, item.name
    else:
        entry["text"] = str(value)
    return entry


def entries(form):
    """The entered values of a valid form, one plain dict per value, in the step's order."""
    result = []
    for spec in getattr(form, "data_specs", []):
        name = PREFIX + spec.key
        value = form.cleaned_data.get(name)
        values = value if isinstance(value, list) else [value]
        items = getattr(form.fields[name], "items", None)
        for one in values:
            if one is None or one == "":
                continue
            item = items[one] if items is not None else None
            result.append(_entry(spec, len(result), one, item))
    return result
