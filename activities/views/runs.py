"""Running a kegiatan: the inbox, the runs list, opening a run, its timeline and one step.

Every state change goes through one function of `activities.core.workflow`; these views fetch
through `activities.core.access`, validate a form, call that function and redirect.
"""

import datetime
from dataclasses import dataclass

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch, prefetch_related_objects
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from activities import data_forms
from activities.authoring import pengesahan
from activities.core import access, errors, policy, uploads, workflow
from activities.forms import (
    DATETIME_FORMATS,
    ApproveStepForm,
    CancelRunForm,
    CompleteStepForm,
    ReturnStepForm,
    RunFilterForm,
    RunForm,
    local_datetime,
)
from activities.models import Attachment, Run, Sop, StepRun, StepValue, Unit
from activities.paging import InvalidCursor, keyset_page
from activities.time.timing import format_wall_minutes, run_timing
from activities.views import handover, run_rounds, tte

PAGE_SIZE = 25
INBOX_PAGE_SIZE = 50


def _refuse_by_type(error):
    """A refusal by the user's roles is a 403, a vanished object a 404; the caller shows the
    other errors (`Stale` as a message on the refreshed page, `Invalid` on the form)."""
    if isinstance(error, errors.Forbidden):
        raise PermissionDenied from None
    if isinstance(error, errors.NotFound):
        raise Http404(error.message) from None


def _partial_or_page(request, page_template, partial_template, context):
    """The whole page, or only the swapped part for an htmx request."""
    wants_partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, partial_template if wants_partial else page_template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_safe
def home(request):
    return redirect("inbox")


@dataclass
class InboxTask:
    """One row of the inbox, with what its template shows worked out once, in Python: a page
    renders up to INBOX_PAGE_SIZE of them."""

    step_run: StepRun
    elapsed_minutes: float
    # The working day of the run's unit, in which the minutes are shown.
    day_minutes: int
    # Office minutes past the due time (0 when not due yet).
    late_minutes: float = 0.0
    now: datetime.datetime | None = None

    def __post_init__(self):
        step_run, now = self.step_run, self.now or timezone.now()
        due_at = step_run.due_at
        if due_at is None:
            self.overdue = self.elapsed_minutes > step_run.step.standard_minutes
        else:
            self.overdue = self.late_minutes > 0 or due_at < now
        self.due_today = due_at is not None and (
            timezone.localdate(due_at) == timezone.localdate(now)
        )
        self.roles = step_run.run.sop.pelaksana(step_run.step)
        self.url = reverse("step_action", args=[step_run.run_id, step_run.step.number])


@login_required
@require_safe
def inbox(request):
    """Active steps the user may act on, the soonest due first, INBOX_PAGE_SIZE at a time
    (`?halaman=2`), with the office time they have waited and how far past their due time
    they are. An inbox holds the user's open tasks (hundreds at most), so a page is found by
    its offset; an unknown page number shows the first page."""
    now = timezone.now()
    try:
        number = max(1, int(request.GET.get("halaman", "1")))
    except ValueError:
        number = 1
    start = (number - 1) * INBOX_PAGE_SIZE
    step_runs = list(
        policy.inbox(request.user)
        .select_related("run__sop", "step")
        .only(
            "id",
            "run",
            "step",
            "round",
            "activated_at",
            "due_at",
            "run__title",
            "run__unit",
            "run__scheduled_on",
            "run__sop",
            "run__sop__name",
            "run__sop__role_names",
            "step__id",
            "step__number",
            "step__activity",
            "step__standard_text",
            "step__standard_minutes",
        )
        .prefetch_related("step__roles")
        .order_by(F("due_at").asc(nulls_last=True), "activated_at", "id")[
            start : start + INBOX_PAGE_SIZE + 1
        ]
    )
    more = len(step_runs) > INBOX_PAGE_SIZE
    step_runs = step_runs[:INBOX_PAGE_SIZE]
    calendars = Unit.objects.calendars({step_run.run.unit_id for step_run in step_runs})
    tasks = []
    for step_run in step_runs:
        calendar = calendars[step_run.run.unit_id]
        late = 0.0
        if step_run.due_at is not None and step_run.due_at < now:
            late = calendar.office_minutes(step_run.due_at, now)
        elapsed = calendar.office_minutes(step_run.activated_at or now, now)
        tasks.append(InboxTask(step_run, elapsed, calendar.day_minutes, late, now))
    context = {
        "tasks": tasks,
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if more else None,
        "pending_sops": list(pengesahan.pending_for(request.user)),
        "laporan_to_sign": tte.awaiting(request.user),
    }
    return _partial_or_page(request, "runs/inbox.html", "runs/_inbox_tasks.html", context)


