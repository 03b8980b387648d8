"""Races: several people press the same button at the same moment.

Every racer runs in its own thread with its own database connection, all released together by
a barrier. Exactly one may win; the others get a WorkflowError with a clear message, never a
second event, a second active step or any other exception.

Each race runs on PostgreSQL (marked `postgres`, run with DATABASE_URL=postgres://…), where the
run's row lock serialises the racers, and on SQLite, the embedded default, where IMMEDIATE
transactions and the conditional updates do. Django's SQLite test database lives in memory with
a shared cache, whose table locks fail at once ("database table is locked") instead of waiting
as a database file does; the SQLite races therefore copy the test database into a file and
point every connection of the test at it.
"""

import datetime
import sqlite3
import threading
import time

import pytest
from django.db import connection, connections

from activities.core import workflow
from activities.core.workflow import WorkflowError
from activities.documents import period_reports
from activities.models import Event, PeriodReport, Run, StepRun
from tests.test_workflow import act, open_run

RACERS = 8

pytestmark = pytest.mark.django_db(transaction=True)
LOST = {"already_done", "not_active", "conflict", "closed"}


@pytest.fixture(
    autouse=True,
    params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"],
)
def racing_db(request, transactional_db, tmp_path):
    """The database every racer connects to; returns how a racer thread connects."""
    vendor = request.param
    if connection.vendor != vendor:
        if vendor == "postgresql":
            pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove row locks")
        pytest.skip("the SQLite variant runs when DATABASE_URL is not set")
    if vendor == "postgresql":
        yield lambda: None
        return

    path = tmp_path / "races.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    in_memory = connections["default"]
    file_settings = {**in_memory.settings_dict, "NAME": str(path)}

    def connect():
        # Connections are per thread: this replaces the calling thread's connection only.
        connections["default"] = type(in_memory)(file_settings, "default")

    connect()
    yield connect
    connections["default"].close()
    connections["default"] = in_memory


