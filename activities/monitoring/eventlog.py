"""The event log of an SOP's runs for process mining: CSV, and XES (IEEE 1849-2016).

One trace per run (case), one event per start, completion and return of a step round; a
completion carries the step data its round recorded (CSV: a JSON column `data`; XES:
`data:<key>` attributes). Events
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
from django.utils import timezone

from activities.models import StepRun

CHUNK_SIZE = 2000
ACTIVITY_LABEL_CHARS = 80

START, COMPLETE = "start", "complete"
OUTCOME_DONE, OUTCOME_RETURNED = "selesai", "dikembalikan"


@dataclass
class LogEvent:
    activity: str
    step: int
    round: int
    timestamp: datetime.datetime
    transition: str
    resource: str
    role: str
    standard_minutes: int
    office_minutes: float | None
    outcome: str = ""
    # The step data the round recorded, on its completion: {field key: value or [values]}.
    data: dict = field(default_factory=dict)


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


def traces(sop, period, *, pseudonymous=False):
    """The traces of the runs of `sop` opened in `period`, in run order, events in time order."""
    first, after = period.bounds
    step_roles = {
        step.pk: ", ".join(sop.role_name(role) for role in step.roles.all())
        for step in sop.steps.prefetch_related("roles")
    }
    rounds = (
        StepRun.objects.filter(
            run__sop=sop,
            run__opened_at__gte=first,
            run__opened_at__lt=after,
            started_at__isnull=False,
        )
        .select_related("run", "step", "completed_by", "completed_as")
        .prefetch_related("values")
        .order_by("run_id", "started_at", "id")
    )
    trace = None
    for step_run in rounds.iterator(chunk_size=CHUNK_SIZE):
        run = step_run.run
        if trace is None or trace.run_id != run.pk:
            if trace is not None:
                yield _sorted(trace)
            trace = Trace(
                run_id=run.pk,
                title=run.title,
                sop_number=sop.number,
                sop_name=sop.name,
                sop_version=sop.version,
                unit=sop.unit.short_name,
                status=run.status,
            )
        trace.events.extend(_round_events(step_run, step_roles, pseudonymous))
    if trace is not None:
        yield _sorted(trace)


def _sorted(trace):
    # Stable: events of the same moment keep the order of their rounds (a completion before
    # the start of the next step it activated, a start before its own completion).
    trace.events.sort(key=lambda event: event.timestamp)
    return trace


def _rounded(minutes):
    return None if minutes is None else round(minutes, 2)


def _round_events(step_run, step_roles, pseudonymous):
    step = step_run.step
    role = step_run.completed_as.name if step_run.completed_as else step_roles.get(step.pk, "")
    resource = _resource(step_run.completed_by, pseudonymous)
    common = {
        "activity": activity_label(step),
        "step": step.number,
        "round": step_run.round,
        "resource": resource,
        "role": role,
        "standard_minutes": step.standard_minutes,
    }
    yield LogEvent(**common, timestamp=step_run.started_at, transition=START, office_minutes=None)
    if step_run.completed_at is not None:
        returned = step_run.state == StepRun.State.RETURNED
        yield LogEvent(
            **common,
            timestamp=step_run.completed_at,
            transition=COMPLETE,
            office_minutes=_rounded(step_run.handling_office_minutes),
            outcome=OUTCOME_RETURNED if returned else OUTCOME_DONE,
            data=round_data(step_run),
        )


def round_data(step_run):
    """{field key: value} of the step data a round recorded; a field that takes several values
    (a choice or list marked "banyak") gives a list. Values as the completion event has them:
    numbers and dates as text, yes/no as true/false, a list item by its name."""
    multiple = {spec.get("key") for spec in step_run.step.data_fields or () if spec.get("multiple")}
    data: dict = {}
    for value in step_run.values.all():
        if value.key in multiple:
            data.setdefault(value.key, []).append(value.as_json())
        else:
            data[value.key] = value.as_json()
    return data


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
    """The header, then one row per event; timestamps in ISO 8601 with the WIB offset."""
    yield CSV_HEADER
    for trace in traces_:
        for event in trace.events:
            yield [
                trace.run_id,
                trace.title,
                trace.sop_number,
                trace.sop_version,
                trace.unit,
                event.activity,
                event.step,
                event.round,
                _timestamp(event.timestamp),
                event.transition,
                event.outcome,
                event.resource,
                event.role,
                event.standard_minutes,
                "" if event.office_minutes is None else event.office_minutes,
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
            parts.append("    <event>\n")
            parts.append(_attr("string", "concept:name", event.activity, "      "))
            parts.append(_attr("date", "time:timestamp", _timestamp(event.timestamp), "      "))
            parts.append(_attr("string", "lifecycle:transition", event.transition, "      "))
            if event.resource:
                parts.append(_attr("string", "org:resource", event.resource, "      "))
            if event.role:
                parts.append(_attr("string", "org:role", event.role, "      "))
            parts.append(_attr("int", "step", event.step, "      "))
            parts.append(_attr("int", "round", event.round, "      "))
            parts.append(_attr("int", "standard_minutes", event.standard_minutes, "      "))
            if event.office_minutes is not None:
                parts.append(_attr("float", "office_minutes", event.office_minutes, "      "))
            if event.outcome:
                parts.append(_attr("string", "outcome", event.outcome, "      "))
            for key, value in event.data.items():
                parts.append(_data_attr(key, value))
            parts.append("    </event>\n")
        parts.append("  </trace>\n")
        yield "".join(parts)
    yield "</log>\n"
