"""The event log of an SOP's runs for process mining: CSV, and XES (IEEE 1849-2016).

One trace per run (case), one event per start, completion and return of a step round. Events
are read from the step rounds (`StepRun`), which carry the times as entered by hand, not from the
`Event` table, whose `at` is the moment of recording. Rows are streamed in chunks, so a log of
many thousand runs is written without holding it in memory.

`org:resource` is the person who did the step, or with `pseudonymous=True` a stable code
derived from the user id and SECRET_KEY: the same person has the same code in every export of
this installation, and the code cannot be turned back into a name without the key.
"""

import datetime
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from activities.documents.spreadsheets import safe_cell
from activities.models import Role, Run, StepRun, StepValue

CHUNK_SIZE = 2000
# The most runs one download holds: a longer period is refused with a message (the log of
# 2,000 runs takes well under a second of CPU, streamed; this keeps a download in the tens of
# seconds of a web worker at most).
MAX_RUNS = 20_000
ACTIVITY_LABEL_CHARS = 80

START, COMPLETE = "start", "complete"
OUTCOME_DONE, OUTCOME_RETURNED = "selesai", "dikembalikan"


@dataclass(frozen=True)
class Fixed:
    """What every event of one step done by one person as one role has in common, with its
    XES attributes and CSV cells escaped once for all of them."""

    activity: str
    step: int
    standard_minutes: int
    resource: str
    role: str
    xes_name: str
    xes_middle: str
    xes_standard: str
    csv_activity: str
    csv_person: tuple[str, str]


@dataclass(slots=True)
class LogEvent:
    fixed: Fixed
    round: int
    timestamp: datetime.datetime
    transition: str
    office_minutes: float | None
    outcome: str = ""
    # {field key: value} of the step data the round recorded (on its completion event).
    data: dict = field(default_factory=dict)

    @property
    def activity(self):
        return self.fixed.activity

    @property
    def step(self):
        return self.fixed.step

    @property
    def resource(self):
        return self.fixed.resource

    @property
    def role(self):
        return self.fixed.role

    @property
    def standard_minutes(self):
        return self.fixed.standard_minutes


@dataclass
class Trace:
    run_id: int
    title: str
    sop_number: str
    sop_name: str
    sop_version: int
    unit: str
    status: str
    events: list = field(default_factory=list)


def activity_label(step):
    """“4. Menyusun jadwal …”: the step number keeps labels unique, the text is cut short."""
    text = " ".join(step.activity.split())
    if len(text) > ACTIVITY_LABEL_CHARS:
        text = text[: ACTIVITY_LABEL_CHARS - 1].rstrip() + "…"
    return f"{step.number}. {text}"


def pseudonym(user_id):
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"org:resource:{user_id}".encode(), hashlib.sha256
    )
    return f"pegawai-{digest.hexdigest()[:10]}"


def _resource(user, pseudonymous):
    if user is None:
        return ""
    if pseudonymous:
        return pseudonym(user.pk)
    return user.get_full_name() or user.get_username()


class _Names:
    """The steps of the SOP, and the people and roles of its rounds, each read once (a handful
    of rows however many runs the log holds), and the `Fixed` part of their events."""

    def __init__(self, sop, pseudonymous):
        self.pseudonymous = pseudonymous
        self.steps = {
            step.pk: (step, ", ".join(sop.role_name(role) for role in step.roles.all()))
            for step in sop.steps.prefetch_related("roles")
        }
        # step id → the keys of its data fields that take several values; empty: no step
        # of the SOP asks for data, and no value is read.
        self.multiple = {
            pk: {spec.get("key") for spec in step.data_fields or () if spec.get("multiple")}
            for pk, (step, _roles) in self.steps.items()
            if step.data_fields
        }
        self.people: dict[int | None, str] = {None: ""}
        self.roles: dict[int, str] = {}
        self.fixed: dict[tuple, Fixed] = {}

    def person(self, user_id):
        if user_id not in self.people:
            user = get_user_model().objects.filter(pk=user_id).first()
            self.people[user_id] = _resource(user, self.pseudonymous)
        return self.people[user_id]

    def role(self, role_id, step_id):
        if role_id is None:
            return self.steps[step_id][1]
        if role_id not in self.roles:
            self.roles[role_id] = Role.objects.filter(pk=role_id).values_list("name", flat=True)[0]
        return self.roles[role_id]

    def of(self, step_id, user_id, role_id):
        key = (step_id, user_id, role_id)
        fixed = self.fixed.get(key)
        if fixed is None:
            step = self.steps[step_id][0]
            resource, role = self.person(user_id), self.role(role_id, step_id)
            label = activity_label(step)
            middle = ""
            if resource:
                middle += _attr("string", "org:resource", resource, "      ")
            if role:
                middle += _attr("string", "org:role", role, "      ")
            middle += _attr("int", "step", step.number, "      ")
            fixed = self.fixed[key] = Fixed(
                activity=label,
                step=step.number,
                standard_minutes=step.standard_minutes,
                resource=resource,
                role=role,
                xes_name=_attr("string", "concept:name", label, "      "),
                xes_middle=middle,
                xes_standard=_attr("int", "standard_minutes", step.standard_minutes, "      "),
                csv_activity=safe_cell(label),
                csv_person=(safe_cell(resource), safe_cell(role)),
            )
        return fixed


