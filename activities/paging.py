"""Keyset pagination on (a moment, id), newest or oldest first.

Lists of runs grow for years; COUNT + OFFSET pages get slower the deeper they go, while a
keyset page costs the same everywhere. A cursor is the (moment, id) of a page's edge row, in
the URL as "<microseconds since 1970>-<id>".
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def encode_cursor(moment, pk):
    return f"{(moment - EPOCH) // datetime.timedelta(microseconds=1)}-{pk}"


def decode_cursor(value):
    """(moment, pk) from `encode_cursor`'s text, or None for anything else."""
    micros, _dash, pk = (value or "").partition("-")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    try:
        return EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)
    except OverflowError:
        return None


@dataclass
class Page:
    rows: list
    previous_cursor: str | None
    next_cursor: str | None


class InvalidCursor(ValueError):
    pass


def keyset_page(queryset, field, size, *, after=None, before=None, oldest_first=False):
    """The page of `queryset` after the cursor `after`, before `before`, or the first page.

    Rows come newest first on `field`, then id (oldest first with `oldest_first`); "after"
    is the direction of reading (older rows, or newer ones when oldest first). An unreadable
    cursor raises InvalidCursor.
    """
    forward, backward = ("gt", "lt") if oldest_first else ("lt", "gt")
    order = [field, "id"] if oldest_first else [f"-{field}", "-id"]
    reverse_order = [f"-{field}", "-id"] if oldest_first else [field, "id"]
    cursor_text = after if after is not None else before
    if cursor_text is None:
        rows = list(queryset.order_by(*order)[: size + 1])
        has_previous, has_next = False, len(rows) > size
        rows = rows[:size]
    else:
        cursor = decode_cursor(cursor_text)
        if cursor is None:
            raise InvalidCursor(cursor_text)
        moment, pk = cursor
        if after is not None:
            onward = Q(**{f"{field}__{forward}": moment}) | Q(
                **{field: moment, f"id__{forward}": pk}
            )
            rows = list(queryset.filter(onward).order_by(*order)[: size + 1])
            has_previous, has_next = True, len(rows) > size
            rows = rows[:size]
        else:
            back = Q(**{f"{field}__{backward}": moment}) | Q(
                **{field: moment, f"id__{backward}": pk}
            )
            rows = list(queryset.filter(back).order_by(*reverse_order)[: size + 1])
            has_previous, has_next = len(rows) > size, True
            rows = rows[:size][::-1]

    def edge(row):
        return encode_cursor(getattr(row, field), row.pk)

    return Page(
        rows=rows,
        previous_cursor=edge(rows[0]) if rows and has_previous else None,
        next_cursor=edge(rows[-1]) if rows and has_next else None,
    )
