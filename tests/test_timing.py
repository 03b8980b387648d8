"""Time spent against the standard: office time under the unit's calendar, wall-clock beside it.

Runs are built in the past through the workflow (explicit `now`, started_at, completed_at), so
every number here follows from the dates written in the test. Mon 7 – Fri 11 and Mon 14 Sep
2026 have no Indonesian holidays.
"""

import datetime
import zoneinfo

import pytest
import time_machine

from activities.core import workflow
from activities.models import Run, UnitDayOff
from activities.time.timing import format_minutes, run_timing
from tests.test_workflow import act, open_run, send_back

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def wib(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WIB)


def timing_of(run, now=None):
    run = Run.objects.select_related("unit").get(pk=run.pk)
    return run_timing(run, list(run.step_runs.select_related("step")), run.unit.calendar, now=now)


def first_step(sop, user, *, opened, started, completed):
    """A run whose step 1 was active from `opened` and worked from `started` to `completed`."""
    run = open_run(sop, user, now=opened)
    act(run, 1, started_at=started, completed_at=completed, now=completed)
    timing = timing_of(run, now=completed)
    return timing.rounds[0]


@pytest.mark.parametrize(
    ("opened", "started", "completed", "office", "wall"),
    [
        pytest.param(
            wib(2026, 9, 8, 15),
            wib(2026, 9, 8, 15, 30),
            wib(2026, 9, 9, 9),
            30 + 90,
            17.5 * 60,
            id="across a night",
        ),
        pytest.param(
            wib(2026, 9, 11, 15, 30),
            wib(2026, 9, 11, 15, 30),
            wib(2026, 9, 14, 8, 30),
            60 + 60,
            (3 * 24 - 7) * 60,
            id="across a weekend",
        ),
        pytest.param(
            wib(2026, 8, 14, 16),
            wib(2026, 8, 14, 16),
            wib(2026, 8, 18, 8),
            30 + 30,
            (4 * 24 - 8) * 60,
            id="across Independence Day 2026",
        ),
        pytest.param(
            wib(2025, 8, 15, 16),
            wib(2025, 8, 15, 16),
            wib(2025, 8, 19, 8),
            30 + 30,
            (4 * 24 - 8) * 60,
            id="across the cuti bersama of 18 August 2025",
        ),
        pytest.param(
            wib(2026, 9, 11, 11),
            wib(2026, 9, 11, 11),
            wib(2026, 9, 11, 13, 30),
            30 + 30,
            150,
            id="across the Friday break",
        ),
        pytest.param(
            wib(2026, 9, 8, 12),
            wib(2026, 9, 8, 12),
            wib(2026, 9, 8, 13),
            0,
            60,
            id="within the lunch break",
        ),
    ],
)
def test_actual_time_is_office_time_with_wall_clock_beside_it(
    sop1, users, opened, started, completed, office, wall
):
    row = first_step(sop1, users["kasi"], opened=opened, started=started, completed=completed)
    assert row.actual_minutes == office
    assert row.wall_minutes == wall
    assert row.standard_minutes == 15
    assert row.late == (office > 15)
    assert row.difference_minutes == office - 15


def test_lead_time_runs_from_activation_actual_time_from_start(sop1, users):
    row = first_step(
        sop1,
        users["kasi"],
        opened=wib(2026, 9, 8, 15),
        started=wib(2026, 9, 8, 15, 45),
        completed=wib(2026, 9, 8, 15, 55),
    )
    assert row.actual_minutes == 10
    assert row.lead_minutes == 55
    assert not row.late  # late is judged on the work itself, 10 of 15 minutes


