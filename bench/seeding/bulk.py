"""Large realistic databases for benchmarks: many units, runs, step rounds and events.

A run's history is first planned as the list of actions people would take (open, complete,
approve, return, cancel, with the times they entered). The plan is then either driven through
`activities.core.workflow` (slow, one transaction per action) or written in bulk by `BulkWriter`,
which produces the same rows the transitions write. `compare_with_workflow` does both for a
sample of plans and reports every difference, so the bulk writer cannot drift silently from
the transitions.
"""

import dataclasses
import datetime
import io
import json
import random

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max

from activities.authoring import lifecycle
from activities.core import chain, payloads, policy, stages, workflow
from activities.models import Event, Role, Run, Sop, Step, StepRun, StepSignOff, Unit
from activities.time import deadlines, timing

# Kecamatan of Kota Tangerang: extra offices beyond the two of the seed SOPs.
DISTRICTS = [
    "Batuceper",
    "Benda",
    "Cibodas",
    "Ciledug",
    "Cipondoh",
    "Jatiuwung",
    "Karangtengah",
    "Karawaci",
    "Larangan",
    "Neglasari",
    "Periuk",
    "Pinang",
    "Tangerang",
]
TOPICS = [
    "Sosialisasi wawasan kebangsaan",
    "Sosialisasi pencegahan narkoba",
    "Penyuluhan kerukunan umat beragama",
    "Sosialisasi pemilu damai",
    "Penyebaran informasi vaksinasi",
    "Penyebaran informasi pajak daerah",
    "Sosialisasi bela negara",
    "Penyuluhan ketahanan keluarga",
]
PLACES = [
    "Aula Kecamatan",
    "Gedung Serbaguna",
    "Balai Warga RW 05",
    "Pendopo Kelurahan",
    "Lapangan Ahmad Yani",
    "Masjid Raya Al-A'zhom",
]
INSTRUCTIONS = ["Setuju, lanjutkan.", "Laksanakan sesuai jadwal.", "Koordinasikan dengan camat."]
RETURN_REASONS = ["Lengkapi daftar undangan.", "Perbaiki tanggal surat.", "Narasi kurang jelas."]
CANCEL_REASONS = ["Jadwal bentrok dengan kegiatan wali kota.", "Anggaran belum tersedia."]

FINISHED_SHARE = 0.30
CANCELLED_SHARE = 0.08
RETURN_SHARE = 0.10
RUNS_PER_UNIT = 2000
MINUTE = datetime.timedelta(minutes=1)


@dataclasses.dataclass
class Action:
    """One thing a person does to a run, with the times as entered and the moment of entry."""

    kind: str  # complete, approve, return, cancel
    number: int
    user: object
    now: datetime.datetime
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    text: str = ""
    deadline: datetime.date | None = None
    requirements: tuple = ()


@dataclasses.dataclass
class Plan:
    sop: object
    opener: object
    title: str
    scheduled_on: datetime.date
    place: str
    opened_at: datetime.datetime
    actions: list


class Office:
    """A unit with its one active SOP, the SOP's steps and a holder for every role."""

    def __init__(self, sop):
        self.sop = sop
        self.unit = sop.unit
        self.steps = list(
            sop.steps.select_related("return_to")
            .prefetch_related("roles__members")
            .order_by("number")
        )
        self.by_number = {step.number: step for step in self.steps}
        self.holders = {}
        for step in self.steps:
            self.holders[step.number] = [
                (role, member) for role in step.roles.all() for member in role.members.all()
            ]
        self.returnable = [step.number for step in self.steps if step.return_to_id]
        self.calendar = self.unit.calendar
        roles = list(Role.objects.filter(unit=self.unit).prefetch_related("members"))
        # Who opens and who cancels: holders of a role with that capability in the unit.
        self.openers = [m for role in roles if role.opens_runs for m in role.members.all()]
        self.cancellers = [m for role in roles if role.cancels_runs for m in role.members.all()]

    def actor(self, number, rng):
        """(role, user) acting on step `number`: a holder of one of its roles."""
        return rng.choice(self.holders[number])


