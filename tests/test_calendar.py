import datetime
import zoneinfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.time.calendar import DEFAULT_WEEK, RAMADAN_WEEK, OfficeCalendar

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
UTC = datetime.UTC

# Week of Mon 7 Sep 2026 to Fri 11 Sep 2026 has no Indonesian holidays.
MONDAY = datetime.date(2026, 9, 7)
INDEPENDENCE_DAY_2026 = datetime.date(2026, 8, 17)  # public holiday, Monday
CUTI_BERSAMA_2025 = datetime.date(2025, 8, 18)  # joint leave, Monday
RAMADAN_1447 = (datetime.date(2026, 2, 18), datetime.date(2026, 3, 19))


def wib(year, month, day, hour, minute=0, second=0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=WIB)


@pytest.fixture(scope="module")
def calendar():
    return OfficeCalendar()


def test_default_weeks_add_up():
    def length(week):
        return sum(
            (
                datetime.datetime.combine(MONDAY, end) - datetime.datetime.combine(MONDAY, start)
            ).total_seconds()
            / 60
            for intervals in week.values()
            for start, end in intervals
        )

    assert set(DEFAULT_WEEK) == set(RAMADAN_WEEK) == {0, 1, 2, 3, 4}
    assert length(DEFAULT_WEEK) == 37.5 * 60
    assert length(RAMADAN_WEEK) == 32.5 * 60


def test_within_a_morning(calendar):
    assert calendar.office_minutes(wib(2026, 9, 8, 8), wib(2026, 9, 8, 9, 15)) == 75


def test_keeps_seconds(calendar):
    assert calendar.office_minutes(wib(2026, 9, 8, 8), wib(2026, 9, 8, 8, 0, 30)) == 0.5


def test_across_lunch_break(calendar):
    assert calendar.office_minutes(wib(2026, 9, 8, 11, 30), wib(2026, 9, 8, 13, 30)) == 60


def test_across_a_night(calendar):
    assert calendar.office_minutes(wib(2026, 9, 7, 15), wib(2026, 9, 8, 9)) == 60 + 90


def test_across_a_weekend(calendar):
    assert calendar.office_minutes(wib(2026, 9, 11, 16), wib(2026, 9, 14, 8)) == 30 + 30


def test_across_friday_break(calendar):
    assert calendar.office_minutes(wib(2026, 9, 11, 11), wib(2026, 9, 11, 13, 30)) == 30 + 30


def test_whole_working_week(calendar):
    assert calendar.office_minutes(wib(2026, 9, 7, 0), wib(2026, 9, 12, 0)) == 2250


def test_entirely_outside_office_hours(calendar):
    assert calendar.office_minutes(wib(2026, 9, 8, 20), wib(2026, 9, 8, 21)) == 0
    assert calendar.office_minutes(wib(2026, 9, 12, 9), wib(2026, 9, 12, 15)) == 0
    assert calendar.office_minutes(wib(2026, 9, 8, 6), wib(2026, 9, 8, 7, 30)) == 0
    assert calendar.office_minutes(wib(2026, 9, 8, 12), wib(2026, 9, 8, 13)) == 0


def test_end_not_after_start(calendar):
    assert calendar.office_minutes(wib(2026, 9, 8, 9), wib(2026, 9, 8, 9)) == 0
    assert calendar.office_minutes(wib(2026, 9, 8, 10), wib(2026, 9, 8, 9)) == 0


def test_naive_datetimes_rejected(calendar):
    with pytest.raises(ValueError):
        calendar.office_minutes(datetime.datetime(2026, 9, 8, 8), wib(2026, 9, 8, 9))


def test_public_holiday_is_off(calendar):
    public = holidays.country_holidays("ID", years=2026, categories=("public",), language="id")
    assert INDEPENDENCE_DAY_2026 in public
    assert not calendar.is_working_day(INDEPENDENCE_DAY_2026)
    assert calendar.day_off_reason(INDEPENDENCE_DAY_2026) == public.get(INDEPENDENCE_DAY_2026)
    assert calendar.intervals(INDEPENDENCE_DAY_2026) == []
    # Fri 15:00-16:30, Monday off, Tue 07:30-09:00.
    assert calendar.office_minutes(wib(2026, 8, 14, 15), wib(2026, 8, 18, 9)) == 90 + 90


