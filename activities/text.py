"""Text typed or pasted by users: control characters are refused where text comes in, and made
safe where text goes into XML (XLSX), so one stray character never breaks an export. And text
the app writes itself in the active language, made once per language (`once_per_language`).

A text area may hold tab and line breaks; a single-line field holds tab (the SOP documents'
waktu column has "15\tMenit") but no line break. Everything else in
the C0 and C1 control ranges (and DEL) is invisible on screen, cannot be printed, and — for
most of C0 — cannot be stored in XML at all. The bidirectional controls (U+202A–U+202E,
U+2066–U+2069, U+200E/U+200F, U+061C) are refused too: invisible themselves, they reorder the
characters shown around them, so a step name could read differently on screen, in the laporan
and in the database. Indonesian text never needs them.
"""

import functools
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_CONTROL_OR_BREAK = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
# What XML 1.0 cannot hold at all: C0 controls but tab, LF and CR; surrogates; U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def first_control_character(value, *, multiline):
    """The first character `value` may not contain, or None."""
    found = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(value)
    return found.group() if found else None


@deconstructible
class ControlCharacterValidator:
    """Refuses control characters but tab; `multiline` allows line breaks too (a text area)."""

    code = "control_character"

    def __init__(self, *, multiline):
        self.multiline = multiline

    def __call__(self, value):
        character = first_control_character(str(value), multiline=self.multiline)
        if character is None:
            return
        if character in "\n\r":
            message = _("Kolom ini hanya satu baris: hapus ganti baris (Enter) di dalamnya.")
        elif _BIDI.match(character):
            message = _(
                "Teks ini berisi karakter pengatur arah tulisan yang tidak terlihat (%(code)s), "
                "yang dapat membalik urutan huruf yang tampil. Hapus karakter itu lalu kirim lagi."
            )
        else:
            message = _(
                "Teks ini berisi karakter kendali yang tidak terlihat (%(code)s), mungkin "
                "terbawa saat menyalin. Hapus karakter itu lalu kirim lagi."
            )
        raise ValidationError(message, code=self.code, params={"code": f"U+{ord(character):04X}"})

    def __eq__(self, other):
        return isinstance(other, ControlCharacterValidator) and self.multiline == other.multiline


def without_bidi(value: str) -> tuple[str, bool]:
    """`value` without bidirectional controls, and whether it held any."""
    cleaned = _BIDI.sub("", value)
    return cleaned, cleaned != value


def xml_safe(value):
    """`value` with the characters XML cannot hold removed; other values unchanged."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


def plain_text(field):
    """`field`, refusing control characters if it holds text: tab anywhere, line breaks only
    in a text area (see `activities.text`)."""
    if isinstance(field, forms.CharField):
        multiline = isinstance(field.widget, forms.Textarea)
        validator = ControlCharacterValidator(multiline=multiline)
        if validator not in field.validators:
            field.validators.append(validator)
    return field


class PlainTextMixin:
    """Every text field of the form refuses control characters. Every sopflow form has it;
    the admin applies `plain_text` to its form fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            plain_text(field)


def once_per_language(function):
    """`function(*args)` made once per process for each language it is asked in (and each
    hashable `args`), then shared: for what depends on the translations only, which do not
    change while a process runs. Its callers must not change what it returns."""

    @functools.cache
    def in_language(language, *args):
        with translation.override(language):
            return function(*args)

    @functools.wraps(function)
    def current(*args):
        return in_language(translation.get_language(), *args)

    return current
