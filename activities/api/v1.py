"""Version 1 of the REST API (`/api/v1/`), built with django-ninja: the OpenAPI 3.1 description
at `/api/v1/openapi.json` and its documentation at `/api/v1/docs` come from the type hints.

Each endpoint does what its page does, through the same functions: objects are fetched through
`activities.core.access`/`policy` (another unit's object is a 404, a capability the roles lack
a 403), input is checked by the page's own forms (`activities.forms`), and every change is one
transition of `activities.core.workflow`, given the round and version the client read, exactly
as `views/runs.py` calls it. Every list is paged and bounded."""

import datetime

from django.db.models import F, Prefetch
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query
from ninja import Schema as _Schema

from activities.api import problems
from activities.api import schemas as s
from activities.api.auth import KeyAuth, require_write
from activities.core import access, errors, policy, workflow
from activities.forms import PeriodForm, RunFilterForm, RunForm
from activities.models import Event, StepRun, performed_as
from activities.monitoring import statistics
from activities.paging import InvalidCursor, keyset_page
from activities.time.periods import Period
from activities.time.timing import run_timing
from activities.views import runs as run_pages

MAX_LIMIT = 100
INBOX_PAGE_SIZE = 50
PROBLEMS = {
    401: s.Problem,
    403: s.Problem,
    404: s.Problem,
    409: s.Problem,
    422: s.Problem,
    429: s.Problem,
}