def _gap(rng, low_minutes, high_minutes):
    return datetime.timedelta(minutes=rng.randint(low_minutes, high_minutes))


def plan_run(office, rng, now, *, outcome, returned, title_number):
    """The actions of one run of `office`'s SOP, ending in `outcome` before `now`.

    outcome: "running" (stops with a random step active), "finished" or "cancelled".
    returned: one approval step is sent back to its target once on the way.
    """
    last = office.steps[-1].number
    if outcome == "finished":
        stop_at = last + 1
    else:
        stop_at = rng.randint(1, last)  # the step left active
    return_at = None
    candidates = [n for n in office.returnable if n < stop_at]
    if returned and candidates:
        return_at = rng.choice(candidates)

    # Times are built forwards from zero, then shifted so the run ends before `now`.
    moments = []
    cursor = datetime.timedelta()
    sequence = []
    number = 1
    done_return = False
    while number < stop_at:
        step = office.by_number[number]
        if number == return_at and not done_return:
            sequence.append(("return", number))
            done_return = True
            number = office.by_number[number].return_to.number
            continue
        sequence.append(("approve" if step.is_approval else "complete", number))
        number += 1
    for _kind, _number in sequence:
        started = cursor + _gap(rng, 1, 600)
        completed = started + _gap(rng, 5, 900)
        entered = completed + _gap(rng, 0, 4)
        moments.append((started, completed, entered))
        cursor = entered
    ending = cursor + _gap(rng, 30, 3 * 24 * 60)
    if outcome == "running":
        # The active step has waited up to about four months.
        opened_at = now - ending - _gap(rng, 0, 120 * 24 * 60)
    else:
        opened_at = now - ending - _gap(rng, 24 * 60, 1000 * 24 * 60)
    opened_at = opened_at.replace(microsecond=0)

    opener = rng.choice(office.openers)
    actions = []
    for (kind, number), (started, completed, entered) in zip(sequence, moments, strict=True):
        step = office.by_number[number]
        user = office.actor(number, rng)[1]
        action = Action(
            kind=kind,
            number=number,
            user=user,
            now=opened_at + entered,
            started_at=opened_at + started,
            completed_at=opened_at + completed,
        )
        if kind == "complete":
            action.text = f"{step.output or 'Selesai'} (no. {title_number})"
            action.requirements = tuple(step.requirement_items())
        elif kind == "approve":
            action.text = rng.choice(INSTRUCTIONS)
            if rng.random() < 0.3:
                action.deadline = (action.completed_at + datetime.timedelta(days=7)).date()
            action.requirements = tuple(step.requirement_items())
        else:
            action.text = rng.choice(RETURN_REASONS)
        actions += _parts(office, step, action)
    if outcome == "cancelled":
        actions.append(
            Action(
                kind="cancel",
                number=0,
                user=rng.choice(office.cancellers),
                now=opened_at + ending,
                text=rng.choice(CANCEL_REASONS),
            )
        )
    topic = rng.choice(TOPICS)
    return Plan(
        sop=office.sop,
        opener=opener,
        title=f"{topic} {title_number}",
        scheduled_on=(opened_at + datetime.timedelta(days=rng.randint(3, 30))).date(),
        place=rng.choice(PLACES),
        opened_at=opened_at,
        actions=actions,
    )


def _parts(office, step, action):
    """A joint step done by every role it names is one sign-off per role, each by a holder of
    that role; any other action stays as it is."""
    if action.kind == "return" or step.completion != Step.Completion.ALL:
        return [action]
    parts = []
    for role in step.roles.all():
        holder = next(user for held, user in office.holders[step.number] if held.pk == role.pk)
        parts.append(dataclasses.replace(action, user=holder))
    return parts


# Driving a plan through the transitions -------------------------------------------------------