def test_cuti_bersama_is_off():
    government = holidays.country_holidays("ID", years=2025, categories=("government",))
    public = holidays.country_holidays("ID", years=2025, categories=("public",))
    assert CUTI_BERSAMA_2025 in government
    assert CUTI_BERSAMA_2025 not in public

    class PublicHolidaysOnly(OfficeCalendar):
        HOLIDAY_CATEGORIES = ("public",)

    start, end = wib(2025, 8, 15, 16), wib(2025, 8, 19, 8)
    calendar = OfficeCalendar()
    assert not calendar.is_working_day(CUTI_BERSAMA_2025)
    assert "Cuti Bersama" in calendar.day_off_reason(CUTI_BERSAMA_2025)
    assert calendar.office_minutes(start, end) == 30 + 30
    assert PublicHolidaysOnly().is_working_day(CUTI_BERSAMA_2025)
    assert PublicHolidaysOnly().office_minutes(start, end) == 30 + 450 + 30


def test_national_holidays_can_be_disabled():
    calendar = OfficeCalendar(national_holidays=False)
    assert calendar.is_working_day(INDEPENDENCE_DAY_2026)


def test_unit_day_off():
    calendar = OfficeCalendar(days_off={datetime.date(2026, 9, 8): "Rapat kerja"})
    assert calendar.day_off_reason(datetime.date(2026, 9, 8)) == "Rapat kerja"
    assert calendar.office_minutes(wib(2026, 9, 7, 15), wib(2026, 9, 9, 9)) == 60 + 90

    plain = OfficeCalendar(days_off=[datetime.date(2026, 9, 8)])
    assert not plain.is_working_day(datetime.date(2026, 9, 8))
    assert plain.day_off_reason(datetime.date(2026, 9, 8))
    assert plain.is_working_day(datetime.date(2026, 9, 9))


def test_day_off_reasons(calendar):
    assert calendar.day_off_reason(datetime.date(2026, 9, 12)) == "Sabtu"
    assert calendar.day_off_reason(datetime.date(2026, 9, 13)) == "Minggu"
    assert calendar.day_off_reason(MONDAY) is None
    assert calendar.is_working_day(MONDAY)


def test_ramadan_schedule():
    calendar = OfficeCalendar(special_weeks=[(*RAMADAN_1447, RAMADAN_WEEK)])
    monday, friday = datetime.date(2026, 2, 23), datetime.date(2026, 2, 27)
    assert calendar.office_minutes(wib(2026, 2, 23, 0), wib(2026, 2, 24, 0)) == 390
    assert calendar.office_minutes(wib(2026, 2, 27, 0), wib(2026, 2, 28, 0)) == 390
    assert calendar.intervals(monday)[0][0] == wib(2026, 2, 23, 8)
    assert calendar.intervals(friday)[-1][1] == wib(2026, 2, 27, 15, 30)
    # Outside the range the default week applies again.
    assert calendar.office_minutes(wib(2026, 4, 6, 0), wib(2026, 4, 7, 0)) == 450


def test_intervals_are_aware_in_calendar_tz(calendar):
    intervals = calendar.intervals(MONDAY)
    assert intervals == [
        (wib(2026, 9, 7, 7, 30), wib(2026, 9, 7, 12)),
        (wib(2026, 9, 7, 13), wib(2026, 9, 7, 16)),
    ]
    assert all(moment.tzinfo == WIB for pair in intervals for moment in pair)


def test_utc_inputs_match_wib(calendar):
    cases = [
        (wib(2026, 9, 8, 8), wib(2026, 9, 8, 9, 15)),
        (wib(2026, 9, 7, 15), wib(2026, 9, 8, 9)),
        (wib(2026, 9, 11, 16), wib(2026, 9, 14, 8)),
        (wib(2026, 8, 14, 15), wib(2026, 8, 18, 9)),
    ]
    for start, end in cases:
        expected = calendar.office_minutes(start, end)
        assert calendar.office_minutes(start.astimezone(UTC), end.astimezone(UTC)) == expected
        assert calendar.office_minutes(start.astimezone(UTC), end) == expected
    # 01:00 UTC is 08:00 WIB.
    start = datetime.datetime(2026, 9, 8, 1, tzinfo=UTC)
    assert calendar.office_minutes(start, start + datetime.timedelta(hours=1)) == 60


