import datetime

import pytest

from activities.models import Run
from activities.paging import InvalidCursor, decode_cursor, encode_cursor, keyset_page


def test_cursor_round_trip_keeps_microseconds():
    moment = datetime.datetime(2026, 11, 23, 9, 5, 30, 123456, tzinfo=datetime.UTC)
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)


@pytest.mark.parametrize("text", ["", "abc-def", "12", "-5-3", "99999999999999999999999-1", None])
def test_unreadable_cursors_are_refused(text):
    assert decode_cursor(text) is None


def test_keyset_page_walks_forward_and_back_over_ties(users, sop1):
    from activities.core import workflow

    moment = datetime.datetime(2026, 11, 2, 2, 0, tzinfo=datetime.UTC)
    for index in range(7):
        workflow.open_run(
            sop=sop1,
            user=users["kasi"],
            title=f"Kegiatan {index}",
            scheduled_on=datetime.date(2026, 11, 30),
            place="Aula",
            now=moment if index < 4 else moment + datetime.timedelta(hours=index),
        )
    runs = Run.objects.all()
    seen, cursor, pages = [], None, []
    while True:
        page = keyset_page(runs, "opened_at", 3, after=cursor)
        pages.append(page)
        seen += [run.pk for run in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(runs.values_list("pk", flat=True)) and len(seen) == 7
    back = keyset_page(runs, "opened_at", 3, before=pages[-1].previous_cursor)
    assert [run.pk for run in back.rows] == [run.pk for run in pages[-2].rows]
    with pytest.raises(InvalidCursor):
        keyset_page(runs, "opened_at", 3, after="rusak")
