"""Pasted text: one table row per line, cells separated by tabs."""

from django.utils.translation import gettext as _

from activities.authoring.importers.common import MAX_TEXT_CHARS, ImportRefused, parse_rows


def read_text(text, unit_roles=()):
    """Pasted text: one table row per line, cells separated by tabs."""
    if not text or not text.strip():
        raise ImportRefused(_("Teks yang ditempel kosong."))
    if len(text) > MAX_TEXT_CHARS:
        raise ImportRefused(
            _("Teks terlalu panjang (lebih dari %(n)s karakter).") % {"n": MAX_TEXT_CHARS}
        )
    text = text.replace("\x00", "").replace("\r\n", "\n")
    rows = [line.split("\t") for line in text.split("\n")]
    return parse_rows(rows, unit_roles)
