""" "1 hari" is one working day of the step's unit, wherever a duration is shown or compared.

Kesbangpol's regular week becomes 8-hour days (Monday to Friday 08:00-12:00 and 13:00-17:00,
480 minutes) by editing its `UnitWorkingHours`, as an admin would. Its SOP 1 has "1 hari" steps
(8, 9 and 11) and a "2 hari" step (12). A round of step 8 worked from 08:00 to 17:00 on an
8-hour day took exactly one day: it is shown as "1 hari" (not the "1 hari 30 menit" a
450-minute day would make of 480 minutes) and kept its standard.
"""

import datetime

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse

from activities.documents import laporan
from activities.models import Run, Sop, Step, UnitWorkingHours
from activities.monitoring import statistics
from activities.time.periods import Period
from tests.rundata import Plan, add_runs, wib

EIGHT_HOURS = [(datetime.time(8), datetime.time(12)), (datetime.time(13), datetime.time(17))]
# SOP 1's steps 1-7 take 150 minutes; step 8 (1 hari) waits from 10:30 until Tuesday 08:00,
# then is worked until 17:00: 540 wall minutes, 480 office minutes of an 8-hour day.
ONE_DAY_OF_WORK = [
    (1, 0, 15, False),
    (2, 0, 15, False),
    (3, 0, 30, False),
    (4, 0, 60, False),
    (5, 0, 10, False),
    (6, 0, 10, False),
    (7, 0, 10, False),
    (8, 21 * 60 + 30, 9 * 60, False),
]
SEPTEMBER = "?dari=2026-09-01&sampai=2026-09-30"


def standard_minutes(sop):
    return dict(Step.objects.filter(sop=sop).values_list("number", "standard_minutes"))


def give_eight_hour_days(unit):
    for weekday in range(5):
        for start, end in EIGHT_HOURS:
            UnitWorkingHours.objects.create(unit=unit, weekday=weekday, start=start, end=end)


@pytest.fixture
def eight_hour_sop(sop1):
    give_eight_hour_days(sop1.unit)
    return Sop.objects.select_related("unit").get(pk=sop1.pk)


@pytest.fixture
def day_run(eight_hour_sop):
    (run,) = add_runs(
        eight_hour_sop,
        [Plan(wib(2026, 9, 7, 8), ONE_DAY_OF_WORK, status=Run.Status.RUNNING)],
    )
    return run


def test_the_stored_minutes_of_day_standards_follow_a_calendar_change(sop1):
    before = standard_minutes(sop1)
    texts = list(Step.objects.filter(sop=sop1).order_by("number").values_list("standard_text"))
    assert (before[8], before[12], before[1]) == (450, 900, 15)
    # A run freezes the version: its minutes still follow the calendar, its text does not move.
    add_runs(sop1, [Plan(wib(2026, 9, 7, 8), ONE_DAY_OF_WORK[:1], status=Run.Status.RUNNING)])
    assert Sop.objects.get(pk=sop1.pk).is_frozen

    give_eight_hour_days(sop1.unit)

    after = standard_minutes(sop1)
    assert (after[8], after[9], after[11], after[12]) == (480, 480, 480, 960)
    assert {n: m for n, m in after.items() if n not in (8, 9, 11, 12)} == {
        n: m for n, m in before.items() if n not in (8, 9, 11, 12)
    }
    assert (
        list(Step.objects.filter(sop=sop1).order_by("number").values_list("standard_text")) == texts
    )

    UnitWorkingHours.objects.filter(unit=sop1.unit).first().delete()  # Monday morning goes
    # The longest remaining day still has 8 hours.
    assert standard_minutes(sop1)[8] == 480
    for row in UnitWorkingHours.objects.filter(unit=sop1.unit):
        row.delete()
    # Back on the ASN default week.
    assert standard_minutes(sop1) == before


def test_the_menit_filter_counts_days_of_the_day_it_is_given():
    template = Template("{% load sopflow %}{{ minutes|menit:day }}")
    assert template.render(Context({"minutes": 480, "day": 480})) == "1 hari"
    assert template.render(Context({"minutes": 480, "day": 450})) == "1 hari 30 menit"
    assert template.render(Context({"minutes": 2535, "day": 450})) == "5 hari 4 jam 45 menit"
    # Without a day the page does not compile: none can fall back to another unit's day.
    with pytest.raises(TemplateSyntaxError):
        Template("{% load sopflow %}{{ minutes|menit }}")


def test_the_sop_page_keeps_its_days_and_totals(client_for, eight_hour_sop):
    text = client_for("kasi").get(reverse("sop_detail", args=[eight_hour_sop.pk])).text
    assert "5 hari 4 jam 45 menit" in text
    assert "1 hari" in text
    assert "1 hari 30 menit" not in text


def test_the_run_page_shows_a_day_of_work_as_one_day(client_for, day_run):
    text = client_for("kasi").get(reverse("run_detail", args=[day_run.pk])).text
    assert "1 hari jam kerja (standar 1 hari)" in text
    assert "1 hari 30 menit" not in text


def test_the_laporan_shows_a_day_of_work_as_one_day(day_run):
    report = laporan.build_run_report(day_run.pk, now=wib(2026, 9, 8, 17))
    row = next(row for row in report.rows if row.number == 8)
    assert (row.standard_text, row.actual, row.difference, row.late) == (
        "1 hari",
        "1 hari",
        "0 menit",
        False,
    )
    # Wall-clock time stays in days of 24 hours.
    assert row.wall == "9 jam"
    assert report.timing.day_minutes == 480


def test_statistics_compare_and_show_in_the_units_day(client_for, eight_hour_sop, day_run):
    stats = statistics.for_sop(
        eight_hour_sop, Period(datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
    )
    step8 = next(stat for stat in stats.steps if stat.number == 8)
    # Compared in SQL with the stored standard, which followed the calendar.
    assert (step8.handling_median, step8.standard_minutes, step8.within) == (480, 480, 1)
    assert not step8.median_late
    assert stats.display(step8.standard_minutes) == "1 hari"

    response = client_for("kasi").get(
        reverse("sop_statistics", args=[eight_hour_sop.pk]) + SEPTEMBER
    )
    assert response.status_code == 200
    assert '<td class="text-end text-nowrap">1 hari</td>' in response.text
    assert '<td class="text-end text-nowrap">2 hari</td>' in response.text
    assert "1 hari 30 menit" not in response.text


def test_the_default_calendar_keeps_its_450_minute_day(client_for, sop1):
    assert sop1.unit.calendar.day_minutes == 450
    assert sop1.standard_total_display() == "5 hari 4 jam 45 menit"
    (run,) = add_runs(sop1, [Plan(wib(2026, 9, 7, 8), ONE_DAY_OF_WORK, status=Run.Status.RUNNING)])
    # The same round is 08:00-12:00 and 13:00-16:00 of a default Tuesday: 420 minutes.
    report = laporan.build_run_report(run.pk, now=wib(2026, 9, 8, 17))
    row = next(row for row in report.rows if row.number == 8)
    assert (row.actual, row.difference, row.late) == ("7 jam", "-30 menit", False)
