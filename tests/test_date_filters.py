"""The date filters of lists and documents write what Django's date formats write, in WIB,
in both languages of the interface, and `singkat` shortens as `truncatechars` does."""

import datetime

import pytest
from django.template.defaultfilters import truncatechars
from django.utils import formats, timezone, translation

from activities.templatetags import sopflow

UTC = datetime.UTC
MOMENTS = [
    datetime.datetime(2026, 12, 31, 16, 59, tzinfo=UTC),  # 23:59 WIB, 31 December
    datetime.datetime(2026, 12, 31, 17, 0, tzinfo=UTC),  # 00:00 WIB, 1 January 2027
    datetime.datetime(2026, 9, 30, 18, 30, tzinfo=UTC),  # 01:30 WIB, 1 October
    datetime.datetime(2026, 5, 4, 2, 5, tzinfo=UTC),  # 09:05 WIB
]


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_dates_and_times_are_written_as_the_date_formats_write_them(language, moment):
    local = timezone.localtime(moment)
    assert local.utcoffset() == datetime.timedelta(hours=7)
    with translation.override(language):
        assert sopflow.tanggal(moment) == formats.date_format(local, "j F Y")
        assert sopflow.tanggal(local.date()) == formats.date_format(local.date(), "j F Y")
        assert sopflow.waktu(moment) == formats.date_format(local, "j F Y H:i")
        assert sopflow.jam(moment) == formats.date_format(local, "H.i")
    assert sopflow.tanggal(None) == sopflow.waktu(None) == sopflow.jam(None) == ""


def test_the_first_of_january_in_jakarta_is_already_the_new_year():
    with translation.override("id"):
        assert sopflow.waktu(MOMENTS[1]) == "1 Januari 2027 00:00"


@pytest.mark.parametrize("text", ["", "Rapat", "Sosialisasi Wawasan Kebangsaan " * 4, "é" * 80])
@pytest.mark.parametrize("length", [1, 10, 60])
def test_singkat_shortens_as_truncatechars(text, length):
    assert sopflow.singkat(text, length) == truncatechars(text, length)
