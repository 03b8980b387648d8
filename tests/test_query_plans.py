"""Every query of the list pages uses an index: none falls back to a sequential scan of the
run or step tables, which at 100,000 runs reads a million rows.

The data is small here, so PostgreSQL would rightly scan the tables; with `enable_seqscan`
off the planner still scans sequentially only where no index can serve the query, which is
exactly the mistake this test is for.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import scale

pytestmark = pytest.mark.postgres

BIG_TABLES = ("activities_run", "activities_steprun", "activities_event")


@pytest.fixture
def scaled(db):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's: run with DATABASE_URL=postgres://…")
    call_command("seed_scale", runs=400, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {user.username: user for user in get_user_model().objects.all()}


def sequential_scans(sql):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return [table for table in BIG_TABLES if f"Seq Scan on {table}" in plan], plan


def test_list_pages_never_scan_the_run_or_step_tables(scaled, client):
    checked = 0
    for label, user, url in scale.pages(scaled):
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
    assert checked >= 15


def test_the_check_would_see_a_query_without_an_index(scaled):
    scanned, _plan = sequential_scans(
        "SELECT id FROM activities_run WHERE lower(place) = 'aula' ORDER BY id DESC"
    )
    assert scanned == []  # served by the primary key, read backwards: not a sequential scan
    scanned, _plan = sequential_scans(
        "SELECT count(*) FROM activities_steprun WHERE lower(notes) = 'x'"
    )
    assert scanned == ["activities_steprun"]