@pytest.mark.parametrize(
    ("started", "completed"),
    [
        (wib(2026, 9, 8, 19), wib(2026, 9, 8, 21)),
        (wib(2026, 9, 12, 9), wib(2026, 9, 12, 11)),  # a Saturday
    ],
    ids=["in the evening", "on a Saturday"],
)
def test_work_outside_office_hours_counts_no_office_time(sop1, users, started, completed):
    # The SOP standard is office time, so overtime does not count against it; the wall-clock
    # duration is still shown for what really happened.
    row = first_step(sop1, users["kasi"], opened=started, started=started, completed=completed)
    assert row.actual_minutes == 0
    assert row.wall_minutes == 120
    assert not row.late
    assert format_minutes(row.actual_minutes, row.day_minutes) == "0 menit"


def test_the_units_own_day_off_is_not_office_time(sop1, users):
    UnitDayOff.objects.create(unit=sop1.unit, date=datetime.date(2026, 9, 9), description="Pilkada")
    row = first_step(
        sop1,
        users["kasi"],
        opened=wib(2026, 9, 8, 15),
        started=wib(2026, 9, 8, 15),
        completed=wib(2026, 9, 10, 8),
    )
    assert row.actual_minutes == 60 + 30


def test_an_active_step_shows_its_elapsed_time_against_now(sop1, users):
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 8, 8))
    act(run, 1, completed_at=wib(2026, 9, 8, 8, 10), now=wib(2026, 9, 8, 8, 10))

    with time_machine.travel(wib(2026, 9, 8, 8, 20), tick=False):
        timing = timing_of(run)
    second = timing.rounds[1]
    assert (second.step_run.step.number, second.actual_minutes) == (2, None)
    assert second.elapsed_minutes == 10 and not second.late

    with time_machine.travel(wib(2026, 9, 8, 13, 30), tick=False):
        timing = timing_of(run)
    assert timing.rounds[1].elapsed_minutes == 230 + 30
    assert timing.rounds[1].late
    assert not timing.steps[1].late  # a step is judged late once done
    assert timing.lead_minutes == 240 + 30
    assert timing.lead_wall_minutes == 5.5 * 60


def test_a_cancelled_run_stops_its_clocks(sop1, users):
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 8, 8))
    workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason="Ditunda", now=wib(2026, 9, 8, 9))
    timing = timing_of(run, now=wib(2026, 9, 30, 9))
    assert timing.rounds[0].elapsed_minutes == 60
    assert timing.lead_minutes == 60
    assert timing.steps_done == 0 and timing.on_time_share is None


def test_returned_steps_accumulate_their_time(sop1, users):
    kasi, kepala = users["kasi"], users["kepala"]
    run = open_run(sop1, kasi, now=wib(2026, 9, 7, 8))
    act(run, 1, completed_at=wib(2026, 9, 7, 8, 20), now=wib(2026, 9, 7, 8, 20))
    send_back(run, 2, kepala, completed_at=wib(2026, 9, 7, 8, 30), now=wib(2026, 9, 7, 8, 30))
    act(run, 1, completed_at=wib(2026, 9, 7, 8, 40), now=wib(2026, 9, 7, 8, 40))
    act(run, 2, kepala, completed_at=wib(2026, 9, 7, 8, 52), now=wib(2026, 9, 7, 8, 52))

    timing = timing_of(run, now=wib(2026, 9, 7, 9))

    rows = [(r.step_run.step.number, r.step_run.round, r.actual_minutes) for r in timing.rounds[:4]]
    assert rows == [(1, 1, 20), (1, 2, 10), (2, 1, 10), (2, 2, 12)]
    assert [r.late for r in timing.rounds[:4]] == [True, False, False, False]
    first, second = timing.steps[:2]
    assert (first.actual_minutes, first.rounds, first.done, first.late) == (30, 2, True, True)
    assert (second.actual_minutes, second.rounds, second.done, second.late) == (22, 2, True, True)
    assert timing.actual_total_minutes == 52
    assert timing.steps_done == 2 and timing.on_time_share == 0