def _openable_sops(user, visible):
    """The SOPs of `visible` (the filter's choices, already read) the user may open runs of."""
    return sorted((sop for sop in visible if policy.can_open(user, sop)), key=lambda sop: sop.name)


@login_required
@require_safe
def run_list(request):
    """Runs of the user's units, filtered, newest first, keyset-paginated."""
    user = request.user
    form = RunFilterForm(request.GET, user=user)
    form.is_valid()
    # Invalid filters are reported and left out; the valid ones still apply.
    filters = form.cleaned_data
    errors = [message for field_errors in form.errors.values() for message in field_errors]

    active_steps = (
        StepRun.objects.filter(state=StepRun.State.ACTIVE)
        .select_related("step")
        .prefetch_related("step__roles")
    )
    runs = (
        policy.visible_runs(user)
        .select_related("sop", "unit")
        .prefetch_related(Prefetch("step_runs", queryset=active_steps, to_attr="active_steps"))
    )
    if filters.get("sop"):
        runs = runs.filter(sop=filters["sop"])
    if filters.get("status"):
        runs = runs.filter(status=filters["status"])
    if filters.get("dari"):
        runs = runs.filter(scheduled_on__gte=filters["dari"])
    if filters.get("sampai"):
        runs = runs.filter(scheduled_on__lte=filters["sampai"])
    if filters.get("q"):
        runs = runs.filter(title__icontains=filters["q"])

    try:
        page = keyset_page(
            runs,
            "opened_at",
            PAGE_SIZE,
            after=request.GET.get("setelah"),
            before=None if "setelah" in request.GET else request.GET.get("sebelum"),
        )
    except InvalidCursor:
        errors.append(_("Alamat halaman tidak dikenal; ditampilkan halaman pertama."))
        page = keyset_page(runs, "opened_at", PAGE_SIZE)
    context = {
        "form": form,
        "runs": page.rows,
        "errors": errors,
        "previous_cursor": page.previous_cursor,
        "next_cursor": page.next_cursor,
        # Read when the full page shows them; the htmx partial of the results reads no SOPs.
        "openable_sops": SimpleLazyObject(
            lambda: _openable_sops(user, form.fields["sop"].queryset)
        ),
        "filtered": any(filters.get(name) for name in form.fields),
    }
    return _partial_or_page(request, "runs/run_list.html", "runs/_run_results.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def run_create(request):
    """Open a run of an SOP (`?sop=<id>`): a role that opens runs, or a superuser on behalf."""
    try:
        sop_pk = int(request.GET.get("sop", ""))
    except ValueError:
        messages.error(
            request, _("Pilih SOP yang akan dijalankan dengan tombol “Buka kegiatan baru”.")
        )
        return redirect("run_list")
    sop = get_object_or_404(policy.visible_sops(request.user).select_related("unit"), pk=sop_pk)
    actor = policy.opener(request.user, sop)
    if actor is None:
        raise PermissionDenied
    first = sop.steps.prefetch_related("roles").filter(number=1).first()
    refusal = None
    if sop.status != Sop.Status.ACTIVE:
        refusal = _("SOP ini tidak berlaku (status: %(status)s), jadi tidak dapat dijalankan.") % {
            "status": sop.get_status_display()
        }
    elif first is None:
        refusal = _("SOP ini belum memiliki langkah, jadi tidak dapat dijalankan.")

    form = RunForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            run = workflow.open_run(sop=sop, user=request.user, **form.cleaned_data)
        except workflow.WorkflowError as error:
            _refuse_by_type(error)
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("Kegiatan “%(title)s” dibuka. Langkah 1 (%(roles)s) sekarang aktif.")
                % {"title": run.title, "roles": sop.pelaksana(first)},
            )
            return redirect(run)
    context = {"sop": sop, "form": form, "refusal": refusal, "actor": actor, "first": first}
    return render(request, "runs/run_form.html", context)


