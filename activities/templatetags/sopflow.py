"""Presentation helpers shared by pages and PDFs: Indonesian dates, NIP, durations."""

from django import template
from django.utils import formats, timezone

from activities import durations, models, timing

register = template.Library()


@register.filter
def tanggal(value):
    """23 November 2026 (Django's id locale would abbreviate the month)."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
    return formats.date_format(value, "j F Y")


@register.filter
def hari_tanggal(value):
    """Senin, 23 November 2026."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
    return formats.date_format(value, "l, j F Y")


@register.filter
def waktu(value):
    """23 November 2026 14:05 in WIB."""
    if not value:
        return ""
    value = timezone.localtime(value)
    return formats.date_format(value, "j F Y H:i")


@register.filter
def jam(value):
    """14.30 in WIB: the time of day as Indonesian writes it."""
    if not value:
        return ""
    return formats.date_format(timezone.localtime(value), "H.i")


@register.filter
def nip(value):
    return models.format_nip(value)


@register.filter
def menit(value):
    """Office minutes as the documents write durations: 5 hari 4 jam 45 menit."""
    if value is None or value == "":
        return ""
    return timing.format_minutes(value)


@register.filter
def persen(value):
    if value is None:
        return "–"
    return f"{round(value * 100)}%"


@register.simple_tag
def total_waktu(days, minutes):
    return durations.format_total(days, minutes)
