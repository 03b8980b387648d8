"""Every query of the list pages uses an index: none falls back to a sequential scan of the
run, step or event tables, which at 100,000 runs reads a million rows.

The plans are PostgreSQL's own, on a database seeded with a few thousand runs and ANALYZEd,
so the planner chooses as it would in production (no planner switches are turned off).
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from activities import context_processors
from bench import scale
from bench.seeding import bulk

pytestmark = pytest.mark.postgres

BIG_TABLES = ("activities_run", "activities_steprun", "activities_event")
LIST_PAGES = ("/tugas/", "/kegiatan/", "/kegiatan/ deep", "/arsip/", "/arsip/ deep")
RUNS = 4000


def check_foreign_keys_once(cursor):
    """Check the seeded rows' deferred foreign keys now, in the module's transaction. Left
    pending, they were checked again at the end of every test (Django checks deferred
    constraints before it rolls a test back, and the rollback leaves them pending): seconds
    each at a few thousand runs."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The city seeded once for the module, in a transaction rolled back after its tests (each
    test runs in a savepoint inside it)."""
    if connection.vendor != "postgresql":
        yield None
        return
    per_unit = bulk.RUNS_PER_UNIT
    with django_db_blocker.unblock(), transaction.atomic():
        # Many small units, as in a city: a user's unit holds a small share of the runs.
        bulk.RUNS_PER_UNIT = 100
        try:
            call_command("seed_scale", runs=RUNS, batch=RUNS, stdout=io.StringIO())
        finally:
            bulk.RUNS_PER_UNIT = per_unit
        with connection.cursor() as cursor:
            check_foreign_keys_once(cursor)
            cursor.execute("ANALYZE")
        yield {user.username: user for user in get_user_model().objects.all()}
        transaction.set_rollback(True)


@pytest.fixture
def scaled(seeded, db):
    if seeded is None:
        pytest.skip("query plans are PostgreSQL's: run with DATABASE_URL=postgres://…")
    return seeded


def sequential_scans(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return [table for table in BIG_TABLES if f"Seq Scan on {table}" in plan], plan


def test_list_pages_never_scan_the_run_or_step_tables(scaled, client):
    checked = 0
    for label, user, url in scale.pages(scaled):
        if label not in LIST_PAGES:
            continue
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, label
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                continue
            scanned, plan = sequential_scans(sql)
            assert not scanned, f"{label}: sequential scan of {scanned}\n{sql}\n{plan}"
            checked += 1
    # inbox rows, badge on every page, runs list rows and their active steps, archive rows
    assert checked >= 10


def test_the_navigation_badge_reads_the_active_rounds_of_the_users_steps_only(scaled):
    """The badge finds the user's steps in a subquery of its own query: the plan still goes
    from those steps to their active rounds through `steprun_active_step_due`."""
    for username in ("kasi", "kepala", "kasubag_tu", "staf"):
        with CaptureQueriesContext(connection) as queries:
            context_processors.navigation_counts(scaled[username])
        sql = queries.captured_queries[-1]["sql"]
        scanned, plan = sequential_scans(sql)
        assert not scanned, f"{username}: sequential scan of {scanned}\n{sql}\n{plan}"
        assert "steprun_active_step_due" in plan, f"{username}\n{sql}\n{plan}"


def test_the_check_sees_a_query_that_no_index_serves(scaled):
    scanned, _plan = sequential_scans(
        "SELECT count(*) FROM activities_steprun WHERE lower(notes) = %s", ["x"]
    )
    assert scanned == ["activities_steprun"]


@pytest.fixture(scope="module")
def big_seeded(seeded, django_db_blocker):
    """Besides the city's small units, one unit holding as many runs as all of them (seeded
    once, inside the module's transaction)."""
    if seeded is None:
        return None
    with django_db_blocker.unblock():
        call_command(
            "seed_scale", runs=0, big_units=1, big_runs=RUNS, batch=RUNS, stdout=io.StringIO()
        )
        with connection.cursor() as cursor:
            check_foreign_keys_once(cursor)
            cursor.execute("ANALYZE")
        return seeded | scale.unit_users("Besar001")


@pytest.fixture
def big_unit(big_seeded, scaled):
    return big_seeded


def test_list_pages_of_a_big_unit_never_scan_the_run_or_step_tables(big_unit, client):
    checked = 0
    for label, user, url in scale.pages(big_unit):
        if label not in LIST_PAGES:
            continue
        assert user.sop_roles.first().unit.short_name == "Besar001"
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, label
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                continue
            scanned, plan = sequential_scans(sql)
            assert not scanned, f"{label}: sequential scan of {scanned}\n{sql}\n{plan}"
            checked += 1
    assert checked >= 10


def test_the_deadline_sweep_reads_the_due_rounds_through_their_index(big_unit):
    """With nothing due the sweep's one query finds that out from `steprun_next_alert` alone."""
    import datetime

    from activities.models import StepRun
    from activities.time import deadlines

    moment = datetime.datetime(2026, 12, 8, 2, 0, tzinfo=datetime.UTC)
    StepRun.objects.filter(next_alert_at__isnull=False).update(
        next_alert_at=moment + datetime.timedelta(days=1)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE activities_steprun")
    with CaptureQueriesContext(connection) as queries:
        deadlines.sweep(moment)
    sql = queries.captured_queries[0]["sql"]
    scanned, plan = sequential_scans(sql)
    assert not scanned, f"sequential scan of {scanned}\n{sql}\n{plan}"
    assert "steprun_next_alert" in plan, f"{sql}\n{plan}"
