"""Charts drawn on the server as SVG: no script, no third-party host, printable as they come.

Each chart is a self-contained `<svg>` with a `viewBox`, so it scales to the width of a phone or
a printed page; labels sit above their bars rather than beside them, so long step names stay
readable at 390 px. Colours keep apart in grey print (dark blue within the standard, red over
it, black for the standard itself). Every chart is shown with its table beneath: the chart is
for looking, the table for screen readers and copying.
"""

import itertools
from dataclasses import dataclass

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

WIDTH = 360
PAD = 8
FONT = 13
SMALL = 11
BAR = 14
ROW = FONT + BAR + 14

OK = "#1f4e8c"
LATE = "#c0392b"
MUTED = "#8a94a6"
INK = "#111"
GRID = "#d5d9e0"

_ids = itertools.count(1)


@dataclass
class Bar:
    label: str
    value: float
    reference: float | None = None
    text: str = ""
    reference_text: str = ""


def _svg(height, title, body, description=""):
    number = next(_ids)
    title_id, desc_id = f"chart-{number}-t", f"chart-{number}-d"
    labelled = f"{title_id} {desc_id}" if description else title_id
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{labelled}" font-family="Liberation Sans, Arial, sans-serif" '
        f'font-size="{FONT}">',
        f'<title id="{title_id}">{escape(title)}</title>',
    ]
    if description:
        parts.append(f'<desc id="{desc_id}">{escape(description)}</desc>')
    parts.extend(body)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _fit(text, limit=46):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _scale(values):
    top = max((v for v in values if v is not None), default=0)
    return top if top > 0 else 1


def hbars(bars, *, title, description="", legend=None):
    """Horizontal bars, one row each: the label above, the bar beneath with its value.

    A bar with a `reference` (the standard) is red when it exceeds it and gets a black tick
    at the reference; `legend` is [(colour, text)] drawn on top.
    """
    if not bars:
        return None
    top = _scale([b.value for b in bars] + [b.reference for b in bars])
    usable = WIDTH - 2 * PAD - 120
    body, y = [], PAD
    if legend:
        x = PAD
        for colour, text in legend:
            body.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
            body.append(
                f'<text x="{x + 16}" y="{y + 11}" font-size="{SMALL}">{escape(text)}</text>'
            )
            x += 24 + len(text) * 6.2
        y += 22
    for bar in bars:
        body.append(f'<text x="{PAD}" y="{y + FONT}">{escape(_fit(bar.label))}</text>')
        bar_y = y + FONT + 4
        length = max(bar.value, 0) / top * usable
        late = bar.reference is not None and bar.value > bar.reference
        colour = LATE if late else OK
        body.append(
            f'<rect x="{PAD}" y="{bar_y}" width="{length:.1f}" height="{BAR}" fill="{colour}"/>'
        )
        end = PAD + length
        if bar.reference is not None:
            x = PAD + bar.reference / top * usable
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bar_y - 3}" y2="{bar_y + BAR + 3}" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
            end = max(end, x)
        # A value that would run off the right edge goes inside its (long) bar, in white.
        if end + 4 + len(bar.text) * SMALL * 0.55 > WIDTH - PAD and length > WIDTH / 2:
            body.append(
                f'<text x="{PAD + length - 4:.1f}" y="{bar_y + BAR - 3}" font-size="{SMALL}" '
                f'text-anchor="end" fill="#fff">{escape(bar.text)}</text>'
            )
        else:
            body.append(
                f'<text x="{end + 4:.1f}" y="{bar_y + BAR - 3}" font-size="{SMALL}">'
                f"{escape(bar.text)}</text>"
            )
        y += ROW
    return _svg(y + PAD, title, body, description)


def columns(values, labels, *, title, description="", value_texts=None, highlight=None):
    """Vertical columns over a row of labels (the lead-time distribution)."""
    if not values:
        return None
    top = _scale(values)
    height = 200
    base = height - 34
    slot = (WIDTH - 2 * PAD) / len(values)
    width = max(slot - 6, 2)
    body = [f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{base}" y2="{base}" stroke="{GRID}"/>']
    for index, value in enumerate(values):
        x = PAD + index * slot + 3
        tall = value / top * (base - 24)
        colour = LATE if highlight and highlight[index] else OK
        body.append(
            f'<rect x="{x:.1f}" y="{base - tall:.1f}" width="{width:.1f}" height="{tall:.1f}" '
            f'fill="{colour}"/>'
        )
        text = value_texts[index] if value_texts else str(value)
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{base - tall - 4:.1f}" text-anchor="middle" '
            f'font-size="{SMALL}">{escape(text)}</text>'
        )
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{base + 14}" text-anchor="middle" '
            f'font-size="{SMALL}">{escape(labels[index])}</text>'
        )
    return _svg(height, title, body, description)