def drive(plan):
    """Play `plan` through `activities.core.workflow`, the way the views call it. Returns the run."""
    run = workflow.open_run(
        sop=plan.sop,
        user=plan.opener,
        title=plan.title,
        scheduled_on=plan.scheduled_on,
        place=plan.place,
        now=plan.opened_at,
    )
    for action in plan.actions:
        common = {"run_id": run.pk, "user": action.user, "now": action.now}
        if action.kind == "complete":
            workflow.complete_step(
                **common,
                number=action.number,
                started_at=action.started_at,
                completed_at=action.completed_at,
                output=action.text,
                requirements_checked=action.requirements,
            )
        elif action.kind == "approve":
            workflow.approve_step(
                **common,
                number=action.number,
                instruction=action.text,
                deadline=action.deadline,
                started_at=action.started_at,
                completed_at=action.completed_at,
                requirements_checked=action.requirements,
            )
        elif action.kind == "return":
            workflow.return_step(
                **common,
                number=action.number,
                reason=action.text,
                started_at=action.started_at,
                completed_at=action.completed_at,
            )
        else:
            workflow.cancel_run(**common, reason=action.text)
    return run


# Writing plans in bulk ------------------------------------------------------------------------


class Row:
    """A row to insert: its model's column values by attribute name (`step_id`, `round`, …).

    Plain objects rather than model instances: building a million model instances costs more
    than writing the rows."""

    def __init__(self, **values):
        self.__dict__.update(values)


def _defaults(model):
    return {
        field.attname: field.get_default()
        for field in model._meta.concrete_fields
        if field.attname != "id" and not field.generated
    }


