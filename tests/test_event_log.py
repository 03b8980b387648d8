"""The event log is append-only in the database too (PostgreSQL): UPDATE and DELETE are refused
by a trigger, whatever the caller — the model, a queryset, plain SQL.

Run with DATABASE_URL=postgres://…; a test that must change an event on purpose disables the
trigger for its transaction, as an operator's lawful purge does (`disabled_event_guard`).
"""

import contextlib
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from activities.models import Event
from tests.test_workflow import open_run

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove the trigger")


@contextlib.contextmanager
def disabled_event_guard():
    """Tampering on purpose (a test, a lawful purge): the trigger is off for one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Rows written earlier in the same transaction leave deferred checks pending, and
        # PostgreSQL alters no table while they are.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE activities_event DISABLE TRIGGER activities_event_append_only")
        yield
        cursor.execute("ALTER TABLE activities_event ENABLE TRIGGER activities_event_append_only")


def refused(action):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


def test_updates_and_deletes_are_refused_by_the_database(sop1, users):
    run = open_run(sop1, users["kasi"])
    events = Event.objects.filter(run=run)
    count = events.count()
    refused(lambda: events.update(kind=Event.Kind.CANCELLED))
    refused(lambda: events.delete())
    with connection.cursor() as cursor:
        refused(lambda: cursor.execute("UPDATE activities_event SET actor_id = NULL"))
        refused(lambda: cursor.execute("DELETE FROM activities_event"))
    assert events.count() == count
    assert set(events.values_list("kind", flat=True)) == {"opened", "activated"}
    with pytest.raises(ValidationError):
        events.first().delete()


def test_new_events_are_still_written(sop1, users):
    run = open_run(sop1, users["kasi"])
    assert run.events.count() == 2


def test_an_operator_can_purge_with_the_trigger_disabled(sop1, users):
    run = open_run(sop1, users["kasi"])
    with disabled_event_guard():
        Event.objects.filter(run=run, kind=Event.Kind.ACTIVATED).delete()
    assert list(run.events.values_list("kind", flat=True)) == ["opened"]
    # Enabled again after the purge.
    refused(lambda: Event.objects.filter(run=run).delete())


def test_truncate_is_refused_by_the_database(sop1, users):
    run = open_run(sop1, users["kasi"])
    with connection.cursor() as cursor:
        # The run's rows leave deferred checks pending, and PostgreSQL truncates no table
        # while they are.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        refused(lambda: cursor.execute("TRUNCATE activities_event CASCADE"))
    assert run.events.count() == 2


APP_GRANTS = Path(__file__).resolve().parent.parent / "deploy" / "postgres-roles.sql"


@contextlib.contextmanager
def acting_as_app_role():
    """A role with the grants of deploy/postgres-roles.sql that owns no table, made for this
    test (roles are cluster-wide: a unique name) and gone with its transaction."""
    role = f"sopflow_app_test_{uuid.uuid4().hex[:12]}"
    grants = [
        line.replace("sopflow_app", role).rstrip(";")
        for line in APP_GRANTS.read_text().splitlines()
        if line.startswith("GRANT ") and "SCHEMA public TO" in line
    ]
    assert len(grants) == 3, grants
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        for grant in grants:
            cursor.execute(grant)
        cursor.execute(f"SET ROLE {role}")
        try:
            yield cursor
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def test_the_app_role_cannot_disable_the_guard_nor_truncate(sop1, users):
    run = open_run(sop1, users["kasi"])
    with acting_as_app_role() as cursor:
        # It works as the app does: reads and appends events ...
        cursor.execute("SELECT count(*) FROM activities_event WHERE run_id = %s", [run.pk])
        assert cursor.fetchone()[0] == 2
        # ... but changes nothing about the table itself.
        for statement in [
            "ALTER TABLE activities_event DISABLE TRIGGER ALL",
            "ALTER TABLE activities_event DISABLE TRIGGER activities_event_append_only",
            "TRUNCATE activities_event CASCADE",
            "DROP TRIGGER activities_event_no_truncate ON activities_event",
        ]:
            with pytest.raises(DatabaseError, match="owner|permission denied"):
                with transaction.atomic():
                    cursor.execute(statement)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("DELETE FROM activities_event")
    assert run.events.count() == 2


def test_flush_empties_the_log_and_leaves_the_guard_on(sop1, users):
    """`manage.py flush` (the owner's, and the test runner's between transactional tests)
    passes the TRUNCATE guard inside its own transaction only."""
    open_run(sop1, users["kasi"])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    assert not Event.objects.exists()
    with connection.cursor() as cursor:
        refused(lambda: cursor.execute("TRUNCATE activities_event CASCADE"))