def _attachments():
    return Attachment.objects.order_by("uploaded_at", "id")


def _values():
    # In the order of the step's fields; by round the prefetch sorts them itself (the model's
    # ordering would join the rounds, runs and steps to sort by round first).
    return StepValue.objects.order_by("position", "id")


def _run_with_records(user, pk):
    """The run with what its page shows: its steps and rounds (`access.read_rounds`) with their
    attachments and recorded data, who opened it, and the laporan panel's archived and signed
    laporan."""
    runs = access.run_queryset(user).select_related(
        "opened_by", "archived_report", "signed_laporan"
    )
    run = get_object_or_404(runs, pk=pk)
    steps, step_runs = access.read_rounds(run)
    _read_records(step_runs, step_runs, None)
    return run, steps, step_runs


def _read_records(rounds, in_full, handed_over_by):
    """The attachments of the step page's `rounds` and of the round that handed the step over,
    and the data recorded in the rounds it shows `in_full` that can hold any
    (`StepRun.holds_data`): only what the page shows is read."""
    with_files = [*rounds, handed_over_by] if handed_over_by is not None else rounds
    prefetch_related_objects(with_files, Prefetch("attachments", queryset=_attachments()))
    with_data = [sr for sr in in_full if sr.holds_data and sr.state != StepRun.State.WAITING]
    if with_data:
        prefetch_related_objects(with_data, Prefetch("values", queryset=_values()))


def _mark_awaiting(step_runs, sop):
    """Give each active round of a joint step `awaiting_display`: whom it still waits for
    ("Kernet/Supir", or how many more sign-offs), as `policy` counts them."""
    for step_run in step_runs:
        step_run.awaiting_display = ""
        if step_run.state != StepRun.State.ACTIVE or not step_run.step.is_joint:
            continue
        signed = [sign_off.role_id for sign_off in step_run.parts]
        roles = policy.awaited_roles(step_run.step, signed)
        if roles:
            step_run.awaiting_display = ", ".join(sop.role_name(role) for role in roles)
        else:
            needed = policy.sign_offs_needed(step_run.step, signed)
            step_run.awaiting_display = _("%(count)s pelaksana lagi") % {"count": needed}


def _signed_by(user, step_run):
    """The user's sign-off of a joint step's round, or None."""
    return next((s for s in step_run.parts if s.user_id == user.pk), None)


@login_required
@require_safe
def run_detail(request, pk):
    """A run's header, the timeline of every step and round, totals, and what the user may do."""
    run, steps, step_runs = _run_with_records(request.user, pk)
    timing = run_timing(run, step_runs, run.unit.calendar)
    _mark_awaiting(step_runs, run.sop)
    # Steps of a parallel group are active side by side; the user's own comes first.
    running = run.is_running
    # A cancelled run keeps its active round as it stood, offered to nobody.
    actives = [sr for sr in step_runs if sr.state == StepRun.State.ACTIVE and running]
    mine = [
        sr
        for sr in actives
        if policy.can_act(request.user, sr.step) and not _signed_by(request.user, sr)
    ]
    active = (mine or actives or [None])[0]
    my_step_ids = {sr.step_id for sr in mine}
    context = {
        "run": run,
        "timing": timing,
        "timeline": run_rounds.timeline(timing, active, run.sop, my_step_ids),
        "my_step_ids": my_step_ids,
        "actives": actives if running else [],
        "may_cancel": running and policy.can_cancel(request.user, run),
        "cancel_form": CancelRunForm(),
        "lead_wall": format_wall_minutes(timing.lead_wall_minutes),
        "step_count": len(steps),
        "acts": run.acts(),
        "first_roles": run.sop.pelaksana(steps[1]) if 1 in steps else "",
        "naskah": handover.naskah_panel(request.user, run),
    }
    return render(request, "runs/run_detail.html", context)


