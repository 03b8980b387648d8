"""The keyed event chain and its anchor in the signed laporan.

Somebody with the database alone (the trigger switched off as the table's owner) rewrites an
event of a finished, signed run and recomputes the chain: without SOPFLOW_CHAIN_KEY the hashes
do not verify; with it (or as plain SHA-256 marked as written before the key) the head the
signed laporan carries no longer matches. Rows written before the chain was keyed still verify.
"""

import io
import json

import pytest
from django.test import override_settings
from pypdf import PdfReader

from activities.core import chain, workflow
from activities.documents import signing, verification
from activities.models import Event, Run
from tests.test_event_chain import TABLE, events_of, open_run, sql, verify
from tests.test_verification import archived, stored  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def rewrite(run, *, key=None, scheme=None):
    """Change what the run's first completed step recorded and recompute the whole chain, as a
    person with SQL access and the public hash function would: with `key` (None: the server's)
    and marking the rows with `scheme` (None: as they were)."""
    rows = events_of(run)
    target = next(event for event in rows if event.kind == Event.Kind.COMPLETED)
    after = dict(target.after, notes="Ditulis ulang")
    sql(f"UPDATE {TABLE} SET after = %s WHERE id = %s", [json.dumps(after), target.pk])
    prev = chain.GENESIS
    settings = {"SOPFLOW_CHAIN_KEY": key} if key else {}
    with override_settings(**settings):
        for event in events_of(run):
            event.prev_hash = prev
            if scheme is not None:
                event.scheme = scheme
            event.hash = chain.event_hash(event)
            sql(
                f"UPDATE {TABLE} SET prev_hash = %s, hash = %s, scheme = %s WHERE id = %s",
                [event.prev_hash, event.hash, event.scheme, event.pk],
            )
            prev = event.hash
    Run.objects.filter(pk=run.pk).update(event_head=prev)


def test_new_events_are_keyed(archived):  # noqa: F811
    rows = events_of(archived.run)
    assert {event.scheme for event in rows} == {chain.HMAC_SHA256}
    first = rows[0]
    with override_settings(SOPFLOW_CHAIN_KEY="another key of the right length 0123456789"):
        assert chain.event_hash(first) != first.hash
    assert chain.event_hash(first) == first.hash


def test_the_signed_laporan_carries_the_runs_chain_head(archived):  # noqa: F811
    data = stored(archived)
    assert signing.verify_signature(data).ok
    archived_event = Event.objects.get(run=archived.run, kind=Event.Kind.ARCHIVED)
    head = Event.objects.get(run=archived.run, seq=archived_event.seq - 1)
    assert verification.read_anchor(data) == (head.seq, head.hash)
    text = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert f"Rantai catatan: {head.seq} catatan" in text
    assert head.hash[:16] in text
    ok, output = verify()
    assert ok, output


def test_a_history_rewritten_with_the_key_breaks_on_the_signed_head(archived):  # noqa: F811
    rewrite(archived.run)
    ok, output = verify()
    assert not ok
    assert f"BROKEN   run {archived.run_id}: head: the signed laporan carries event" in output
    assert "the history was rewritten" in output


def test_a_history_rewritten_without_the_key_does_not_verify(archived):  # noqa: F811
    rewrite(archived.run, key="a guessed key that is not the server's key 0123")
    ok, output = verify()
    assert not ok
    assert f"run {archived.run_id}: event" in output
    assert "content changed" in output


def test_a_history_rewritten_as_unkeyed_does_not_verify(archived, users, sop1):  # noqa: F811
    rewrite(archived.run, scheme=chain.SHA256)
    ok, output = verify()
    assert not ok
    assert f"BROKEN   run {archived.run_id}: head: the signed laporan carries event" in output


def test_a_running_history_rewritten_as_unkeyed_does_not_verify(archived, users, sop1):  # noqa: F811
    """A run without a laporan yet has no anchor: marking its rows as written before the key
    does not pass, since keyed rows were written before them."""
    running = open_run(sop1, users["kasi"])
    workflow.complete_step(run_id=running.pk, number=1, user=users["kasi"])
    rewrite(running, scheme=chain.SHA256)
    ok, output = verify()
    assert not ok
    assert f"BROKEN   run {running.pk}: event" in output
    assert "unkeyed hash where the chain is keyed" in output


def test_events_written_before_the_key_still_verify(users, sop1):
    """Rows written unkeyed before the chain was keyed (the migration marks them 0) verify as
    plain SHA-256 (the chain continues keyed after them), and rows written later keyed."""
    before = open_run(sop1, users["kasi"])
    workflow.complete_step(run_id=before.pk, number=1, user=users["kasi"])
    prev = chain.GENESIS
    for event in events_of(before):
        event.scheme, event.prev_hash = chain.SHA256, prev
        event.hash = prev = chain.event_hash(event)
        sql(
            f"UPDATE {TABLE} SET prev_hash = %s, hash = %s, scheme = %s WHERE id = %s",
            [event.prev_hash, event.hash, event.scheme, event.pk],
        )
    Run.objects.filter(pk=before.pk).update(event_head=prev)
    before.refresh_from_db()
    # The run goes on, its new rows keyed after the unkeyed ones.
    workflow.approve_step(run_id=before.pk, number=2, user=users["kepala"], instruction="Lanjut")
    later = open_run(sop1, users["kasi"])
    assert {e.scheme for e in events_of(later)} == {chain.HMAC_SHA256}
    assert [e.scheme for e in events_of(before)][:2] == [chain.SHA256] * 2
    assert events_of(before)[-1].scheme == chain.HMAC_SHA256
    ok, output = verify()
    assert ok, output