def race(connect, calls):
    """Run `calls` at once, one thread and one connection each: [(outcome, value, seconds)]."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def racer(index, call):
        try:
            connect()
            connection.ensure_connection()  # connect first, so the barrier releases real work
            barrier.wait(timeout=30)
            started = time.perf_counter()
            try:
                results[index] = ("won", call(), time.perf_counter() - started)
            except WorkflowError as error:
                results[index] = ("lost", error, time.perf_counter() - started)
        except BaseException as error:  # anything else fails the test below
            results[index] = ("error", error, 0.0)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=pair) for pair in enumerate(calls)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.perf_counter() - began
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    errors = [value for outcome, value, _ in results if outcome == "error"]
    assert errors == [], errors
    lost_codes = sorted({value.code for outcome, value, _ in results if outcome == "lost"})
    assert set(lost_codes) <= LOST, lost_codes
    won = [seconds for outcome, _, seconds in results if outcome == "won"]
    lost = [seconds for outcome, _, seconds in results if outcome == "lost"]
    first = [calls[i].__name__ for i, (outcome, *_) in enumerate(results) if outcome == "won"]
    print(
        f"\n[{connection.vendor}] {len(calls)} racers: {len(won)} won {first}, {len(lost)} lost "
        f"{lost_codes}; winner {max(won, default=0) * 1000:.0f} ms, slowest loser "
        f"{max(lost, default=0) * 1000:.0f} ms, race {elapsed * 1000:.0f} ms"
    )
    return results


def winners(results):
    return [value for outcome, value, _ in results if outcome == "won"]


def count(run, kind):
    return Event.objects.filter(run=run, kind=kind).count()


def active_rounds(run):
    return list(
        StepRun.objects.filter(run=run, state=StepRun.State.ACTIVE).values_list(
            "step__number", "round"
        )
    )


def test_racing_completions_of_one_step(racing_db, sop1, users):
    run = open_run(sop1, users["kasi"])
    for number in range(1, 11):
        act(run, number)
    # Step 11 is the Kasi's and the Staf's: both press "selesai" several times at once.
    racers = [users["kasi"], users["staf"]] * (RACERS // 2)

    results = race(
        racing_db,
        [
            lambda user=user: workflow.complete_step(run_id=run.pk, number=11, user=user)
            for user in racers
        ],
    )

    assert len(winners(results)) == 1
    assert (
        Event.objects.filter(run=run, kind=Event.Kind.COMPLETED, step_run__step__number=11).count()
        == 1
    )
    assert StepRun.objects.filter(run=run, step__number=11, state=StepRun.State.DONE).count() == 1
    assert active_rounds(run) == [(12, 1)]
    assert (
        Event.objects.filter(run=run, kind=Event.Kind.ACTIVATED, step_run__step__number=12).count()
        == 1
    )


def test_racing_completions_of_the_first_step(racing_db, sop1, users):
    run = open_run(sop1, users["kasi"])
    racers = [users["kasi"], users["admin"]] * (RACERS // 2)

    results = race(
        racing_db,
        [
            lambda user=user: workflow.complete_step(run_id=run.pk, number=1, user=user)
            for user in racers
        ],
    )

    assert len(winners(results)) == 1
    assert count(run, Event.Kind.COMPLETED) == 1
    assert active_rounds(run) == [(2, 1)]
    assert count(run, Event.Kind.ACTIVATED) == 2


def test_approve_and_return_racing_on_one_approval(racing_db, sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    kepala = users["kepala"]

    def approve():
        return workflow.approve_step(run_id=run.pk, number=2, user=kepala, instruction="Setuju")

    def send_back():
        return workflow.return_step(run_id=run.pk, number=2, user=kepala, reason="Perbaiki")

    results = race(racing_db, [approve, send_back] * (RACERS // 2))

    [winner] = winners(results)
    decided = count(run, Event.Kind.APPROVED) + count(run, Event.Kind.RETURNED)
    assert decided == 1
    if winner.decision == StepRun.Decision.APPROVED:
        assert active_rounds(run) == [(3, 1)]
        assert StepRun.objects.filter(run=run).count() == 15
    else:
        assert active_rounds(run) == [(1, 2)]
        assert StepRun.objects.filter(run=run).count() == 17
    assert count(run, Event.Kind.ACTIVATED) == 3


def test_cancel_and_finishing_the_last_step_racing(racing_db, sop2, users):
    run = open_run(sop2, users["subkor"])
    for number in range(1, 9):
        act(run, number)

    def finish():
        return workflow.complete_step(run_id=run.pk, number=9, user=users["kabid"])

    def cancel():
        return workflow.cancel_run(run_id=run.pk, user=users["subkor"], reason="Hujan deras")

    results = race(racing_db, [finish, cancel] * (RACERS // 2))

    assert len(winners(results)) == 1
    run.refresh_from_db()
    finished, cancelled = count(run, Event.Kind.FINISHED), count(run, Event.Kind.CANCELLED)
    assert finished + cancelled == 1
    if finished:
        assert run.status == Run.Status.FINISHED and run.cancelled_at is None
        assert count(run, Event.Kind.COMPLETED) == 7
    else:
        assert run.status == Run.Status.CANCELLED and run.finished_at is None
        assert count(run, Event.Kind.COMPLETED) == 6  # steps 3 and 5 are approvals
        assert active_rounds(run) == [(9, 1)]


def test_racing_requests_for_one_period_report_make_one(racing_db, sop1, users):
    """A double click on a large period report: one report, one task; all get that one."""
    september = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))

    def ask():
        return period_reports.request_report(users["kepala"], [sop1.unit], *september)

    answers = winners(race(racing_db, [ask] * RACERS))
    assert sorted(created for _report, created in answers) == [False] * (RACERS - 1) + [True]
    assert len({report.pk for report, _created in answers}) == 1
    assert PeriodReport.objects.count() == 1
