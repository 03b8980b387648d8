"""Stored figures: a round's office minutes are computed once when it closes, a run's totals
once when it finishes or is cancelled, so a later calendar edit changes only what still runs.

SOP 2 is walked on Monday 5 October 2026 (a working day), each step taking its standard time.
"""

import datetime
import importlib

import pytest
from django.apps import apps

from activities.core import workflow
from activities.documents import archive, laporan
from activities.models import Event, Run, StepRun, UnitDayOff
from tests.test_reports import open_run, walk, wib

MONDAY = datetime.date(2026, 10, 5)
TUESDAY_10 = wib(10, 6, 10)


def figures(run):
    """What the run page, the laporan and the archive show of a run's time."""
    timing = laporan.build_run_report(run.pk, now=TUESDAY_10).timing
    archived = archive.bulk_timings([Run.objects.get(pk=run.pk)], now=TUESDAY_10)[run.pk]
    return {
        "laporan": (
            timing.actual_total_minutes,
            timing.lead_minutes,
            [(r.actual_minutes, r.lead_minutes) for r in timing.rounds],
        ),
        "archive": (archived.actual_total_minutes, archived.lead_minutes, archived.steps_on_time),
    }


def page_timing(client, run):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.utils.timezone.now", lambda: TUESDAY_10)
        return client.get(f"/kegiatan/{run.pk}/").context["timing"]


@pytest.fixture
def finished(users, sop2):
    run = open_run(sop2, users, start=wib(10, 5, 8), title="Wawaran selesai")
    return walk(run, users, start=wib(10, 5, 8))


@pytest.fixture
def running(users, sop2):
    run = open_run(sop2, users, start=wib(10, 5, 8), title="Wawaran berjalan")
    return walk(run, users, start=wib(10, 5, 8), until=4)


def test_a_day_off_added_afterwards_changes_only_what_still_runs(finished, running, client_for):
    client = client_for("kabid")
    before_finished, before_running = figures(finished), figures(running)
    page_before = page_timing(client, finished)
    running_page_before = page_timing(client, running)
    assert before_finished["laporan"][0] > 150

    UnitDayOff.objects.create(unit=finished.unit, date=MONDAY, description="Hari jadi kota")

    assert figures(finished) == before_finished
    page_after = page_timing(client, finished)
    assert page_after.actual_total_minutes == page_before.actual_total_minutes
    assert page_after.lead_minutes == page_before.lead_minutes
    # The running run's closed rounds keep their figures; its open round and its lead time
    # are measured under the calendar as it is now, Monday no longer counting.
    after_running = figures(running)
    assert after_running["laporan"][0] == before_running["laporan"][0]
    assert after_running["laporan"][2][:3] == before_running["laporan"][2][:3]
    assert after_running["laporan"][2][3][1] < before_running["laporan"][2][3][1]
    assert page_timing(client, running).lead_minutes < running_page_before.lead_minutes


def test_completing_a_round_stores_its_office_minutes(users, sop2):
    run = open_run(sop2, users, start=wib(10, 5, 8))
    workflow.complete_step(
        run_id=run.pk,
        number=1,
        user=users["subkor"],
        started_at=wib(10, 5, 11),
        completed_at=wib(10, 5, 14),
        now=wib(10, 5, 15),
    )
    first = run.step_runs.get(step__number=1)
    # Waiting 08:00–11:00; handling 11:00–14:00 less the 12:00–13:00 break.
    assert (first.waiting_office_minutes, first.handling_office_minutes) == (180, 120)
    event = Event.objects.get(step_run=first, kind=Event.Kind.COMPLETED)
    assert event.after["handling_office_minutes"] == 120
    assert event.after["waiting_office_minutes"] == 180
    second = run.step_runs.get(step__number=2)
    assert (second.waiting_office_minutes, second.handling_office_minutes) == (None, None)


def test_a_return_stores_the_returned_rounds_figures(users, sop2):
    run = open_run(sop2, users, start=wib(10, 5, 8))
    walk(run, users, start=wib(10, 5, 8), until=3)
    workflow.return_step(
        run_id=run.pk,
        number=3,
        user=users["kabid"],
        reason="Tema kurang jelas",
        started_at=wib(10, 5, 9),
        completed_at=wib(10, 5, 9, 30),
        now=wib(10, 5, 10),
    )
    returned = run.step_runs.get(step__number=3, round=1)
    assert returned.state == StepRun.State.RETURNED
    assert returned.handling_office_minutes == 30


def test_finishing_stores_the_runs_totals(finished):
    timing = laporan.build_run_report(finished.pk).timing
    assert finished.standard_office_minutes == timing.standard_total_minutes == 185
    assert finished.handling_office_minutes == pytest.approx(timing.actual_total_minutes)
    assert finished.lead_office_minutes == timing.lead_minutes
    assert finished.waiting_office_minutes == pytest.approx(timing.waiting_total_minutes)
    assert (finished.steps_done, finished.steps_on_time) == (9, timing.steps_on_time)
    event = finished.events.get(kind=Event.Kind.FINISHED)
    assert event.after["lead_office_minutes"] == finished.lead_office_minutes


def test_cancelling_stores_the_runs_totals_and_the_active_rounds_wait(running, users):
    workflow.cancel_run(
        run_id=running.pk, user=users["subkor"], reason="Mobil rusak", now=wib(10, 5, 15)
    )
    running.refresh_from_db()
    active = running.step_runs.get(state=StepRun.State.ACTIVE)
    assert active.handling_office_minutes is None
    assert active.waiting_office_minutes > 0
    assert running.lead_office_minutes is not None
    before = figures(running)
    UnitDayOff.objects.create(unit=running.unit, date=MONDAY, description="Hari jadi kota")
    assert figures(running) == before


def test_the_migration_backfills_rounds_and_runs_closed_before(finished, running, users):
    workflow.cancel_run(
        run_id=running.pk, user=users["subkor"], reason="Mobil rusak", now=wib(10, 5, 15)
    )
    stored = {
        run.pk: (
            list(
                run.step_runs.order_by("pk").values_list(
                    "waiting_office_minutes", "handling_office_minutes"
                )
            ),
            Run.objects.filter(pk=run.pk).values().get(),
        )
        for run in (finished, running)
    }
    StepRun.objects.update(waiting_office_minutes=None, handling_office_minutes=None)
    Run.objects.update(
        standard_office_minutes=None,
        handling_office_minutes=None,
        waiting_office_minutes=None,
        lead_office_minutes=None,
        steps_done=None,
        steps_on_time=None,
    )
    migration = importlib.import_module("activities.migrations.0004_backfill_figures")
    migration.backfill(apps, None)

    for run in (finished, running):
        rounds, row = stored[run.pk]
        assert list(
            run.step_runs.order_by("pk").values_list(
                "waiting_office_minutes", "handling_office_minutes"
            )
        ) == pytest.approx(rounds)
        assert Run.objects.filter(pk=run.pk).values().get() == pytest.approx(row)