api = NinjaAPI(
    title="sopflow API",
    version="1",
    description=(
        "API sopflow: SOP, kegiatan dan langkahnya, tugas, statistik, catatan perubahan. "
        "Setiap permintaan membawa kunci API di kepala `Authorization: Bearer <kunci>`; kunci "
        "bertindak sebagai pemiliknya (unit, jabatan, Plt./Plh.). Galat berbentuk "
        "`application/problem+json`."
    ),
    urls_namespace="api-v1",
    auth=KeyAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
problems.install(api)


class Paging(_Schema):
    limit: int = 25
    cursor: str | None = None


def _limit(value):
    if not 1 <= value <= MAX_LIMIT:
        raise problems.Unprocessable(
            {"limit": [_("Nilai limit harus antara 1 dan %(max)d.") % {"max": MAX_LIMIT}]}
        )
    return value


def _form_errors(form):
    return {
        field: [error["message"] for error in field_errors]
        for field, field_errors in form.errors.get_json_data().items()
    }


# SOPs -----------------------------------------------------------------------------------------


def _unit(unit):
    return {"id": unit.pk, "name": unit.name}


def _sop(sop):
    return {
        "id": sop.pk,
        "unit": _unit(sop.unit),
        "number": sop.number,
        "name": sop.name,
        "version": sop.version,
        "status": sop.status,
        "effective_on": sop.effective_on,
    }


def _steps(sop):
    steps = list(sop.steps.all())
    numbers = {step.pk: step.number for step in steps}
    return [
        {
            "number": step.number,
            "activity": step.activity,
            "kind": step.kind,
            "action": step.action,
            "roles": [sop.role_name(role) for role in step.roles.all()],
            "requirements": step.requirement_items(),
            "standard_text": step.standard_text,
            "standard_minutes": step.standard_minutes,
            "output": step.output,
            "return_to": numbers.get(step.return_to_id),
        }
        for step in steps
    ]


@api.get("/sops", response={200: s.SopPage, **PROBLEMS}, tags=["SOP"])
def sop_list(request, paging: Query[Paging], status: str | None = None):
    """SOP versions of the key's units, by id; `cursor` from `next_cursor`."""
    limit = _limit(paging.limit)
    sops = policy.visible_sops(request.auth).select_related("unit").order_by("pk")
    if status:
        sops = sops.filter(status=status)
    if paging.cursor:
        if not paging.cursor.isdigit():
            raise problems.Unprocessable({"cursor": [_("Cursor tidak dikenal.")]})
        sops = sops.filter(pk__gt=int(paging.cursor))
    rows = list(sops[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_sop(sop) for sop in rows],
        "next_cursor": str(rows[-1].pk) if more and rows else None,
    }


@api.get("/sops/{sop_id}", response={200: s.SopDetail, **PROBLEMS}, tags=["SOP"])
def sop_detail(request, sop_id: int):
    """One SOP version with its steps (the mutu baku of each)."""
    sop = access.get_sop_for_user(request.auth, sop_id)
    return {**_sop(sop), "steps": _steps(sop)}


@api.get("/sops/{sop_id}/steps", response={200: list[s.StepOut], **PROBLEMS}, tags=["SOP"])
def sop_steps(request, sop_id: int):
    """The steps of an SOP version, in order."""
    return _steps(access.get_sop_for_user(request.auth, sop_id))


@api.get("/sops/{sop_id}/versions", response={200: list[s.SopOut], **PROBLEMS}, tags=["SOP"])
def sop_versions(request, sop_id: int):
    """Every version of the same SOP (same unit and name), newest first (at most 100)."""
    sop = access.get_sop_for_user(request.auth, sop_id)
    versions = (
        policy.visible_sops(request.auth)
        .filter(unit_id=sop.unit_id, name=sop.name)
        .select_related("unit")
        .order_by("-version")[:MAX_LIMIT]
    )
    return [_sop(version) for version in versions]


@api.get("/sops/{sop_id}/statistics", response={200: s.StatisticsOut, **PROBLEMS}, tags=["SOP"])
def sop_statistics(request, sop_id: int, dari: str | None = None, sampai: str | None = None):
    """Statistics of an SOP version over a period (`dari`, `sampai`; this semester by
    default), for the roles that see statistics, as on `/sop/<id>/statistik/`."""
    sop = access.get_monitored_sop(request.auth, sop_id)
    data = {key: value for key, value in (("dari", dari), ("sampai", sampai)) if value}
    form = PeriodForm(data or None)
    if form.is_bound and not form.is_valid():
        raise problems.Unprocessable(_form_errors(form))
    period = form.period(Period.current_semester())
    stats = statistics.for_sop(sop, period, list(sop.steps.all()))
    return {
        "sop": sop.pk,
        "start": period.start,
        "end": period.end,
        "opened": stats.opened,
        "finished": stats.finished,
        "cancelled": stats.cancelled,
        "open_at_end": stats.open_at_end,
        "standard_total": stats.standard_total,
        "on_time_share": stats.on_time_share,
        "lead_median": stats.lead.median,
        "lead_p90": stats.lead.p90,
        "day_minutes": stats.day_minutes,
        "steps": [
            {
                "step": stat.number,
                "standard_minutes": stat.standard_minutes,
                "rounds": stat.rounds,
                "handling_median": stat.handling_median,
                "handling_p90": stat.handling_p90,
                "waiting_median": stat.waiting_median,
                "within_share": stat.within_share,
                "return_rate": stat.return_rate,
                "overrun": stat.overrun,
            }
            for stat in stats.steps
        ],
    }


# Runs -----------------------------------------------------------------------------------------


def _run(run, active_step=None):
    return {
        "id": run.pk,
        "title": run.title,
        "status": run.status,
        "scheduled_on": run.scheduled_on,
        "place": run.place,
        "unit": _unit(run.unit),
        "sop": run.sop_id,
        "opened_at": run.opened_at,
        "finished_at": run.finished_at,
        "cancelled_at": run.cancelled_at,
        "active_step": active_step,
    }


def _round(row):
    step_run = row.step_run
    role = step_run.completed_as
    return {
        "id": step_run.pk,
        "step": step_run.step.number,
        "round": step_run.round,
        "version": step_run.version,
        "state": step_run.state,
        "activated_at": step_run.activated_at,
        "started_at": step_run.started_at,
        "completed_at": step_run.completed_at,
        "due_at": step_run.due_at,
        "completed_by": step_run.completed_by.get_username() if step_run.completed_by else None,
        "performed_as": performed_as(role, step_run.acting) if role else None,
        "decision": step_run.decision or None,
        "instruction": step_run.instruction or None,
        "return_reason": step_run.return_reason or None,
        "output": step_run.output or None,
        "notes": step_run.notes or None,
        "standard_minutes": row.standard_minutes,
        "actual_minutes": row.actual_minutes,
        "lead_minutes": row.lead_minutes,
        "late": row.late,
    }


def _run_detail(user, pk):
    run = get_object_or_404(access.run_queryset(user), pk=pk)
    _steps_by_number, step_runs = access.read_rounds(run)
    timing = run_timing(run, step_runs, run.unit.calendar)
    active = next((sr for sr in step_runs if sr.state == StepRun.State.ACTIVE), None)
    return {
        **_run(run, active.step.number if active and run.is_running else None),
        "notes": run.notes,
        "cancel_reason": run.cancel_reason,
        "rounds": [_round(row) for row in timing.rounds],
        "figures": {
            "standard_total_minutes": timing.standard_total_minutes,
            "actual_total_minutes": timing.actual_total_minutes,
            "waiting_total_minutes": timing.waiting_total_minutes,
            "lead_minutes": timing.lead_minutes,
            "steps_done": timing.steps_done,
            "steps_on_time": timing.steps_on_time,
            "day_minutes": timing.day_minutes,
        },
    }


class RunFilters(Paging):
    sop: int | None = None
    status: str | None = None
    dari: str | None = None
    sampai: str | None = None
    q: str | None = None


@api.get("/runs", response={200: s.RunPage, **PROBLEMS}, tags=["Kegiatan"])
def run_list(request, filters: Query[RunFilters]):
    """Runs of the key's units, newest opened first, with the filters of `/kegiatan/` (`sop`,
    `status`, `dari`, `sampai`, `q`); keyset pages: `cursor` from `next_cursor`."""
    user, limit = request.auth, _limit(filters.limit)
    data = {
        name: str(value)
        for name in ("sop", "status", "dari", "sampai", "q")
        if (value := getattr(filters, name)) not in (None, "")
    }
    form = RunFilterForm(data, user=user)
    if not form.is_valid():
        raise problems.Unprocessable(_form_errors(form))
    chosen = form.cleaned_data
    active = StepRun.objects.filter(state=StepRun.State.ACTIVE).select_related("step")
    runs = (
        policy.visible_runs(user)
        .select_related("unit")
        .prefetch_related(Prefetch("step_runs", queryset=active, to_attr="active_steps"))
    )
    if chosen.get("sop"):
        runs = runs.filter(sop=chosen["sop"])
    if chosen.get("status"):
        runs = runs.filter(status=chosen["status"])
    if chosen.get("dari"):
        runs = runs.filter(scheduled_on__gte=chosen["dari"])
    if chosen.get("sampai"):
        runs = runs.filter(scheduled_on__lte=chosen["sampai"])
    if chosen.get("q"):
        runs = runs.filter(title__icontains=chosen["q"])
    try:
        page = keyset_page(runs, "opened_at", limit, after=filters.cursor)
    except InvalidCursor:
        raise problems.Unprocessable({"cursor": [_("Cursor tidak dikenal.")]}) from None
    items = []
    for run in page.rows:
        active_steps = run.active_steps if run.is_running else []
        items.append(_run(run, active_steps[0].step.number if active_steps else None))
    return {"items": items, "next_cursor": page.next_cursor}


@api.post("/runs", response={201: s.RunDetail, **PROBLEMS}, tags=["Kegiatan"])
def run_open(request, body: s.RunOpen):
    """Open a run of an SOP version in force (a role that opens runs), as `/kegiatan/baru/`."""
    require_write(request)
    user = request.auth
    sop = get_object_or_404(policy.visible_sops(user).select_related("unit"), pk=body.sop)
    if policy.opener(user, sop) is None:
        raise errors.Forbidden(_("Jabatan Anda tidak berwenang membuka kegiatan SOP ini."))
    form = RunForm(
        {
            "title": body.title,
            "scheduled_on": body.scheduled_on,
            "place": body.place,
            "notes": body.notes,
        }
    )
    if not form.is_valid():
        raise problems.Unprocessable(_form_errors(form))
    run = workflow.open_run(sop=sop, user=user, **form.cleaned_data)
    return 201, _run_detail(user, run.pk)


@api.get("/runs/{run_id}", response={200: s.RunDetail, **PROBLEMS}, tags=["Kegiatan"])
def run_detail(request, run_id: int):
    """A run with every round of every step, their times against the standard, and the run's
    figures (office minutes; `figures.day_minutes` is one working day of its unit)."""
    return _run_detail(request.auth, run_id)


# A step's actions: the forms of the step page, bound to JSON instead of a POST -----------------


class _Unposted:
    """What `views.runs._step_forms` reads of a request, for the forms a step offers."""

    method = "GET"
    POST = QueryDict()
    FILES = MultiValueDict()


def _bound(form, values):
    data = MultiValueDict()
    for name, value in values.items():
        if value is None:
            continue
        key = form.add_prefix(name)
        if isinstance(value, list):
            data.setlist(key, [str(item) for item in value])
        elif isinstance(value, datetime.date):
            data[key] = value.isoformat()
        else:
            data[key] = str(value)
    return type(form)(data=data, prefix=form.prefix, step_run=form.step_run, now=form.now)


def _act(request, run_id, number, action, values):
    """`_acted`, with a refusal answered as the page answers it: the page's own reading of
    the step (`views.runs._step_page`) decides 404 (another unit's run, no such step) and 403
    (not the step's role) first, as `views.runs._refused_turn` does; what is left (the run is
    closed, the step not active or moved on) is a 409 with the transition's message."""
    try:
        return _acted(request, run_id, number, action, values)
    except (errors.Forbidden, errors.Stale) as error:
        run_pages._step_page(request.auth, run_id, number)
        raise error from None


def _acted(request, run_id, number, action, values):
    """One action on step `number`, the walk of `views.runs._post_step`: read the turn
    without a lock (404, 403, closed), bind the step's own form, refuse a form of an earlier
    round or version, then one transition given that round and version."""
    require_write(request)
    user, now = request.auth, timezone.now()
    current = workflow.read_turn(run_id=run_id, number=number, user=user).current
    offered = run_pages._step_forms(_Unposted(), current.step, current, now, None)
    if action not in offered:
        raise errors.Invalid(
            _("Langkah %(number)s tidak menerima tindakan ini.") % {"number": number},
            code="not_offered",
        )
    form = _bound(offered[action], values)
    if not form.is_valid():
        raise problems.Unprocessable(_form_errors(form))
    workflow.check_expected(current, form.cleaned_data["round"], form.cleaned_data["version"])
    transition_values = run_pages._transition_values(action, form, ())
    closed = run_pages.TRANSITIONS[action](
        run_id=run_id, number=number, user=user, now=now, **transition_values
    )
    return {
        "message": run_pages._progress_message(closed, action == "kembalikan"),
        "run": _run_detail(user, run_id),
    }


STEP = "/runs/{run_id}/steps/{number}"


@api.post(f"{STEP}/complete", response={200: s.ActionResult, **PROBLEMS}, tags=["Langkah"])
def step_complete(request, run_id: int, number: int, body: s.StepComplete):
    """Complete a work step (its form "Selesai"): `round` and `version` as read from the run."""
    return _act(request, run_id, number, "selesai", body.dict())


@api.post(f"{STEP}/approve", response={200: s.ActionResult, **PROBLEMS}, tags=["Langkah"])
def step_approve(request, run_id: int, number: int, body: s.StepApprove):
    """Approve an approval step with a disposisi (`instruction`, optional `deadline`)."""
    return _act(request, run_id, number, "setujui", body.dict())


@api.post(f"{STEP}/return", response={200: s.ActionResult, **PROBLEMS}, tags=["Langkah"])
def step_return(request, run_id: int, number: int, body: s.StepReturn):
    """Return an approval step to the step its SOP names, with a `reason`."""
    return _act(request, run_id, number, "kembalikan", body.dict())


# The key user's inbox, and the event log -------------------------------------------------------


@api.get("/inbox", response={200: s.InboxPage, **PROBLEMS}, tags=["Tugas"])
def inbox(request, page: int = 1):
    """Active steps the key's user may act on, the soonest due first, 50 a page."""
    if not 1 <= page <= 10000:
        raise problems.Unprocessable({"page": [_("Nomor halaman tidak sah.")]})
    start = (page - 1) * INBOX_PAGE_SIZE
    rows = list(
        policy.inbox(request.auth)
        .select_related("run__sop", "step")
        .order_by(F("due_at").asc(nulls_last=True), "activated_at", "id")[
            start : start + INBOX_PAGE_SIZE + 1
        ]
    )
    more = len(rows) > INBOX_PAGE_SIZE
    return {
        "items": [
            {
                "run": step_run.run_id,
                "run_title": step_run.run.title,
                "sop": step_run.run.sop.name,
                "step": step_run.step.number,
                "activity": step_run.step.activity,
                "round": step_run.round,
                "version": step_run.version,
                "activated_at": step_run.activated_at,
                "due_at": step_run.due_at,
            }
            for step_run in rows[:INBOX_PAGE_SIZE]
        ],
        "next_page": page + 1 if more else None,
    }


@api.get("/runs/{run_id}/events", response={200: s.EventPage, **PROBLEMS}, tags=["Kegiatan"])
def run_events(request, run_id: int, paging: Query[Paging]):
    """The run's event log in its chain's order (`seq`), with each link's hash; `cursor` from
    `next_cursor`."""
    limit = _limit(paging.limit)
    run = get_object_or_404(policy.visible_runs(request.auth), pk=run_id)
    events = (
        Event.objects.filter(run=run)
        .select_related("actor", "role", "step_run__step")
        .order_by("seq")
    )
    if paging.cursor:
        if not paging.cursor.isdigit():
            raise problems.Unprocessable({"cursor": [_("Cursor tidak dikenal.")]})
        events = events.filter(seq__gt=int(paging.cursor))
    rows = list(events[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [
            {
                "id": event.pk,
                "seq": event.seq,
                "run": event.run_id,
                "kind": event.kind,
                "at": event.at,
                "actor": event.actor.get_username() if event.actor_id else None,
                "performed_as": performed_as(event.role, event.acting) if event.role_id else None,
                "acting": event.acting,
                "on_behalf": event.on_behalf,
                "step": event.step_run.step.number if event.step_run_id else None,
                "round": event.step_run.round if event.step_run_id else None,
                "before": event.before or {},
                "after": event.after or {},
                "hash": event.hash,
            }
            for event in rows
        ],
        "next_cursor": str(rows[-1].seq) if more and rows else None,
    }
