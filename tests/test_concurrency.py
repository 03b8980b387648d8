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
from django.test import Client

from activities.core import uploads, workflow
from activities.core.workflow import WorkflowError
from activities.documents import period_reports
from activities.models import Attachment, Event, PeriodReport, Run, StepRun
from tests.test_run_views import form_data, step_url
from tests.test_uploads import camera_jpeg, media_files
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


def test_a_photo_is_processed_while_nobody_waits_on_its_run(
    racing_db, sop1, users, settings, monkeypatch
):
    """Request A completes step 1 of run R with a 12-megapixel photo, whose re-encoding is
    held (on an event) until a second writer is done. On PostgreSQL that writer completes step
    1 of R itself, allowed to wait at most 200 ms for R's row lock (`lock_timeout`); on SQLite,
    where a transaction holds the whole database's write lock, it completes a step of another
    run, allowed to wait 200 ms (`busy_timeout`). Had A processed its photo under the run's
    lock, as a form checked inside the transition did, the second writer would give up:
    `Stale` ("locked") on PostgreSQL, "database is locked" on SQLite. A then finds its round
    taken (PostgreSQL) and stores nothing, or completes its step with the photo (SQLite)."""
    kasi = users["kasi"]
    run, other = open_run(sop1, kasi), open_run(sop1, kasi)
    data = form_data(run, 1, "selesai") | {"lampiran": [camera_jpeg()]}
    processing, release = threading.Event(), threading.Event()
    real_encode = uploads._encode

    def held_encode(*args):
        processing.set()
        release.wait(timeout=60)
        return real_encode(*args)

    monkeypatch.setattr(uploads, "_encode", held_encode)
    posted = {}

    def request_a():
        try:
            racing_db()
            client = Client()
            client.force_login(kasi)
            posted["response"] = client.post(step_url(run, 1), data, follow=True)
        except BaseException as error:
            posted["error"] = error
        finally:
            processing.set()
            connection.close()

    thread = threading.Thread(target=request_a)
    thread.start()
    try:
        assert processing.wait(timeout=60)
        postgres = connection.vendor == "postgresql"
        with connection.cursor() as cursor:
            if postgres:
                cursor.execute("SET lock_timeout = '200ms'")
            else:
                cursor.execute("PRAGMA busy_timeout = 200")
        second = workflow.complete_step(
            run_id=(run if postgres else other).pk, number=1, user=users["admin"]
        )
        assert second.state == StepRun.State.DONE
        assert not release.is_set() and thread.is_alive()  # A is still processing its photo
    finally:
        release.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and "error" not in posted, posted.get("error")
    page = posted["response"].content.decode()
    if postgres:
        assert "Langkah 1 sudah diselesaikan oleh" in page
        assert Attachment.objects.count() == 0
        assert media_files(settings) == []
        assert count(run, Event.Kind.COMPLETED) == 1
        assert active_rounds(other) == [(1, 1)]
    else:
        assert posted["response"].redirect_chain[-1][0].endswith(f"/kegiatan/{run.pk}/")
        assert Attachment.objects.filter(step_run__run=run).count() == 1
        assert len(media_files(settings)) == 2  # the photo and its rendition
        assert active_rounds(other) == [(2, 1)]
    assert active_rounds(run) == [(2, 1)]