def run_count(sop, period):
    """How many runs of `sop` were opened in `period` (the runs a log of it holds)."""
    first, after = period.bounds
    return Run.objects.filter(sop=sop, opened_at__gte=first, opened_at__lt=after).count()


def traces(sop, period, *, pseudonymous=False):
    """The traces of the runs of `sop` opened in `period`, in run order, events in time order.

    The rounds are read as plain values (no model instances), in chunks."""
    first, after = period.bounds
    names = _Names(sop, pseudonymous)
    rounds = (
        StepRun.objects.filter(
            run__sop=sop,
            run__opened_at__gte=first,
            run__opened_at__lt=after,
            started_at__isnull=False,
        )
        .order_by("run_id", "started_at", "id")
        .values_list(
            "id",
            "run_id",
            "run__title",
            "run__status",
            "step_id",
            "round",
            "state",
            "started_at",
            "completed_at",
            "handling_office_minutes",
            "completed_by_id",
            "completed_as_id",
        )
    )
    trace = None
    returned_state = StepRun.State.RETURNED
    for chunk in _chunks(rounds.iterator(chunk_size=CHUNK_SIZE)):
        data = _round_data(names, chunk) if names.multiple else {}
        for row in chunk:
            (pk, run_id, title, status, step_id, round_, state, started, completed, minutes) = row[
                :10
            ]
            by, as_ = row[10:]
            if trace is None or trace.run_id != run_id:
                if trace is not None:
                    yield _sorted(trace)
                trace = Trace(
                    run_id=run_id,
                    title=title,
                    sop_number=sop.number,
                    sop_name=sop.name,
                    sop_version=sop.version,
                    unit=sop.unit.short_name,
                    status=status,
                )
            fixed = names.of(step_id, by, as_)
            trace.events.append(LogEvent(fixed, round_, started, START, None))
            if completed is not None:
                outcome = OUTCOME_RETURNED if state == returned_state else OUTCOME_DONE
                trace.events.append(
                    LogEvent(
                        fixed,
                        round_,
                        completed,
                        COMPLETE,
                        _rounded(minutes),
                        outcome,
                        data.get(pk, {}),
                    )
                )
    if trace is not None:
        yield _sorted(trace)


def _chunks(rows):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _round_data(names, chunk):
    """{round id: {field key: value}} of the step data the rounds of `chunk` recorded (one
    query); a field that takes several values gives a list. Values as the completion event
    carries them: numbers and dates as text, yes/no as true/false, a list item by its name."""
    ids = [row[0] for row in chunk if row[4] in names.multiple and row[8] is not None]
    data: dict[int, dict] = {}
    if not ids:
        return data
    values = StepValue.objects.filter(step_run_id__in=ids).annotate(step=F("step_run__step_id"))
    for value in values.order_by("step_run_id", "position", "id"):
        recorded = data.setdefault(value.step_run_id, {})
        if value.key in names.multiple.get(value.step, ()):
            recorded.setdefault(value.key, []).append(value.as_json())
        else:
            recorded[value.key] = value.as_json()
    return data


def _sorted(trace):
    # Stable: events of the same moment keep the order of their rounds (a completion before
    # the start of the next step it activated, a start before its own completion).
    trace.events.sort(key=lambda event: event.timestamp)
    return trace


def _rounded(minutes):
    return None if minutes is None else round(minutes, 2)


# CSV ---------------------------------------------------------------------------------------

CSV_HEADER = [
    "case_id",
    "case_title",
    "sop_number",
    "sop_version",
    "unit",
    "activity",
    "step",
    "round",
    "timestamp",
    "lifecycle",
    "outcome",
    "resource",
    "role",
    "standard_minutes",
    "office_minutes",
    "data",
]