def line(points, labels, *, title, description="", top=None, value_texts=None, target=None):
    """A line through monthly points (None leaves a gap); `target` draws a dashed level."""
    if not any(p is not None for p in points):
        return None
    top = top or _scale([*points, target])
    height = 200
    base, ceiling = height - 34, 20
    span = base - ceiling
    step = (WIDTH - 2 * PAD - 20) / max(len(points) - 1, 1)

    def xy(index, value):
        return PAD + 10 + index * step, base - min(value, top) / top * span

    body = [
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{base}" y2="{base}" stroke="{GRID}"/>',
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{ceiling}" y2="{ceiling}" stroke="{GRID}"/>',
    ]
    if target is not None:
        _x, y = xy(0, target)
        body.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.1f}" y2="{y:.1f}" stroke="{MUTED}" '
            f'stroke-dasharray="5 4"/>'
        )
    segment = []
    for index, value in enumerate([*points, None]):
        if value is None:
            if len(segment) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{OK}" stroke-width="2.5"/>'
                )
            segment = []
            continue
        segment.append(xy(index, value))
    for index, value in enumerate(points):
        x, _y = xy(index, 0)
        body.append(
            f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle" font-size="{SMALL}">'
            f"{escape(labels[index])}</text>"
        )
        if value is None:
            continue
        x, y = xy(index, value)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{OK}"/>')
        text = value_texts[index] if value_texts else str(value)
        # The first and last labels are anchored inwards so that they stay inside the chart.
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        if len(points) == 1:
            anchor = "middle"
        body.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="{anchor}" font-size="{SMALL}">'
            f"{escape(text)}</text>"
        )
    return _svg(height, title, body, description)


# The charts of an SOP's statistics page -----------------------------------------------------


def _minutes(stats, value):
    """Office minutes of `stats` in days of its SOP's unit; "–" for none."""
    return "–" if value is None else stats.display(value)


def lead_bucket_labels(stats):
    """Labels of the lead-time buckets, as shares of the SOP's total standard time."""
    labels = []
    for lower, upper, count in stats.lead.buckets:
        if lower is None:
            text = f"≤ {round(upper * 100)}%"
        elif upper is None:
            text = f"> {round(lower * 100)}%"
        else:
            text = f"{round(lower * 100)}–{round(upper * 100)}%"
        labels.append((text, count, lower is not None and lower >= 1.0))
    return labels


def for_statistics(stats):
    """{name: SVG or None} for the statistics page and its printout."""
    worked = [stat for stat in stats.steps if stat.rounds]
    median = hbars(
        [
            Bar(
                label=f"{stat.number}. {stat.step.activity}",
                value=stat.handling_median,
                reference=stat.standard_minutes,
                text=_("%(median)s (baku %(standard)s)")
                % {
                    "median": _minutes(stats, stat.handling_median),
                    "standard": _minutes(stats, stat.standard_minutes),
                },
            )
            for stat in worked
        ],
        title=_("Median waktu kerja per langkah dibanding waktu baku"),
        description=_("Batang merah: median melebihi waktu baku; garis hitam: waktu baku."),
        legend=[(OK, _("dalam waktu baku")), (LATE, _("melebihi")), (INK, _("waktu baku"))],
    )
    ranking = hbars(
        [
            Bar(
                label=f"{stat.number}. {stat.step.activity}",
                value=stat.overrun,
                text=_minutes(stats, stat.overrun),
            )
            for stat in stats.bottlenecks[:10]
        ],
        title=_("Hambatan: jumlah kelebihan waktu per langkah"),
    )
    months = stats.months
    month_labels = [formats.date_format(month.month, "M y") for month in months]
    shares = [
        None if month.on_time_share is None else round(month.on_time_share * 100)
        for month in months
    ]
    on_time = line(
        shares,
        month_labels,
        title=_("Bagian langkah tepat waktu per bulan (%)"),
        top=100,
        value_texts=["" if share is None else f"{share}%" for share in shares],
    )
    lead_trend = line(
        [month.lead_median for month in months],
        month_labels,
        title=_("Median waktu tempuh kegiatan per bulan"),
        value_texts=[_minutes(stats, month.lead_median) for month in months],
        target=stats.standard_total or None,
    )
    buckets = lead_bucket_labels(stats)
    distribution = None
    if stats.lead.count:
        distribution = columns(
            [count for _text, count, _late in buckets],
            [text for text, _count, _late in buckets],
            title=_("Sebaran waktu tempuh kegiatan (terhadap jumlah waktu baku SOP)"),
            highlight=[late for _text, _count, late in buckets],
        )
    return {
        "median": median,
        "ranking": ranking,
        "on_time": on_time,
        "lead_trend": lead_trend,
        "distribution": distribution,
    }
