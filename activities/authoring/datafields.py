"""A step's data fields as SOP files and the editor write them, checked.

In an SOP file (and the JSON export) a step's `data_fields` is a list of objects:

    {"key": "jumlah_peserta", "label": "Jumlah peserta", "type": "number", "required": true,
     "min": 1, "max": 5000}

`type` is one of `DataType` (number, text, date, time, choice, yesno, reference); `min`/`max`
bound a number, `max_length` a text, `choices` lists a choice's options, `list` names the
reference list (its slug: "kelurahan", "narasumber"), `multiple` lets a choice or a reference
take several values. The editor writes the same fields one per line:

    Jumlah peserta: angka, wajib, min 1, maks 5000
    Narasumber: daftar narasumber, banyak
    Hasil: pilihan Baik / Cukup / Kurang
    Jumlah peserta [peserta]: angka          (a key other than the one the label gives)

`checked` reads either form's objects and returns them normalised with every problem found;
`parse_lines` and `as_lines` turn the editor's text into objects and back.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from activities.models import DataType
from activities.text import first_control_character

MAX_FIELDS = 20
MAX_CHOICES = 100
LABEL_LENGTH = 200
CHOICE_LENGTH = 200
TEXT_LIMIT = 5000
NUMBER_LIMIT = Decimal("99999999999999")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SLUG = re.compile(r"^[-a-z0-9_]{1,40}$")
FILE_KEYS = ("key", "label", "type", "required", "min", "max", "max_length", "choices", "list")
FILE_KEYS += ("multiple",)

# The editor's words for the types, and back.
TYPE_WORDS = {
    DataType.NUMBER: "angka",
    DataType.TEXT: "teks",
    DataType.DATE: "tanggal",
    DataType.TIME: "jam",
    DataType.CHOICE: "pilihan",
    DataType.YESNO: "ya/tidak",
    DataType.REFERENCE: "daftar",
}
WORD_TYPES = {word: type_ for type_, word in TYPE_WORDS.items()}


def key_of(label: str) -> str:
    """The key a label gives: "Jumlah peserta" → "jumlah_peserta"."""
    key = slugify(label).replace("-", "_")[:40].strip("_")
    if key and not key[0].isalpha():
        key = f"isian_{key}"[:40]
    return key or "isian"


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) > NUMBER_LIMIT:
        return None
    return number


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _checked_field(raw: Any, where: str) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [_("%(where)s harus berupa objek JSON.") % {"where": where}]
    errors = [
        _("%(where)s: kunci tidak dikenal “%(key)s”.") % {"where": where, "key": key}
        for key in raw
        if key not in FILE_KEYS
    ]
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        errors.append(_("%(where)s: label wajib diisi.") % {"where": where})
        label = ""
    if first_control_character(label, multiline=False) or any(
        first_control_character(choice, multiline=False)
        for choice in raw.get("choices") or ()
        if isinstance(choice, str)
    ):
        errors.append(
            _("%(where)s berisi karakter tak terlihat yang tidak diizinkan.") % {"where": where}
        )
    label = " ".join(label.split())
    if len(label) > LABEL_LENGTH:
        errors.append(
            _("%(where)s: label paling banyak %(n)s karakter.")
            % {"where": where, "n": LABEL_LENGTH}
        )
    where = f"{where} (“{label}”)" if label else where
    key = raw.get("key") or key_of(label)
    if not isinstance(key, str) or not KEY.match(key):
        errors.append(
            _(
                "%(where)s: kunci “%(key)s” harus huruf kecil, angka atau garis bawah, diawali "
                "huruf, paling banyak 40 karakter."
            )
            % {"where": where, "key": key}
        )
    type_ = raw.get("type")
    if type_ not in DataType.values:
        errors.append(
            _("%(where)s: jenis “%(type)s” tidak dikenal (dikenal: %(known)s).")
            % {"where": where, "type": type_, "known": ", ".join(DataType.values)}
        )
    field: dict[str, Any] = {"key": key, "label": label, "type": type_}
    required = raw.get("required", False)
    if not isinstance(required, bool):
        errors.append(_("%(where)s: “required” harus true atau false.") % {"where": where})
    elif required:
        field["required"] = True
    multiple = raw.get("multiple", False)
    if not isinstance(multiple, bool):
        errors.append(_("%(where)s: “multiple” harus true atau false.") % {"where": where})
    elif multiple:
        if type_ not in (DataType.CHOICE, DataType.REFERENCE):
            errors.append(
                _("%(where)s: hanya pilihan dan daftar rujukan yang dapat berisi banyak nilai.")
                % {"where": where}
            )
        field["multiple"] = True
    errors += _limits(raw, field, type_, where)
    return field, errors


def _limits(raw: dict[str, Any], field: dict[str, Any], type_: Any, where: str) -> list[str]:
    errors = []
    for name in ("min", "max"):
        if raw.get(name) is None:
            continue
        number = _number(raw[name])
        if type_ != DataType.NUMBER:
            errors.append(
                _("%(where)s: batas “%(name)s” hanya untuk angka.") % {"where": where, "name": name}
            )
        elif number is None:
            errors.append(
                _("%(where)s: batas “%(name)s” harus angka.") % {"where": where, "name": name}
            )
        else:
            field[name] = _json_number(number)
    if "min" in field and "max" in field and field["min"] > field["max"]:
        errors.append(_("%(where)s: batas bawah melebihi batas atas.") % {"where": where})
    if raw.get("max_length") is not None:
        limit = raw["max_length"]
        if type_ != DataType.TEXT:
            errors.append(_("%(where)s: panjang teks hanya untuk teks.") % {"where": where})
        elif isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= TEXT_LIMIT:
            errors.append(
                _("%(where)s: panjang teks harus bilangan 1 sampai %(n)s.")
                % {"where": where, "n": TEXT_LIMIT}
            )
        else:
            field["max_length"] = limit
    choices = raw.get("choices")
    if type_ == DataType.CHOICE:
        clean = (
            [" ".join(c.split()) for c in choices if isinstance(c, str)]
            if isinstance(choices, list)
            else []
        )
        clean = [c for c in clean if c]
        if not clean or len(clean) != len(choices or []):
            errors.append(
                _("%(where)s: pilihan wajib berupa daftar teks yang tidak kosong.")
                % {"where": where}
            )
        elif len(set(clean)) != len(clean):
            errors.append(_("%(where)s: ada pilihan yang tertulis dua kali.") % {"where": where})
        elif len(clean) > MAX_CHOICES or any(len(c) > CHOICE_LENGTH for c in clean):
            errors.append(
                _("%(where)s: paling banyak %(n)s pilihan, masing-masing %(m)s karakter.")
                % {"where": where, "n": MAX_CHOICES, "m": CHOICE_LENGTH}
            )
        field["choices"] = clean
    elif choices:
        errors.append(_("%(where)s: daftar pilihan hanya untuk jenis pilihan.") % {"where": where})
    slug = raw.get("list")
    if type_ == DataType.REFERENCE:
        if not isinstance(slug, str) or not SLUG.match(slug):
            errors.append(
                _("%(where)s: nama daftar rujukan wajib diisi (mis. “kelurahan”).")
                % {"where": where}
            )
        field["list"] = slug if isinstance(slug, str) else ""
    elif slug:
        errors.append(_("%(where)s: daftar rujukan hanya untuk jenis daftar.") % {"where": where})
    return errors


def checked(raw: Any, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(fields normalised, errors) of a step's `data_fields` as a file or the editor gives them."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [_("%(where)s: “data_fields” harus berupa daftar isian.") % {"where": where}]
    if len(raw) > MAX_FIELDS:
        return [], [
            _("%(where)s: paling banyak %(n)s isian data per langkah.")
            % {"where": where, "n": MAX_FIELDS}
        ]
    fields, errors = [], []
    for index, item in enumerate(raw, start=1):
        field, problems = _checked_field(
            item, _("%(where)s, isian data ke-%(n)s") % {"where": where, "n": index}
        )
        errors += problems
        if field is not None:
            fields.append(field)
    keys = [field["key"] for field in fields]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        errors.append(
            _("%(where)s: kunci isian “%(key)s” dipakai lebih dari sekali.")
            % {"where": where, "key": key}
        )
    return fields, errors


# The editor's lines ---------------------------------------------------------------------------

_HEAD = re.compile(r"^(?P<label>[^:\[\]]+?)\s*(?:\[(?P<key>[^\]]*)\])?\s*:\s*(?P<rest>.+)$")


def _parse_line(line: str) -> tuple[dict[str, Any], list[str]]:
    match = _HEAD.match(line)
    if match is None:
        return {}, [
            _("“%(line)s”: tulis “Label: jenis”, mis. “Jumlah peserta: angka, wajib”.")
            % {"line": line}
        ]
    label = match["label"].strip()
    raw: dict[str, Any] = {"label": label}
    if match["key"] is not None:
        raw["key"] = match["key"].strip()
    parts = [part.strip() for part in match["rest"].split(",") if part.strip()]
    head, options = parts[0], parts[1:]
    word, _sep, argument = head.partition(" ")
    type_ = WORD_TYPES.get(word.lower())
    if type_ is None:
        return raw, [
            _("“%(label)s”: jenis “%(word)s” tidak dikenal; pilih %(known)s.")
            % {"label": label, "word": word, "known": ", ".join(TYPE_WORDS.values())}
        ]
    raw["type"] = type_.value
    errors = []
    if type_ == DataType.CHOICE:
        raw["choices"] = [choice.strip() for choice in argument.split("/") if choice.strip()]
    elif type_ == DataType.REFERENCE:
        raw["list"] = argument.strip().lower()
    elif argument.strip():
        errors.append(
            _("“%(label)s”: “%(text)s” tidak dikenal.") % {"label": label, "text": argument}
        )
    for option in options:
        name, _sep, value = option.partition(" ")
        name = name.lower()
        if name == "wajib" and not value:
            raw["required"] = True
        elif name == "banyak" and not value:
            raw["multiple"] = True
        elif name == "min" and value:
            raw["min"] = value.strip()
        elif name == "maks" and value and type_ == DataType.TEXT:
            raw["max_length"] = int(value) if value.strip().isdigit() else value
        elif name == "maks" and value:
            raw["max"] = value.strip()
        else:
            errors.append(
                _(
                    "“%(label)s”: keterangan “%(option)s” tidak dikenal (wajib, banyak, min N, maks N)."
                )
                % {"label": label, "option": option}
            )
    return raw, errors


def parse_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(fields, errors) of the editor's text: one field per line."""
    raws, errors = [], []
    for line in (text or "").splitlines():
        if line.strip():
            raw, problems = _parse_line(line.strip())
            errors += problems
            raws.append(raw)
    if errors:
        return [], errors
    fields, problems = checked(raws, _("Isian data"))
    return ([] if problems else fields), problems


def _number_word(value: Any) -> str:
    return str(value)


def as_line(field: dict[str, Any]) -> str:
    """One field as the editor writes it."""
    head = field["label"]
    if field["key"] != key_of(field["label"]):
        head += f" [{field['key']}]"
    word = TYPE_WORDS.get(field["type"], field["type"])
    if field["type"] == DataType.CHOICE:
        word += " " + " / ".join(field.get("choices", []))
    elif field["type"] == DataType.REFERENCE:
        word += " " + field.get("list", "")
    parts = [word]
    if field.get("required"):
        parts.append("wajib")
    if field.get("multiple"):
        parts.append("banyak")
    if field.get("min") is not None:
        parts.append(f"min {_number_word(field['min'])}")
    if field.get("max") is not None:
        parts.append(f"maks {_number_word(field['max'])}")
    if field.get("max_length") is not None:
        parts.append(f"maks {field['max_length']}")
    return f"{head}: {', '.join(parts)}"


def as_lines(fields: Any) -> str:
    return "\n".join(as_line(field) for field in fields or ())