def csv_rows(traces_):
    """The header, then one row per event; timestamps in ISO 8601 with the WIB offset. Every
    cell is safe for a spreadsheet already (`spreadsheets.safe_cell`), each text once."""
    yield CSV_HEADER
    for trace in traces_:
        head = [
            trace.run_id,
            safe_cell(trace.title),
            safe_cell(trace.sop_number),
            trace.sop_version,
            safe_cell(trace.unit),
        ]
        for event in trace.events:
            fixed = event.fixed
            minutes = event.office_minutes
            yield [
                *head,
                fixed.csv_activity,
                fixed.step,
                event.round,
                _timestamp(event.timestamp),
                event.transition,
                event.outcome,
                *fixed.csv_person,
                fixed.standard_minutes,
                "" if minutes is None else minutes,
                json.dumps(event.data, ensure_ascii=False) if event.data else "",
            ]


# XES ---------------------------------------------------------------------------------------

XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)


def _timestamp(value):
    """xs:dateTime with milliseconds and the office's UTC offset: 2026-11-23T09:15:00.000+07:00."""
    return timezone.localtime(value).isoformat(timespec="milliseconds")


# Characters XML 1.0 does not allow at all, not even escaped (a control character pasted in a title).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _attr(kind, key, value, indent):
    text = _NOT_XML.sub("", str(value))
    return f"{indent}<{kind} key={quoteattr(key)} value={quoteattr(text)}/>\n"


_TRANSITIONS = {
    name: _attr("string", "lifecycle:transition", name, "      ") for name in (START, COMPLETE)
}
_OUTCOMES = {
    name: _attr("string", "outcome", name, "      ") for name in (OUTCOME_DONE, OUTCOME_RETURNED)
}


def _data_attr(key, value):
    """One recorded value as an event attribute `data:<key>`; several values joined by "; "."""
    if isinstance(value, list):
        return _attr("string", f"data:{key}", "; ".join(map(str, value)), "      ")
    if isinstance(value, bool):
        return _attr("boolean", f"data:{key}", "true" if value else "false", "      ")
    return _attr("string", f"data:{key}", "" if value is None else value, "      ")


def xes_chunks(traces_, *, sop, period):
    """The XES document in pieces, for a streaming response."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield '<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">\n'
    for name, prefix, uri in XES_EXTENSIONS:
        yield (
            f"  <extension name={quoteattr(name)} prefix={quoteattr(prefix)} "
            f"uri={quoteattr(uri)}/>\n"
        )
    yield '  <global scope="trace">\n'
    yield _attr("string", "concept:name", "", "    ")
    yield "  </global>\n"
    yield '  <global scope="event">\n'
    yield _attr("string", "concept:name", "", "    ")
    yield _attr("date", "time:timestamp", "1970-01-01T00:00:00.000+00:00", "    ")
    yield _attr("string", "lifecycle:transition", COMPLETE, "    ")
    yield "  </global>\n"
    yield '  <classifier name="Activity" keys="concept:name"/>\n'
    yield '  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>\n'
    yield _attr("string", "concept:name", f"{sop.number or sop.name} v{sop.version}", "  ")
    yield _attr("string", "lifecycle:model", "standard", "  ")
    yield _attr("string", "sop_name", sop.name, "  ")
    yield _attr("string", "unit", sop.unit.name, "  ")
    yield _attr("string", "period", f"{period.start}/{period.end}", "  ")
    for trace in traces_:
        parts = ["  <trace>\n"]
        parts.append(_attr("string", "concept:name", trace.run_id, "    "))
        parts.append(_attr("string", "title", trace.title, "    "))
        parts.append(_attr("string", "sop_number", trace.sop_number, "    "))
        parts.append(_attr("int", "sop_version", trace.sop_version, "    "))
        parts.append(_attr("string", "unit", trace.unit, "    "))
        parts.append(_attr("string", "status", trace.status, "    "))
        for event in trace.events:
            fixed = event.fixed
            parts.append("    <event>\n")
            parts.append(fixed.xes_name)
            parts.append(
                f'      <date key="time:timestamp" value="{_timestamp(event.timestamp)}"/>\n'
            )
            parts.append(_TRANSITIONS[event.transition])
            parts.append(fixed.xes_middle)
            parts.append(f'      <int key="round" value="{event.round}"/>\n')
            parts.append(fixed.xes_standard)
            if event.office_minutes is not None:
                parts.append(
                    f'      <float key="office_minutes" value="{event.office_minutes}"/>\n'
                )
            if event.outcome:
                parts.append(_OUTCOMES[event.outcome])
            for key, value in event.data.items():
                parts.append(_data_attr(key, value))
            parts.append("    </event>\n")
        parts.append("  </trace>\n")
        yield "".join(parts)
    yield "</log>\n"