class BulkWriter:
    """Writes planned runs with the rows the transitions would write, in a few big INSERTs
    (COPY on PostgreSQL).

    Primary keys are given here (from the tables' current maximum), so step runs and events can
    point at each other before anything is inserted; the sequences are moved past them at the
    end (`finish`). Run it on a database nobody else writes to at the same time.
    """

    MODELS = (Run, StepRun, Event, StepSignOff)

    def __init__(self, offices):
        self.offices = {office.sop.pk: office for office in offices}
        self.next_id = {
            model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in self.MODELS
        }
        self.defaults = {model: _defaults(model) for model in self.MODELS}
        self.rows = {model: [] for model in self.MODELS}
        self.subjects = {}
        self.actors = {}
        for office in offices:
            # What `open_run` does when a version's first run opens.
            office.sop.freeze_role_names()

    def _new(self, model, **values):
        row = Row(id=self.next_id[model], **(self.defaults[model] | values))
        self.next_id[model] += 1
        self.rows[model].append(row)
        return row

    def _facts(self, user):
        if user.pk not in self.subjects:
            self.subjects[user.pk] = policy.Subject(user)
        return self.subjects[user.pk]

    def _step_actor(self, user, step):
        key = (user.pk, step.pk)
        if key not in self.actors:
            self.actors[key] = policy.step_actor(user, step, self._facts(user))
        return self.actors[key]

    def _unit_actor(self, user, capability, unit_id):
        key = (user.pk, capability, unit_id)
        if key not in self.actors:
            self.actors[key] = policy.unit_actor(user, capability, unit_id, self._facts(user))
        return self.actors[key]

    def _event(self, run, kind, actor, at, *, step_run=None, before=None, after=None):
        # The columns `activities.core.events.record` fills from a `policy.Actor`, and the link of
        # the run's hash chain that `Event.objects` adds to every row it writes.
        event = self._new(
            Event,
            run_id=run.id,
            step_run_id=step_run.id if step_run else None,
            kind=kind,
            actor_id=actor.user.pk,
            role_id=actor.role.pk if actor.role else None,
            on_behalf=actor.on_behalf,
            acting=actor.acting or "",
            at=at,
            before=before or {},
            after=after or {},
            seq=run.event_count + 1,
            prev_hash=run.event_head,
        )
        event.hash = chain.event_hash(event)
        run.event_count, run.event_head = event.seq, event.hash

    def _activate(self, run, step_run, activated_at, actor, now, office, deadline=None):
        due_at = deadlines.due_time(office.calendar, activated_at, step_run.step, deadline=deadline)
        step_run.state = StepRun.State.ACTIVE
        step_run.activated_at = activated_at
        step_run.due_at = due_at
        step_run.next_alert_at = deadlines.first_alert(office.calendar, activated_at, due_at)
        step_run.version += 1
        before, after = payloads.activated_payload(step_run, activated_at, due_at)
        self._event(
            run,
            Event.Kind.ACTIVATED,
            actor,
            now,
            step_run=step_run,
            before=before,
            after=after,
        )

    def add(self, plan):
        office = self.offices[plan.sop.pk]
        opener = self._unit_actor(plan.opener, "open_runs", office.unit.pk)
        run = self._new(
            Run,
            sop_id=plan.sop.pk,
            unit_id=office.unit.pk,
            title=plan.title,
            scheduled_on=plan.scheduled_on,
            place=plan.place,
            opened_by_id=plan.opener.pk,
            opened_at=plan.opened_at,
            opened_on_behalf=opener.on_behalf,
        )
        rows = []

        def new_row(step, round_, version=0):
            row = self._new(
                StepRun, run_id=run.id, step_id=step.pk, step=step, round=round_, version=version
            )
            rows.append(row)
            return row

        for step in office.steps:
            new_row(step, 1)
        self._event(
            run,
            Event.Kind.OPENED,
            opener,
            plan.opened_at,
            after=payloads.opened_payload(
                plan.sop,
                title=plan.title,
                scheduled_on=plan.scheduled_on,
                place=plan.place,
                notes="",
            ),
        )
        self._activate(run, rows[0], plan.opened_at, opener, plan.opened_at, office)

        for action in plan.actions:
            active = next(row for row in rows if row.state == StepRun.State.ACTIVE)
            if action.kind == "cancel":
                active.__dict__.update(
                    timing.round_figures(office.calendar, active.activated_at, None, action.now)
                )
                active.next_alert_at = None
                run.status = Run.Status.CANCELLED
                run.cancelled_at = action.now
                run.cancel_reason = action.text
                figures = self._run_figures(run, rows, office)
                before, after = payloads.cancelled_payload([active], action.text, figures)
                self._event(
                    run,
                    Event.Kind.CANCELLED,
                    self._unit_actor(action.user, "cancel_run", office.unit.pk),
                    action.now,
                    before=before,
                    after=after,
                )
                continue
            actor = self._step_actor(action.user, active.step)
            if active.step.is_joint and action.kind != "return":
                actor = self._sign_off(run, active, action, office)
                if actor is None:
                    continue
            self._close(run, active, action, actor, office)
            if action.kind == "return":
                step = active.step
                target = office.by_number[step.return_to.number]
                latest_round, latest_version = {}, {}
                for row in rows:
                    latest_round[row.step_id] = max(row.round, latest_round.get(row.step_id, 0))
                    latest_version[row.step_id] = max(
                        row.version, latest_version.get(row.step_id, 0)
                    )
                first = None
                for number in range(target.number, step.number + 1):
                    rerun = office.by_number[number]
                    row = new_row(rerun, latest_round[rerun.pk] + 1, latest_version[rerun.pk] + 1)
                    first = first or row
                self._activate(run, first, action.completed_at, actor, action.now, office)
                continue
            following = [
                row
                for row in rows
                if row.step.number > active.step.number and row.state == StepRun.State.WAITING
            ]
            if following:
                row = min(following, key=lambda r: (r.step.number, -r.round))
                self._activate(
                    run,
                    row,
                    action.completed_at,
                    actor,
                    action.now,
                    office,
                    deadline=action.deadline if action.kind == "approve" else None,
                )
            else:
                run.status = Run.Status.FINISHED
                run.finished_at = action.completed_at
                figures = self._run_figures(run, rows, office)
                before, after = payloads.finished_payload(action.completed_at, figures)
                self._event(run, Event.Kind.FINISHED, actor, action.now, before=before, after=after)
        return run

    @staticmethod
    def _run_figures(run, rows, office):
        figures = timing.run_figures(timing.run_timing(run, rows, office.calendar))
        run.__dict__.update(figures)
        return figures

    def _sign_off(self, run, row, action, office):
        """What `workflow._sign_off` writes for one performer's part of a joint step: returns
        the signer when his part meets the step's rule (the round closes), else None."""
        step = row.step
        parts = getattr(row, "sign_offs", [])
        signed = [part.role_id for part in parts]
        signer = policy.sign_off_actor(action.user, step, signed, self._facts(action.user))
        fields = self._fields(row, action)
        figures = timing.round_figures(
            office.calendar, None, action.started_at, action.completed_at
        )
        part = self._new(
            StepSignOff,
            step_run_id=row.id,
            user_id=signer.user.pk,
            user=signer.user,
            role_id=signer.role.pk if signer.role else None,
            role=signer.role,
            on_behalf=signer.on_behalf,
            acting=signer.acting or "",
            started_at=action.started_at,
            completed_at=action.completed_at,
            entered_at=action.now,
            requirements_checked=fields.get("requirements_checked", ""),
            output=fields.get("output", ""),
            notes=fields.get("notes", "") or fields.get("decision_notes", ""),
            instruction=fields.get("instruction", ""),
            handling_office_minutes=figures["handling_office_minutes"],
        )
        row.version += 1
        before, after = stages.signed_off_payload(
            row, signer, action.now, fields, figures, len(parts)
        )
        row.sign_offs = [*parts, part]
        self._event(
            run, Event.Kind.SIGNED_OFF, signer, action.now, step_run=row, before=before, after=after
        )
        if policy.sign_offs_needed(step, [*signed, part.role_id]):
            return None
        row.joint_fields = stages.joint_closing_fields(fields, row.sign_offs)
        return signer

    @staticmethod
    def _fields(row, action):
        if action.kind == "complete":
            return payloads.completed_fields(
                started_at=action.started_at,
                completed_at=action.completed_at,
                output=action.text,
                notes="",
                requirements_checked=action.requirements,
            )
        return payloads.approved_fields(
            started_at=action.started_at,
            completed_at=action.completed_at,
            instruction=action.text,
            deadline=action.deadline,
            decision_notes="",
            output=row.step.output,
            requirements_checked=action.requirements,
        )

    def _close(self, run, row, action, actor, office):
        step = row.step
        if action.kind == "complete":
            fields = payloads.completed_fields(
                started_at=action.started_at,
                completed_at=action.completed_at,
                output=action.text,
                notes="",
                requirements_checked=action.requirements,
            )
            kind = Event.Kind.COMPLETED
            after = workflow.serialise(fields)
        elif action.kind == "approve":
            fields = payloads.approved_fields(
                started_at=action.started_at,
                completed_at=action.completed_at,
                instruction=action.text,
                deadline=action.deadline,
                decision_notes="",
                output=step.output,
                requirements_checked=action.requirements,
            )
            kind = Event.Kind.APPROVED
            after = workflow.serialise(fields)
        else:
            fields = payloads.returned_fields(
                started_at=action.started_at, completed_at=action.completed_at, reason=action.text
            )
            kind = Event.Kind.RETURNED
            after = workflow.serialise(fields) | {"return_to": step.return_to.number}
        joint = getattr(row, "joint_fields", None)
        if joint is not None:
            fields = joint
            after = workflow.serialise(fields) | {"sign_offs": len(row.sign_offs)}
        figures = timing.round_figures(
            office.calendar, row.activated_at, fields["started_at"], fields["completed_at"]
        )
        row.__dict__.update(fields | figures)
        row.completed_by_id = actor.user.pk
        row.completed_as_id = actor.role.pk if actor.role else None
        row.on_behalf = actor.on_behalf
        row.acting = actor.acting or ""
        row.entered_at = action.now
        row.next_alert_at = None
        row.version += 1
        before, after = payloads.closed_payload(row, actor, action.now, after, figures)
        self._event(run, kind, actor, action.now, step_run=row, before=before, after=after)

    def flush(self):
        """Insert the rows added so far; returns (runs, step runs, events, sign-offs) written."""
        counts = tuple(len(self.rows[model]) for model in self.MODELS)
        for model in self.MODELS:
            if connection.vendor == "postgresql":
                _copy(model, self.rows[model])
            else:
                columns = [
                    field.attname for field in model._meta.concrete_fields if not field.generated
                ]
                # The base manager: the rows carry their hash chain already.
                model._base_manager.bulk_create(
                    [
                        model(**{name: getattr(row, name) for name in columns})
                        for row in self.rows[model]
                    ],
                    batch_size=500,
                )
            self.rows[model] = []
        return counts

    def finish(self):
        """Move the id sequences past the ids given here (PostgreSQL; SQLite needs nothing)."""
        statements = connection.ops.sequence_reset_sql(no_style(), self.MODELS)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value):
    """A value in PostgreSQL's COPY text format."""
    kind = type(value)
    if kind is str:
        return value.translate(_COPY_ESCAPES)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime.datetime:
        return value.astimezone(datetime.UTC).isoformat()
    if kind is dict or kind is list:
        return json.dumps(value).translate(_COPY_ESCAPES)
    return str(value).translate(_COPY_ESCAPES)


