"""The tamper-evident chain over a run's events (and over the events without a run).

Each `Event` stores `seq` (its place in the run's history, from 1), `prev_hash` (the hash of the
event before it in the same run, "" for the first) and `hash`: SHA-256 over a canonical JSON of
its content and `prev_hash`. The run keeps the number and hash of its latest event
(`Run.event_count`, `Run.event_head`), so a
deleted last event is noticed too. Changing, deleting or reordering rows breaks the chain at the
first row touched; `verify_run` names that row.

Hash schemes, one per row (`Event.scheme`), so that rows already written keep verifying:
- `SHA256` (0): plain SHA-256, the scheme of the rows written before the chain was keyed.
  Anybody with the rows can recompute it, so it does not stop someone who rewrites every later
  row and the head in one go.
- `HMAC_SHA256` (1): HMAC-SHA256 under `SOPFLOW_CHAIN_KEY`, a secret kept outside the database
  (the server's environment). Without it a rewritten row cannot be given a hash that verifies.
Every new row is written with `CURRENT`. A chain never goes back to an older scheme, and an
unkeyed row is accepted only below the first keyed row of the whole table: a rewriter cannot
dodge the key by marking his rows unkeyed. The archived laporan prints, and its signature
covers, the run's head (the number and hash of its latest event when it was archived);
`verify_archive` compares it with the rows, which anchors a finished run's history outside the
database even against somebody who holds the key.
"""

import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings

GENESIS = ""

SHA256 = 0
HMAC_SHA256 = 1
CURRENT = HMAC_SHA256
SCHEMES = {SHA256: "SHA-256", HMAC_SHA256: "HMAC-SHA256"}


def _canonical(value):
    # Round-trip through JSON so the value hashed when a row is written is the value read back
    # (tuples become lists, PostgreSQL's jsonb reorders keys: sort_keys makes that irrelevant).
    return json.loads(json.dumps(value if value is not None else {}))


def _moment(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.isoformat(timespec="microseconds")


def content(
    *,
    run_id,
    seq,
    step_run_id,
    sop_id,
    appointment_id,
    kind,
    actor_id,
    role_id,
    on_behalf,
    acting,
    at,
    before,
    after,
    prev_hash,
):
    """The canonical bytes an event's hash is taken over."""
    payload = {
        "run": run_id,
        "seq": seq,
        "step_run": step_run_id,
        "sop": sop_id,
        "appointment": appointment_id,
        "kind": kind,
        "actor": actor_id,
        "role": role_id,
        "on_behalf": bool(on_behalf),
        "acting": acting or "",
        "at": _moment(at),
        "before": _canonical(before),
        "after": _canonical(after),
        "prev": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(data, scheme):
    """The hex digest of `data` under hash scheme `scheme`."""
    if scheme == HMAC_SHA256:
        return hmac.new(settings.SOPFLOW_CHAIN_KEY.encode(), data, hashlib.sha256).hexdigest()
    if scheme == SHA256:
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"unknown hash scheme {scheme!r}")


def event_hash(event, prev_hash=None):
    """The hash `event` (an Event or a historical model row) should carry.

    A historical row from before `Event.scheme` existed (the migration that chained the first
    events) has no scheme: it is plain SHA-256.
    """
    return digest(
        content(
            run_id=event.run_id,
            seq=event.seq,
            step_run_id=event.step_run_id,
            sop_id=event.sop_id,
            appointment_id=event.appointment_id,
            kind=event.kind,
            actor_id=event.actor_id,
            role_id=event.role_id,
            on_behalf=event.on_behalf,
            acting=event.acting,
            at=event.at,
            before=event.before,
            after=event.after,
            prev_hash=event.prev_hash if prev_hash is None else prev_hash,
        ),
        getattr(event, "scheme", SHA256),
    )


@dataclass(frozen=True)
class Break:
    """The first broken link of one run's chain."""

    run_id: int
    event_id: int | None
    seq: int | None
    problem: str

    def __str__(self):
        where = f"event {self.event_id} (seq {self.seq})" if self.event_id else "head"
        chain = f"run {self.run_id}" if self.run_id is not None else "events without a run"
        return f"{chain}: {where}: {self.problem}"


def verify_run(run_id, events, count, head, *, unkeyed_below=None, anchor=None):
    """The first `Break` in `events` (one run's rows, in any order), or None when intact.

    `count` and `head` are the number and the hash of the latest event as the run recorded them;
    the chain of the events without a run (`run_id` None) has no recorded head: pass None.
    `unkeyed_below`: the id of the first keyed event of the table (None: no keyed event yet);
    an unkeyed row at or after it is a rewrite. `anchor`: (seq, hash) of the event the run's
    signed laporan carries; the rows must still have it.
    """
    previous = GENESIS
    expected_seq = 1
    last = None
    scheme = SHA256
    hashes = {}
    for event in sorted(events, key=lambda e: (e.seq, e.pk)):
        if event.scheme not in SCHEMES:
            return Break(run_id, event.pk, event.seq, f"unknown hash scheme {event.scheme}")
        if event.scheme < scheme or (
            event.scheme == SHA256 and unkeyed_below is not None and event.pk >= unkeyed_below
        ):
            problem = "unkeyed hash where the chain is keyed: the rows were rewritten"
            return Break(run_id, event.pk, event.seq, problem)
        scheme = event.scheme
        if event.seq != expected_seq:
            problem = (
                f"expected seq {expected_seq}, found {event.seq}: "
                "an event was deleted or the rows were reordered"
            )
            return Break(run_id, event.pk, event.seq, problem)
        if event.prev_hash != previous:
            return Break(
                run_id,
                event.pk,
                event.seq,
                "prev_hash does not match the event before it: rows were deleted or reordered",
            )
        if event_hash(event) != event.hash:
            return Break(run_id, event.pk, event.seq, "content changed: its hash does not match")
        previous, expected_seq, last = event.hash, expected_seq + 1, event
        hashes[event.seq] = event.hash
    if anchor is not None and hashes.get(anchor[0]) != anchor[1]:
        return Break(
            run_id,
            None,
            None,
            f"the signed laporan carries event {anchor[0]} with hash {anchor[1]}, the event "
            f"log {hashes.get(anchor[0]) or 'has no such event'}: the history was rewritten",
        )
    if count is None:
        return None
    if expected_seq - 1 != count or (last.hash if last else GENESIS) != (head or GENESIS):
        return Break(
            run_id,
            None,
            None,
            "the run's latest event hash does not match its last event: events were deleted",
        )
    return None
