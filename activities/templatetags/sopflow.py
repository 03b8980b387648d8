"""Presentation helpers shared by pages and PDFs: Indonesian dates, NIP, durations."""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.text import Truncator

from activities import field_html, models
from activities.text import once_per_language
from activities.time import durations, timing

register = template.Library()


_day = timing.day_text


_rendered_once = once_per_language(render_to_string)


@register.simple_tag
def per_language(template_name):
    """The template `template_name`, which depends on the language only (no request, no user,
    no address): rendered once per process and language instead of on every page; rendered
    each time while DEBUG is on, so that an edited template shows."""
    if settings.DEBUG:
        return render_to_string(template_name)
    return _rendered_once(template_name)


@register.filter
def pelaksana(step, sop):
    """The step's pelaksana as `sop` (the version a run follows) prints them: a role renamed
    after that version froze keeps its old name (`Sop.role_name`)."""
    return sop.pelaksana(step)


@register.filter
def tanggal(value):
    """23 November 2026 (Django's id locale would abbreviate the month)."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
    return _day(value)


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
    return timing.moment_text(value)


@register.filter
def jam(value):
    """14.30 in WIB: the time of day as Indonesian writes it."""
    if not value:
        return ""
    value = timezone.localtime(value)
    return f"{value.hour:02d}.{value.minute:02d}"


@register.filter(is_safe=True)
def singkat(value, length):
    """`truncatechars` for the rows of a list: a text that fits is returned as it is, without
    walking it character by character."""
    text = str(value)
    if len(text) <= int(length):
        return text
    return Truncator(text).chars(int(length))


@register.filter
def nip(value):
    return models.format_nip(value)


@register.filter
def menit(value, day_minutes):
    """Office minutes as the documents write durations, in working days of the unit they were
    counted for: `{{ minutes|menit:timing.day_minutes }}` -> 5 hari 4 jam 45 menit. The day is
    required, so no page can fall back to another unit's day."""
    if value is None or value == "":
        return ""
    return timing.format_minutes(value, day_minutes)


@register.filter
def persen(value):
    if value is None:
        return "–"
    return f"{round(value * 100)}%"


@register.simple_tag
def total_waktu(days, minutes):
    return durations.format_total(days, minutes)


@register.filter
def form_fields(form):
    """A step form's fields as its `layout` places them (`activities.field_html`)."""
    return field_html.form_fields(form)