def _copy(model, rows):
    if not rows:
        return
    # Generated columns (Run.closed_at) are computed by the database.
    fields = [field for field in model._meta.concrete_fields if not field.generated]
    names = [field.attname for field in fields]
    text = "".join(
        "\t".join(_copy_text(getattr(row, name)) for name in names) + "\n" for row in rows
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO(text))


# Comparing both ------------------------------------------------------------------------------

SKIPPED_FIELDS = {"id", "run", "step_run"}
# Hashes cover the rows' ids, which differ between the two writes: each chain is checked instead.
CHAIN_FIELDS = {"hash", "prev_hash", "event_head"}


def _values(instance, skip=SKIPPED_FIELDS):
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in skip
    }


def snapshot(run_ids):
    """Every row of these runs, with ids replaced by positions, for comparison."""
    result = []
    for position, run in enumerate(Run.objects.filter(pk__in=run_ids).order_by("pk")):
        rows = list(StepRun.objects.filter(run=run).order_by("pk"))
        positions = {row.pk: index for index, row in enumerate(rows)}
        run_events = list(Event.objects.filter(run=run).order_by("pk"))
        events = [
            _values(event, SKIPPED_FIELDS | CHAIN_FIELDS)
            | {"step_run": positions.get(event.step_run_id)}
            for event in run_events
        ]
        broken = chain.verify_run(run.pk, run_events, run.event_count, run.event_head)
        result.append(
            {
                "run": _values(run, SKIPPED_FIELDS | CHAIN_FIELDS),
                "step_runs": [_values(row) for row in rows],
                "sign_offs": [
                    _values(sign_off)
                    for sign_off in StepSignOff.objects.filter(step_run__run=run).order_by("pk")
                ],
                "events": events,
                "chain": str(broken) if broken else "intact",
                "position": position,
            }
        )
    return result