@login_required
@require_POST
def run_cancel(request, pk):
    run = get_object_or_404(policy.visible_runs(request.user).select_related("sop"), pk=pk)
    if not policy.can_cancel(request.user, run):
        raise PermissionDenied
    form = CancelRunForm(request.POST)
    if not form.is_valid():
        for message in form.errors.get("reason", []):
            messages.error(request, message)
        return redirect(run)
    try:
        workflow.cancel_run(run_id=run.pk, user=request.user, reason=form.cleaned_data["reason"])
    except workflow.WorkflowError as error:
        _refuse_by_type(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("Kegiatan “%(title)s” dibatalkan.") % {"title": run.title})
    return redirect(run)


def _read_only_reason(run, rounds):
    """Why the latest of a step's `rounds` cannot be acted on."""
    if run.status == Run.Status.FINISHED:
        return _("Kegiatan ini sudah selesai; langkahnya hanya dapat dilihat.")
    if run.status == Run.Status.CANCELLED:
        return _("Kegiatan ini dibatalkan; langkahnya hanya dapat dilihat.")
    latest = rounds[-1]
    if latest.state == StepRun.State.ACTIVE and getattr(latest, "awaiting_display", ""):
        return _("Bagian Anda sudah tercatat; menunggu %(roles)s.") % {
            "roles": latest.awaiting_display
        }
    message = workflow.closed_round_message(rounds)
    if message is not None:
        return message
    return _("Langkah %(number)s belum aktif; langkah sebelumnya belum selesai.") % {
        "number": rounds[-1].step.number
    }


def _handed_over_by(step_runs, current):
    """The round whose completion (or return) activated `current`."""
    if current.activated_at is None:
        return None
    candidates = [
        sr
        for sr in step_runs
        if sr is not current and sr.completed_at and sr.completed_at <= current.activated_at
    ]
    return max(
        candidates, key=lambda sr: (sr.completed_at, sr.entered_at or sr.completed_at), default=None
    )


def _progress_message(closed, returned):
    """What the transition did, from the round it closed and the one it activated."""
    step, following = closed.step, closed.following
    if getattr(closed, "sign_offs_needed", 0):
        return _("Bagian Anda pada langkah %(number)s tercatat. Menunggu %(roles)s.") % {
            "number": step.number,
            "roles": ", ".join(closed.run.sop.role_name(role) for role in closed.awaiting)
            or _("%(count)s pelaksana lagi") % {"count": closed.sign_offs_needed},
        }
    if returned:
        return _("Langkah %(number)s dikembalikan. Langkah %(next)s (%(roles)s) aktif lagi.") % {
            "number": step.number,
            "next": following.step.number,
            "roles": closed.run.sop.pelaksana(following.step),
        }
    if following is None and closed.run.status == Run.Status.RUNNING:
        # A step of a parallel group whose other steps are still active.
        return _(
            "Langkah %(number)s selesai. Langkah berikutnya menunggu langkah yang berjalan "
            "bersamaan."
        ) % {"number": step.number}
    if following is None:
        return _("Langkah %(number)s selesai. Kegiatan ini selesai.") % {"number": step.number}
    return _("Langkah %(number)s selesai. Berikutnya langkah %(next)s: %(roles)s.") % {
        "number": step.number,
        "next": following.step.number,
        "roles": closed.run.sop.pelaksana(following.step),
    }


