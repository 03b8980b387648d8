"""The hash chain over each run's events: written by every writer, and every kind of tampering
(a changed, deleted or reordered row, written with SQL as an attacker would) is named.

The events table refuses UPDATE and DELETE from the application; these tests tamper the way
someone with direct SQL access would, and on PostgreSQL first switch off the table's triggers
for the test's transaction (`ALTER TABLE … DISABLE TRIGGER USER`, which such a person could do).
"""

import datetime
import importlib
import io
import zoneinfo

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from activities.core import chain, events, workflow
from activities.models import Event, Run

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
START = datetime.datetime(2026, 10, 5, 8, 0, tzinfo=WIB)
TABLE = Event._meta.db_table


def open_run(sop, user):
    return workflow.open_run(
        sop=sop,
        user=user,
        title="Sosialisasi Wawasan Kebangsaan",
        scheduled_on=START.date(),
        place="Aula Ciledug",
        now=START,
    )


@pytest.fixture
def run(sop1, users):
    run = open_run(sop1, users["kasi"])
    later = START + datetime.timedelta(minutes=20)
    workflow.complete_step(
        run_id=run.pk, number=1, user=users["kasi"], started_at=START, completed_at=later
    )
    workflow.return_step(
        run_id=run.pk,
        number=2,
        user=users["kepala"],
        reason="Nota kurang lengkap",
        started_at=later,
        completed_at=later + datetime.timedelta(minutes=10),
    )
    return run


def sql(statement, params=()):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no pending foreign-key checks of the rows written so far.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{TABLE}" DISABLE TRIGGER USER')
        cursor.execute(statement, params)


def verify():
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_archive", stdout=out, stderr=err)
    except CommandError:
        return False, out.getvalue() + err.getvalue()
    return True, out.getvalue() + err.getvalue()


def events_of(run):
    return list(Event.objects.filter(run=run).order_by("seq"))


def test_every_event_is_a_link_of_its_runs_chain(run):
    events = events_of(run)
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert len(events) >= 5
    assert events[0].prev_hash == ""
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == chain.event_hash(event)
        assert len(event.hash) == 64
    run.refresh_from_db()
    assert (run.event_count, run.event_head) == (len(events), events[-1].hash)
    assert chain.verify_run(run.pk, events, run.event_count, run.event_head) is None


def test_chains_of_different_runs_are_independent(run, sop2, users):
    other = open_run(sop2, users["subkor"])
    first = Event.objects.get(run=other, seq=1)
    assert first.prev_hash == ""
    ok, output = verify()
    assert ok, output
    assert "2 event chains checked, 0 broken" in output


def test_any_writer_gets_the_chain(run):
    """A writer outside the transitions (here: a plain create) still links to the chain."""
    head = events_of(run)[-1]
    extra = Event.objects.create(run=run, kind=Event.Kind.ATTACHED, at=START, after={"x": (1, 2)})
    assert (extra.seq, extra.prev_hash) == (head.seq + 1, head.hash)
    bulk = Event.objects.bulk_create(
        [Event(run=run, kind=Event.Kind.ATTACHED, at=START, after={"n": n}) for n in range(3)]
    )
    assert [event.seq for event in bulk] == [extra.seq + 1, extra.seq + 2, extra.seq + 3]
    assert bulk[0].prev_hash == extra.hash
    ok, output = verify()
    assert ok, output


def test_the_application_cannot_change_or_delete_events(run):
    event = events_of(run)[0]
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    if connection.vendor == "postgresql":
        # A queryset reaches the database, whose trigger refuses it (tests/test_event_log.py).
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            Event.objects.filter(run=run).update(kind="opened")
        assert verify()[0]
    else:
        # SQLite has no such trigger: the chain names the change.
        Event.objects.filter(pk=event.pk).update(kind="cancelled")
        ok, output = verify()
        assert not ok
        assert f"event {event.pk} (seq {event.seq}): content changed" in output


def test_a_changed_row_is_named(run):
    target = events_of(run)[2]
    sql(f"UPDATE {TABLE} SET kind = %s WHERE id = %s", ["approved", target.pk])
    ok, output = verify()
    assert not ok
    assert f"run {run.pk}: event {target.pk} (seq 3): content changed" in output


def test_a_changed_time_is_named(run):
    target = events_of(run)[1]
    moved = target.at - datetime.timedelta(hours=3)
    sql(f"UPDATE {TABLE} SET at = %s WHERE id = %s", [moved, target.pk])
    ok, output = verify()
    assert not ok
    assert f"event {target.pk} (seq 2): content changed" in output


def test_a_deleted_row_is_named(run):
    events = events_of(run)
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [events[1].pk])
    ok, output = verify()
    assert not ok
    assert f"event {events[2].pk} (seq 3): expected seq 2" in output


def test_a_deleted_last_row_is_named(run):
    events = events_of(run)
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].pk])
    ok, output = verify()
    assert not ok
    assert f"run {run.pk}: head: the run's latest event" in output


def test_reordered_rows_are_named(run):
    first, second = events_of(run)[1:3]
    sql(f"UPDATE {TABLE} SET seq = 0 WHERE id = %s", [first.pk])
    sql(f"UPDATE {TABLE} SET seq = %s WHERE id = %s", [first.seq, second.pk])
    sql(f"UPDATE {TABLE} SET seq = %s WHERE id = %s", [second.seq, first.pk])
    ok, output = verify()
    assert not ok
    assert f"event {second.pk} (seq {first.seq}): prev_hash does not match" in output


def test_a_rewritten_head_does_not_hide_a_deletion(run):
    events = events_of(run)
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].pk])
    Run.objects.filter(pk=run.pk).update(event_count=len(events) - 1)
    ok, output = verify()
    assert not ok
    assert "head" in output


def test_the_migration_chains_existing_events(run):
    """Rows written before the chain existed (no hashes) get the same chain back."""
    expected = [(event.pk, event.seq, event.prev_hash, event.hash) for event in events_of(run)]
    sql(f"UPDATE {TABLE} SET prev_hash = '', hash = '' WHERE run_id = %s", [run.pk])
    Run.objects.filter(pk=run.pk).update(event_count=0, event_head="")
    assert not verify()[0]
    migration = importlib.import_module("activities.migrations.0016_event_chain")

    class Editor:
        """What the back-fill uses of a schema editor, inside the test's transaction."""

        def __init__(self):
            self.connection = connection

        def execute(self, statement):
            with connection.cursor() as cursor:
                cursor.execute(statement)

    migration.backfill(django_apps, Editor())
    got = [(event.pk, event.seq, event.prev_hash, event.hash) for event in events_of(run)]
    assert got == expected
    ok, output = verify()
    assert ok, output


def test_events_without_a_run_have_their_own_chain(sop1, users):
    """SOP status changes and acting appointments are chained too, apart from any run."""
    first = events.record(Event.Kind.SOP_REVISED, actor=users["kepala"], sop=sop1, at=START)
    second = events.record(Event.Kind.SOP_ACTIVATED, actor=users["kepala"], sop=sop1, at=START)
    runless = list(Event.objects.filter(run__isnull=True).order_by("seq"))
    assert runless[-2:] == [first, second]
    assert (second.seq, second.prev_hash) == (first.seq + 1, first.hash)
    assert chain.event_hash(first) == first.hash
    ok, output = verify()
    assert ok, output
    sql(f"UPDATE {TABLE} SET kind = %s WHERE id = %s", [Event.Kind.SOP_RETIRED, first.pk])
    ok, output = verify()
    assert not ok
    assert f"events without a run: event {first.pk} (seq {first.seq}): content changed" in output