class _Rollback(Exception):
    pass


def _rolled_back(function):
    """Run `function` in a transaction that is always rolled back; return its result."""
    outcome = {}
    try:
        with transaction.atomic():
            outcome["value"] = function()
            raise _Rollback
    except _Rollback:
        pass
    return outcome["value"]


def differences(left, right, path="runs"):
    """Human-readable differences between two snapshots (empty when they are equal)."""
    found = []
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            found += differences(left.get(key), right.get(key), f"{path}.{key}")
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            found.append(f"{path}: {len(left)} rows from the transitions, {len(right)} in bulk")
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            found += differences(a, b, f"{path}[{index}]")
    elif left != right:
        found.append(f"{path}: {left!r} from the transitions, {right!r} in bulk")
    return found


def compare_with_workflow(plans):
    """Differences between `plans` driven through the transitions and written in bulk.

    Both are done inside transactions that are rolled back, so the database is unchanged.
    Notifications and the archived laporan happen after a commit and are not part of this.
    """

    def driven():
        return snapshot([drive(plan).pk for plan in plans])

    def bulk():
        writer = BulkWriter([Office(plan.sop) for plan in plans])
        ids = [writer.add(plan).id for plan in plans]
        writer.flush()
        return snapshot(ids)

    return differences(_rolled_back(driven), _rolled_back(bulk))


