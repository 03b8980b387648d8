"""Statistics of an SOP (/sop/<id>/statistik/) on runs with known times, asserted exactly."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activities.monitoring import aggregates, statistics
from activities.time.periods import Period
from tests.rundata import Plan, add_runs, straight, wib

SEPTEMBER = Period(datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
QUERY = "?dari=2026-09-01&sampai=2026-09-30"


def rework_plan(opened_at):
    """Run C: step 3 (Kepala Bidang) returns to step 2 once; steps 2 and 3 run twice."""
    return Plan(
        opened_at,
        [
            (1, 0, 20, False),
            (2, 0, 15, False),
            (3, 0, 5, True),
            (2, 0, 10, False),
            (3, 0, 8, False),
            (4, 0, 5, False),
            (5, 0, 5, False),
            (6, 0, 5, False),
            (7, 0, 100, False),
            (8, 0, 10, False),
            (9, 0, 5, False),
        ],
        title="C",
    )


@pytest.fixture
def known_runs(sop2):
    """SOP 2 (standards 20, 10, 5, 5, 5, 5, 120, 10, 5 minutes; 185 in all), September 2026,
    every run inside one morning's office hours:

    A (Tue 8th)  handling 10 5 5 5 5 5 60 10 5, no waiting          lead 110, 9 of 9 on time
    B (Wed 9th)  handling 30 10 5 5 5 5 100 10 5, waits 5 at step 2 lead 180, 8 of 9
    C (Thu 10th) rework above                                      lead 188, 7 of 9
    D (Fri 11th) running, step 1 active; E (Fri 11th) cancelled at step 1.
    """
    for day in (8, 9, 10, 11):
        assert sop2.unit.calendar.is_working_day(datetime.date(2026, 9, day))
    return add_runs(
        sop2,
        [
            straight(sop2, wib(2026, 9, 8, 8), [10, 5, 5, 5, 5, 5, 60, 10, 5], title="A"),
            straight(
                sop2,
                wib(2026, 9, 9, 8),
                [30, 10, 5, 5, 5, 5, 100, 10, 5],
                waits=[0, 5, 0, 0, 0, 0, 0, 0, 0],
                title="B",
            ),
            rework_plan(wib(2026, 9, 10, 8)),
            Plan(wib(2026, 9, 11, 8), [(1, 0, None, False)], status="running", title="D"),
            Plan(wib(2026, 9, 11, 9), [(1, 0, None, False)], status="cancelled", title="E"),
        ],
    )


def by_number(stats):
    return {stat.number: stat for stat in stats.steps}


def test_counts_of_the_period(sop2, known_runs):
    stats = statistics.for_sop(sop2, SEPTEMBER)
    assert (stats.opened, stats.finished, stats.cancelled, stats.open_at_end) == (5, 3, 1, 1)
    assert stats.standard_total == 185


def test_per_step_figures(sop2, known_runs):
    steps = by_number(statistics.for_sop(sop2, SEPTEMBER))
    first = steps[1]
    # Handling 10, 30, 20: median 20, p90 interpolated 20 + 0.8 × 10.
    assert (first.rounds, first.handling_median) == (3, 20.0)
    assert first.handling_p90 == pytest.approx(28.0, abs=1e-9)
    assert first.within == 2
    assert first.within_share == pytest.approx(2 / 3)
    assert first.overrun == 10.0
    second = steps[2]
    # Handling 5, 10, 15, 10 → sorted 5 10 10 15; waiting 0, 5, 0, 0.
    assert (second.rounds, second.handling_median) == (4, 10.0)
    assert second.handling_p90 == pytest.approx(13.5, abs=1e-9)
    assert second.waiting_median == 0.0
    assert second.waiting_p90 == pytest.approx(3.5, abs=1e-9)
    assert second.waiting_mean == 1.25
    assert (second.within, second.overrun) == (3, 5.0)
    third = steps[3]
    assert (third.rounds, third.returned, third.return_rate) == (4, 1, 0.25)
    assert (third.handling_median, third.handling_p90) == (5.0, pytest.approx(7.1, abs=1e-9))
    assert third.overrun == 3.0
    assert steps[7].handling_median == 100.0
    assert steps[7].within_share == 1.0
    assert not steps[7].median_late
    assert steps[9].rounds == 3


def test_bottleneck_ranking(sop2, known_runs):
    stats = statistics.for_sop(sop2, SEPTEMBER)
    assert [(stat.number, stat.overrun) for stat in stats.bottlenecks] == [
        (1, 10.0),
        (2, 5.0),
        (3, 3.0),
    ]
    assert stats.worst_return_rate == 0.25


def test_lead_times_and_their_spread(sop2, known_runs):
    lead = statistics.for_sop(sop2, SEPTEMBER).lead
    assert (lead.count, lead.minimum, lead.median, lead.maximum) == (3, 110.0, 180.0, 188.0)
    assert lead.p90 == pytest.approx(186.4, abs=1e-9)
    assert lead.p10 == pytest.approx(124.0, abs=1e-9)
    assert lead.mean == pytest.approx(478 / 3)
    # Buckets of the 185-minute standard: ≤ 50 %, 50–100 %, 100–150 %, …
    assert [count for _low, _high, count in lead.buckets] == [0, 2, 1, 0, 0, 0]


def test_on_time_share_and_monthly_trend(sop2, known_runs):
    stats = statistics.for_sop(sop2, SEPTEMBER)
    assert (stats.steps_on_time, stats.steps_done) == (24, 27)
    assert len(stats.months) == 1
    month = stats.months[0]
    assert month.month == datetime.date(2026, 9, 1)
    assert (month.finished, month.lead_median) == (3, 180.0)
    assert month.on_time_share == pytest.approx(24 / 27)


def test_months_follow_jakarta_time(sop2):
    """A run finished at 00:30 WIB on 1 October belongs to October, not to September (UTC)."""
    late = Plan(
        datetime.datetime(2026, 9, 30, 16, 0, tzinfo=datetime.UTC),
        [(number, 0, 5 if number != 9 else 30, False) for number in range(1, 10)],
    )
    add_runs(sop2, [late])
    stats = statistics.for_sop(sop2, Period(datetime.date(2026, 9, 1), datetime.date(2026, 12, 31)))
    assert [month.month for month in stats.months] == [datetime.date(2026, 10, 1)]


def test_a_period_without_runs(sop2, known_runs):
    stats = statistics.for_sop(sop2, Period(datetime.date(2025, 1, 1), datetime.date(2025, 6, 30)))
    assert (stats.opened, stats.finished, stats.rounds, stats.lead.count) == (0, 0, 0, 0)
    assert stats.on_time_share is None
    assert stats.bottlenecks == []


def test_python_percentile_matches_postgresql_definition():
    assert aggregates.percentile_cont([1.0], 0.9) == 1.0
    assert aggregates.percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert aggregates.percentile_cont([10.0, 20.0, 30.0], 0.9) == pytest.approx(28.0, abs=1e-9)
    with pytest.raises(ValueError):
        aggregates.Percentile("x", 1.5)


# The page ------------------------------------------------------------------------------------


def test_page_shows_figures_charts_and_tables(client_for, sop2, known_runs):
    response = client_for("kabid").get(reverse("sop_statistics", args=[sop2.pk]) + QUERY)
    assert response.status_code == 200
    text = response.text
    assert text.count("<svg") == 5
    assert "Hambatan" in text
    # Each chart is followed by its table.
    assert text.count("<table") >= 4
    assert "https://" not in text.split("<main", 1)[1].split("</main>")[0]
    assert response.context["stats"].bottlenecks[0].number == 1


def test_default_period_is_the_current_semester_in_jakarta(client_for, sop2, time_machine):
    # 30 June 23:30 WIB is still the first semester (16:30 UTC).
    time_machine.move_to(datetime.datetime(2026, 6, 30, 16, 30, tzinfo=datetime.UTC))
    response = client_for("kabid").get(reverse("sop_statistics", args=[sop2.pk]))
    assert response.context["period"] == Period(
        datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)
    )
    # 1 July 01:00 WIB is the second (30 June 18:00 UTC).
    time_machine.move_to(datetime.datetime(2026, 6, 30, 18, 0, tzinfo=datetime.UTC))
    response = client_for("kabid").get(reverse("sop_statistics", args=[sop2.pk]))
    assert response.context["period"].start == datetime.date(2026, 7, 1)


def test_bad_dates_get_a_message_and_the_default(client_for, sop2):
    response = client_for("kabid").get(
        reverse("sop_statistics", args=[sop2.pk]) + "?dari=2026-09-30&sampai=2026-09-01"
    )
    assert response.status_code == 200
    assert "tidak boleh sebelum" in response.text


def page_queries(client, sop):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("sop_statistics", args=[sop.pk]) + "?dari=2026-01-01&sampai=2026-12-31"
        )
    assert response.status_code == 200
    return len(queries)


def test_queries_are_flat_with_10_and_1000_runs(client_for, sop2):
    client = client_for("kabid")
    handling = [10, 5, 5, 5, 5, 5, 60, 10, 5]
    start = wib(2026, 9, 8, 8)
    add_runs(sop2, [straight(sop2, start, handling) for _ in range(10)])
    small = page_queries(client, sop2)
    add_runs(sop2, [straight(sop2, start, handling) for _ in range(990)])
    large = page_queries(client, sop2)
    assert small == large
    # Session, user, the user's roles and today's acting appointments (the policy's facts, read
    # once for the fetch and the access check), SOP + unit, steps, their roles, identity items,
    # five aggregates, the user's step ids, the inbox count and the bell's unread count.
    assert large <= 15


@pytest.mark.parametrize("username", ["kabid", "subkor", "admin"])
def test_monitors_see_statistics(client_for, sop2, username):
    assert client_for(username).get(reverse("sop_statistics", args=[sop2.pk])).status_code == 200


@pytest.mark.parametrize("username", ["tim", "supir"])
def test_other_roles_get_403(client_for, sop2, username):
    assert client_for(username).get(reverse("sop_statistics", args=[sop2.pk])).status_code == 403


@pytest.mark.parametrize("username", ["kepala", "kasubag_tu", "outsider"])
def test_other_units_get_404(client_for, sop2, username):
    assert client_for(username).get(reverse("sop_statistics", args=[sop2.pk])).status_code == 404


def test_statistics_links_only_for_monitors(client_for, sop1):
    assert "Statistik" in client_for("kasi").get(reverse("sop_detail", args=[sop1.pk])).text
    assert "Statistik" not in client_for("staf").get(reverse("sop_detail", args=[sop1.pk])).text