def _step_forms(request, step, current, now, action):
    """The forms offered for the active round; the one named by `action` is bound."""

    def data(name):
        if request.method == "POST" and action == name:
            return {"data": request.POST, "files": request.FILES}
        return {}

    kwargs = {"step_run": current, "now": now}
    if not step.is_approval:
        return {"selesai": CompleteStepForm(**data("selesai"), **kwargs)}
    forms = {"setujui": ApproveStepForm(**data("setujui"), prefix="setuju", **kwargs)}
    if step.return_to_id:
        forms["kembalikan"] = ReturnStepForm(**data("kembalikan"), prefix="kembali", **kwargs)
    return forms


# The transition each form's action asks for.
TRANSITIONS = {
    "selesai": workflow.complete_step,
    "setujui": workflow.approve_step,
    "kembalikan": workflow.return_step,
}


def _transition_values(action, form, attachments):
    """The transition's keyword values from a valid form and its checked files: the round and
    version the form was read for, and what was entered."""
    values = form.cleaned_data
    expected = {"expected_round": values["round"], "expected_version": values["version"]}
    if action == "kembalikan":
        return expected | {"reason": values["reason"]}
    entered = {
        "started_at": values["started_at"],
        "completed_at": values["completed_at"],
        "requirements_checked": values.get("requirements", []),
        "attachments": attachments,
        "data": data_forms.entries(form),
    }
    if action == "selesai":
        return expected | entered | {"output": values["output"], "notes": values["notes"]}
    return (
        expected
        | entered
        | {
            "instruction": values["instruction"],
            "deadline": values["deadline"],
            "decision_notes": values["decision_notes"],
        }
    )


class _Refused(Exception):
    """The posted form (or its files) does not hold: nothing is written and the page shows
    why (the bound `forms` with their errors, or a `message` above the page)."""

    def __init__(self, forms=None, upload_errors=(), message=None):
        super().__init__(message)
        self.forms, self.upload_errors, self.message = forms, list(upload_errors), message


def _step_page(user, pk, number):
    """What the step page shows: the run, its steps and rounds, step `number`, the user's
    actor on it, that step's rounds and whether the latest is editable. Another unit's run or
    a step that does not exist is a 404, a step of another role a 403."""
    run = access.get_run_for_user(user, pk)
    steps, step_runs = access.read_rounds(run)
    step = steps.get(number)
    if step is None:
        raise Http404
    actor = policy.step_actor(user, step)
    if actor is None:
        raise PermissionDenied
    rounds = [sr for sr in step_runs if sr.step_id == step.pk]
    editable = (
        run.is_running
        and rounds[-1].state == StepRun.State.ACTIVE
        # A performer who has signed off his part of a joint step waits for the others.
        and _signed_by(user, rounds[-1]) is None
    )
    _mark_awaiting(step_runs, run.sop)
    return run, steps, step_runs, step, actor, rounds, editable


def _refused_turn(request, pk, number, error):
    """The round could not be acted on: refused as a GET would be (`_step_page`), or the
    step's page says why (who was first, or that the run is closed)."""
    run, _steps, _step_runs, _step, _actor, rounds, editable = _step_page(request.user, pk, number)
    messages.error(request, error.message if editable else _read_only_reason(run, rounds))
    return redirect("step_action", pk, number)


def _checked_uploads(request, action):
    """(files ready to store, messages of the refused ones) of the posted attachments; a
    return carries none."""
    if action == "kembalikan":
        return (), []
    try:
        checked = uploads.validate_uploads(
            request.FILES.getlist("lampiran"),
            client_ids=request.POST.getlist("lampiran_client_id"),
            taken_ats=request.POST.getlist("lampiran_diambil"),
        )
        return checked, []
    except ValidationError as error:
        return (), error.messages