# Offices -------------------------------------------------------------------------------------


def _copy_office(template_sop, name, short_name):
    """A new unit with the template's roles, one holder per role and an active copy of its SOP."""
    unit = Unit.objects.create(
        name=f"Kecamatan {name}",
        short_name=short_name,
        head_title=f"Camat {name}",
        head_name=f"Camat {name}",
    )
    User = get_user_model()
    roles = {}
    for role in Role.objects.filter(unit=template_sop.unit):
        copy = Role.objects.create(
            unit=unit,
            name=role.name,
            kind=role.kind,
            position=role.position,
            **{flag: getattr(role, flag) for flag in policy.ROLE_FLAGS.values()},
        )
        username = f"{short_name.lower()}_{role.pk}"
        user = User(username=username, first_name=role.name, last_name=name, email="")
        user.set_unusable_password()
        user.save()
        copy.members.add(user)
        roles[role.pk] = copy
    sop = Sop.objects.get(pk=template_sop.pk)
    sop.pk = None
    sop.unit = unit
    sop.previous = None
    sop.status = Sop.Status.ACTIVE
    sop.role_names = {}
    sop.save()
    lifecycle.copy_contents(template_sop, sop, roles=roles)
    return sop


def offices(run_count, templates):
    """Offices for `run_count` runs: the templates' own units, plus copies up to about
    RUNS_PER_UNIT runs each (alternating templates)."""
    wanted = max(len(templates), round(run_count / RUNS_PER_UNIT))
    sops = list(templates)
    existing = {unit.short_name for unit in Unit.objects.all()}
    index = 0
    while len(sops) < wanted:
        template = templates[len(sops) % len(templates)]
        index += 1
        district = DISTRICTS[(index - 1) % len(DISTRICTS)]
        suffix = "" if index <= len(DISTRICTS) else f" {index // len(DISTRICTS) + 1}"
        short_name = f"Kec{index:03d}"
        if short_name in existing:
            unit = Unit.objects.get(short_name=short_name)
            sops.append(unit.sops.get(status=Sop.Status.ACTIVE))
            continue
        sops.append(_copy_office(template, district + suffix, short_name))
    return [Office(sop) for sop in sops]


def big_offices(count, templates):
    """`count` offices meant for tens of thousands of runs each (units Besar001, Besar002, ...),
    copies of the templates in turn; an existing one is reused."""
    sops = []
    for index in range(1, count + 1):
        short_name = f"Besar{index:03d}"
        unit = Unit.objects.filter(short_name=short_name).first()
        if unit is not None:
            sops.append(unit.sops.get(status=Sop.Status.ACTIVE))
            continue
        template = templates[(index - 1) % len(templates)]
        sops.append(_copy_office(template, f"Besar {index}", short_name))
    return [Office(sop) for sop in sops]


def outcome_for(rng):
    draw = rng.random()
    if draw < FINISHED_SHARE:
        return "finished"
    if draw < FINISHED_SHARE + CANCELLED_SHARE:
        return "cancelled"
    return "running"


def sample_plans(office_list, now, seed=7):
    """A few plans of every shape for every template office, for `compare_with_workflow`."""
    rng = random.Random(seed)
    plans = []
    for office in office_list:
        for outcome in ("running", "finished", "cancelled"):
            for returned in (False, True):
                plans.append(
                    plan_run(office, rng, now, outcome=outcome, returned=returned, title_number=0)
                )
    return plans