def test_a_step_sent_back_is_not_done_until_its_new_round_is(sop1, users):
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 7, 8))
    act(run, 1, completed_at=wib(2026, 9, 7, 8, 10), now=wib(2026, 9, 7, 8, 10))
    send_back(run, 2, completed_at=wib(2026, 9, 7, 8, 20), now=wib(2026, 9, 7, 8, 20))
    timing = timing_of(run, now=wib(2026, 9, 7, 8, 30))
    assert [total.done for total in timing.steps[:2]] == [False, False]
    assert timing.steps[0].actual_minutes == 10
    assert timing.rounds[1].elapsed_minutes == 10  # the new round of step 1, active since 8:20


# Each step of SOP 1 back to back from Monday 7 September 2026, 07:30: every step keeps its
# standard except step 4 (90 of 60 minutes). The run was opened the Friday before at 16:00.
SOP1_SCHEDULE = [
    (1, wib(2026, 9, 7, 7, 45)),
    (2, wib(2026, 9, 7, 8, 0)),
    (3, wib(2026, 9, 7, 8, 30)),
    (4, wib(2026, 9, 7, 10, 0)),
    (5, wib(2026, 9, 7, 10, 10)),
    (6, wib(2026, 9, 7, 10, 20)),
    (7, wib(2026, 9, 7, 10, 30)),
    (8, wib(2026, 9, 8, 10, 30)),  # 1 hari: Mon 10:30-16:00 is 270 minutes, Tue 07:30-10:30 180
    (9, wib(2026, 9, 9, 10, 30)),
    (10, wib(2026, 9, 9, 11, 0)),
    (11, wib(2026, 9, 10, 11, 0)),
    (12, wib(2026, 9, 14, 11, 0)),  # 2 hari: Thu 240 + Fri 450 + Mon 07:30-11:00 210
    (13, wib(2026, 9, 14, 11, 30)),
    (14, wib(2026, 9, 14, 11, 45)),
    (15, wib(2026, 9, 14, 13, 45)),  # 60 minutes of office time around the lunch break
]


@pytest.fixture
def finished_sop1_run(sop1, users):
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 4, 16))
    started = wib(2026, 9, 7, 7, 30)
    for number, completed in SOP1_SCHEDULE:
        act(run, number, started_at=started, completed_at=completed, now=completed)
        started = completed
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run


def test_run_totals_of_sop1(finished_sop1_run):
    with time_machine.travel(wib(2026, 10, 1, 9), tick=False):
        timing = timing_of(finished_sop1_run)  # a finished run no longer depends on now

    assert timing.standard_display == "5 hari 4 jam 45 menit"
    assert timing.standard_total_minutes == 5 * 450 + 285
    assert [round(total.actual_minutes) for total in timing.steps] == [
        15, 15, 30, 90, 10, 10, 10, 450, 450, 30, 450, 900, 30, 15, 60
    ]  # fmt: skip
    assert timing.actual_total_minutes == 2535 + 30
    assert timing.actual_display == "5 hari 5 jam 15 menit"
    assert timing.difference_minutes == 30 and timing.late
    assert [total.step.number for total in timing.steps if total.late] == [4]
    assert timing.steps_done == 15 and timing.steps_on_time == 14
    assert timing.on_time_share == pytest.approx(14 / 15)
    # Opened Friday 16:00: 30 office minutes before the work started on Monday.
    assert timing.lead_minutes == 30 + 2565
    assert timing.lead_wall_minutes == (9 * 24 + 21) * 60 + 45
    first = timing.rounds[0]
    assert (first.actual_minutes, first.lead_minutes) == (15, 45)
    assert timing.rounds[14].wall_minutes == 120


def test_sop2_standard_total(sop2, users):
    run = open_run(sop2, users["subkor"], now=wib(2026, 9, 7, 8))
    timing = timing_of(run, now=wib(2026, 9, 7, 8))
    assert timing.standard_display == "3 jam 5 menit"
    assert timing.standard_total_minutes == 185
    assert timing.actual_total_minutes == 0 and timing.on_time_share is None