FORM_PREFIXES = {"selesai": "", "setujui": "setuju-", "kembalikan": "kembali-"}


def _act_day(request, action, now):
    """The day of the act the POST records (its completion time, WIB), so that a Plt./Plh. is
    judged by the appointment in force then; today when it names none or cannot be read."""
    raw = request.POST.get(f"{FORM_PREFIXES.get(action, '')}completed_at", "")
    try:
        value = django_forms.DateTimeField(input_formats=DATETIME_FORMATS).clean(raw or None)
    except ValidationError:
        value = None
    return workflow.act_day(local_datetime(value), now)


def _post_step(request, pk, number, action, now):
    """Act on step `number` from its form: validate, then lock.

    The form and its files are checked against the active round read without a lock
    (`workflow.read_turn`), so photos are re-encoded and PDFs parsed while nobody waits on the
    run; then one transition locks the run, checks that the round and version are still the
    ones the form was read for, and writes. Returns the redirect after the change; raises
    `_Refused` or a `workflow.WorkflowError` otherwise, and nothing is written.

    A form sent again with the `client_id` of one that already closed a round (the offline
    queue lost the first answer) gets the first answer, and nothing is written twice."""
    client_id = uploads.client_uuid(request.POST.get("client_id"))
    closed = workflow.replayed(run_id=pk, user=request.user, client_id=client_id)
    if closed is not None:
        return _done(request, closed, action)
    day = _act_day(request, action, now)
    current = workflow.read_turn(run_id=pk, number=number, user=request.user, day=day).current
    forms = _step_forms(request, current.step, current, now, action)
    form = forms.get(action)
    if form is None:
        raise _Refused(message=_("Tindakan tidak dikenal. Pilih salah satu tombol di bawah."))
    if form.is_valid():
        # A form of an earlier round or version is refused before its files are processed.
        workflow.check_expected(current, form.cleaned_data["round"], form.cleaned_data["version"])
    attachments, upload_errors = _checked_uploads(request, action)
    if not form.is_valid() or upload_errors:
        raise _Refused(forms, upload_errors)
    values = _transition_values(action, form, attachments)
    if action != "kembalikan":
        values["client_id"] = client_id
    closed = TRANSITIONS[action](run_id=pk, number=number, user=request.user, now=now, **values)
    return _done(request, closed, action)


def _done(request, closed, action):
    """The answer to a transition that closed `closed`: the run's page with what happened, or
    for the offline queue the same as JSON."""
    message = _progress_message(closed, action == "kembalikan")
    url = reverse("run_detail", args=[closed.run_id])
    if _from_queue(request):
        if request.headers.get("X-Sopflow-Langsung") == "1":
            # Sent right from the form, whose page opens `url` next: it says what happened.
            messages.success(request, message)
        return JsonResponse({"status": "terkirim", "message": message, "url": url})
    messages.success(request, message)
    return redirect(url)


def _from_queue(request):
    """Whether the offline queue sent this request (it wants JSON, never a page)."""
    return request.headers.get("X-Sopflow-Queue") == "1"


def _queue_refusal(error, status):
    """The queue's answer to a refused item: the reason, as the step's page would show it."""
    return JsonResponse({"status": "gagal", "message": str(error)}, status=status)