def test_whole_year_counts_working_days(calendar):
    start, end = wib(2026, 1, 1, 0), wib(2027, 1, 1, 0)
    days = [datetime.date(2026, 1, 1) + datetime.timedelta(n) for n in range(365)]
    working = sum(calendar.is_working_day(day) for day in days)
    assert 230 < working < 250
    assert calendar.office_minutes(start, end) == working * 450


def test_rejects_bad_weeks():
    with pytest.raises(ValueError):
        OfficeCalendar(week={0: ((datetime.time(12), datetime.time(8)),)})
    with pytest.raises(ValueError):
        OfficeCalendar(
            week={
                0: (
                    (datetime.time(8), datetime.time(12)),
                    (datetime.time(11), datetime.time(13)),
                )
            }
        )
    with pytest.raises(ValueError):
        OfficeCalendar(special_weeks=[(datetime.date(2026, 3, 1), datetime.date(2026, 2, 1), {})])


def day_by_day_office_minutes(calendar, start, end):
    """Office minutes the plain way: every day between, each clipped to the moments."""
    utc = datetime.UTC
    start, end = start.astimezone(utc), end.astimezone(utc)
    if end <= start:
        return 0.0
    day, last_day = start.astimezone(calendar.tz).date(), end.astimezone(calendar.tz).date()
    worked = datetime.timedelta()
    while day <= last_day:
        for open_at, close_at in calendar.intervals(day):
            lower, upper = max(start, open_at.astimezone(utc)), min(end, close_at.astimezone(utc))
            if upper > lower:
                worked += upper - lower
        day += datetime.timedelta(days=1)
    return worked / datetime.timedelta(minutes=1)


SPECIAL = [(datetime.date(2025, 3, 1), datetime.date(2025, 3, 30), RAMADAN_WEEK)]
DAYS_OFF = {datetime.date(2025, 1, 2): "Cuti bersama", datetime.date(2025, 8, 18): "Cuti"}
BASE = wib(2024, 12, 1, 0)
# Moments over 400 days from December 2024 (a year end, Ramadan's week, days off, two
# turns of the year's holidays); spans from a few minutes to half a year, to the second.
INTERVALS = st.tuples(
    st.integers(0, 400 * 24 * 60),
    st.one_of(st.integers(0, 600), st.integers(0, 200 * 24 * 60)),
    st.integers(0, 59),
)


# Pure arithmetic, a few milliseconds an example: five times the profile's examples.
@settings(max_examples=settings.default.max_examples * 5)
@given(st.lists(INTERVALS, min_size=1, max_size=40))
def test_office_minutes_equal_the_day_by_day_sum_on_random_intervals(intervals):
    # One calendar answers the whole list: its running totals are built from wherever it is
    # asked first and must hold for every later question.
    calendar = OfficeCalendar(days_off=dict(DAYS_OFF), special_weeks=SPECIAL)
    for offset, length, seconds in intervals:
        start = BASE + datetime.timedelta(minutes=offset)
        end = start + datetime.timedelta(minutes=length, seconds=seconds)
        assert calendar.office_minutes(start, end) == day_by_day_office_minutes(
            calendar, start, end
        ), (start, end)


def test_the_running_totals_follow_a_day_off_added_later():
    calendar = OfficeCalendar(days_off=dict(DAYS_OFF), special_weeks=SPECIAL)
    start, end = wib(2025, 5, 1, 9), wib(2025, 7, 1, 9)
    assert calendar.office_minutes(start, end) == day_by_day_office_minutes(calendar, start, end)
    # A day off added later counts: the running totals follow the calendar.
    calendar.days_off[datetime.date(2025, 6, 2)] = "Cuti"
    assert calendar.office_minutes(start, end) == day_by_day_office_minutes(calendar, start, end)