def _render_step(request, pk, number, now, *, refused=None, invalid=None):
    """The step page: its mutu baku, its rounds, and for the active round the forms to act on
    it, those of a refused POST (`refused`, a `_Refused`) as they were sent, or with the
    transition's `invalid` (`errors.Invalid`, `errors.Unavailable`) on the form it concerns."""
    run, steps, step_runs, step, actor, rounds, editable = _step_page(request.user, pk, number)
    current = rounds[-1]
    action = request.POST.get("action") if request.method == "POST" else None
    forms, upload_errors = {}, []
    if refused is not None:
        forms, upload_errors = refused.forms, refused.upload_errors
    elif editable:
        forms = _step_forms(request, step, current, now, action)
        form = forms.get(action)
        if invalid is not None and form is not None:
            form.is_valid()
            form.add_error(invalid.field if invalid.field in form.fields else None, invalid.message)
    own_work = None
    if editable and step.is_approval:
        # Nobody approves what he completed himself: the approve form is not offered.
        own_work = policy.own_work_refusal(actor, policy.approved_round(step, step_runs))
        if own_work is not None:
            forms.pop("setujui", None)

    handed_over_by = _handed_over_by(step_runs, current) if editable else None
    # An editable round is a form, not a record: its data is not shown yet.
    _read_records(rounds, rounds[:-1] if editable else rounds, handed_over_by)
    timing = run_timing(run, step_runs, run.unit.calendar, now=now)
    words = run_rounds.current_words()
    rows = [
        run_rounds.round_row(row, row.step_run is current, words)
        for row in timing.rounds
        if row.step_run.step_id == step.pk
    ]
    context = {
        "run": run,
        "step": step,
        "step_count": len(steps),
        "current": current,
        "current_row": next(row for row in rows if row.step_run is current),
        "earlier_rows": [row for row in rows if row.step_run is not current],
        "editable": editable,
        "read_only_reason": None if editable else _read_only_reason(run, rounds),
        "actor": actor,
        "own_work": own_work,
        "handed_over_by": handed_over_by,
        "forms": forms,
        "upload_errors": upload_errors,
        # A browser never refills a file input: files sent with a refused form must be picked
        # again, or the step would be completed without them.
        "files_dropped": request.method == "POST" and bool(request.FILES.getlist("lampiran")),
        "return_target": next(
            (other for other in steps.values() if other.pk == step.return_to_id), None
        ),
    }
    return render(request, "runs/step_action.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def step_action(request, pk, number):
    """Step `number` of a run: its mutu baku, and for the active round the form to act on it.

    A POST acts on the round (`_post_step`); only when it is refused is the whole page read,
    to show why.
    """
    now = timezone.now()
    if request.method != "POST":
        return _render_step(request, pk, number, now)
    if _from_queue(request):
        return _queued_post(request, pk, number, now)
    try:
        return _post_step(request, pk, number, request.POST.get("action"), now)
    except _Refused as refused:
        if refused.message is not None:
            messages.error(request, refused.message)
            return redirect("step_action", pk, number)
        return _render_step(request, pk, number, now, refused=refused)
    except workflow.WorkflowError as error:
        if isinstance(error, (errors.Forbidden, errors.Stale, errors.Closed)):
            return _refused_turn(request, pk, number, error)
        _refuse_by_type(error)
        return _render_step(request, pk, number, now, invalid=error)


def _queued_post(request, pk, number, now):
    """A step form sent by the offline queue: the same checks and transition as the page's
    POST, answered in JSON. A refusal carries the message the page would show (a round that
    moved on: the message a racing POST gets); a lost race against its own earlier send is
    answered with that send's result."""
    action = request.POST.get("action")
    try:
        return _post_step(request, pk, number, action, now)
    except _Refused as refused:
        reasons = [refused.message] if refused.message else []
        for form in (refused.forms or {}).values():
            reasons += [str(error) for errors in form.errors.values() for error in errors]
        return _queue_refusal("; ".join(reasons + refused.upload_errors), 400)
    except errors.Forbidden as error:
        return _queue_refusal(error.message, 403)
    except errors.NotFound as error:
        return _queue_refusal(error.message, 404)
    except workflow.WorkflowError as error:
        client_id = uploads.client_uuid(request.POST.get("client_id"))
        closed = workflow.replayed(run_id=pk, user=request.user, client_id=client_id)
        if closed is not None:
            return _done(request, closed, action)
        if isinstance(error, errors.Unavailable):
            # Storage down: the queue keeps the item and tries again later.
            return _queue_refusal(error.message, 503)
        return _queue_refusal(error.message, 409 if isinstance(error, errors.Stale) else 400)
