"""The laporan of a run, its archived final copy, and the period report of the archive.

Every report is built completely here (all queries, all timing) and only then handed to the
template and WeasyPrint, so rendering never touches the database.
"""

import dataclasses
import datetime
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities import durations, events, pdf, signing, timing, uploads, verification
from activities.letterhead import Letterhead
from activities.models import (
    ActingAppointment,
    ArchivedReport,
    Attachment,
    Event,
    Role,
    Run,
    Sop,
    Step,
    StepRun,
    Unit,
)

logger = logging.getLogger(__name__)

LAPORAN_TEMPLATE = "reports/laporan.html"
ARSIP_TEMPLATE = "reports/arsip.html"
# A period report of up to this many finished runs is rendered in the request (about 1.5 s);
# a larger one is prepared by the worker (activities/period_reports.py).
ARCHIVE_REPORT_INLINE_MAX_RUNS = 200
# A period report is one table row per run; beyond this it is a book, not a report. Measured in
# the worker: 1,000 rows take WeasyPrint about 7 s and 300 MB, 5,000 rows about a minute and
# 1 GB; twice that would want more memory than one worker of a small office server has.
ARCHIVE_REPORT_MAX_RUNS = 5000
# Runs timed per step of the period report's progress (and per batch of step-run queries).
ARCHIVE_REPORT_CHUNK = 100
CALENDAR_DAY_MINUTES = 24 * 60


def _stylesheet_url():
    return pdf.static_url("css/report.css")


def _person(user):
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _signed_minutes(minutes):
    if minutes is None:
        return ""
    text = timing.format_minutes(minutes)
    return f"+{text}" if round(minutes) > 0 else text


# Laporan kegiatan ---------------------------------------------------------------------------


@dataclass
class StepRow:
    """One round of one step, as a row of the laporan's step table."""

    number: int
    round: int
    activity: str
    state: str
    state_display: str
    performer: str
    role: str
    on_behalf: bool
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    same_day: bool
    standard_text: str
    actual: str
    wall: str
    difference: str
    late: bool | None
    output: str
    notes: str
    return_reason: str
    attachment_names: list

    @property
    def details(self):
        """(label, text) pairs printed under the row."""
        pairs = [
            (_("Output"), self.output),
            (_("Catatan"), self.notes),
            (_("Alasan pengembalian"), self.return_reason),
            (_("Lampiran"), ", ".join(self.attachment_names)),
        ]
        return [(label, text) for label, text in pairs if text]


@dataclass
class Disposition:
    number: int
    round: int
    activity: str
    by: str
    role: str
    on_behalf: bool
    at: datetime.datetime
    approved: bool
    decision_display: str
    instruction: str
    deadline: datetime.date | None
    notes: str
    return_reason: str
    return_to: int | None


@dataclass
class Photo:
    url: str
    caption: str
    step_number: int
    uploaded_by: str
    uploaded_at: datetime.datetime


@dataclass
class Document:
    name: str
    size: int
    sha256: str
    step_number: int


@dataclass
class Verification:
    """What the archived laporan prints so that anyone can check it: code, address, QR code."""

    code: str

    @property
    def printed_code(self):
        return verification.grouped(self.code)

    @property
    def url(self):
        return verification.url(self.code)

    @property
    def qr(self):
        return verification.qr_data_uri(self.url)


@dataclass
class RunReport:
    run: Run
    letterhead: Letterhead
    rows: list
    dispositions: list
    photos: list
    documents: list
    timing: timing.RunTiming
    final: bool
    printed_at: datetime.datetime
    signed_on: datetime.date
    acts: dict = field(default_factory=dict)
    first_roles: str = ""
    verification: Verification | None = None
    # Photos whose small rendition the worker has not made yet: left out, and said so.
    pending_photos: int = 0
    stylesheet: str = field(default_factory=_stylesheet_url)

    @property
    def watermark(self):
        if self.run.status == Run.Status.CANCELLED:
            return "DIBATALKAN"
        return "" if self.final else "DRAF"

    @property
    def actual_display(self):
        return timing.format_minutes(self.timing.actual_total_minutes)

    @property
    def difference_display(self):
        return _signed_minutes(self.timing.difference_minutes)

    @property
    def lead_display(self):
        return timing.format_minutes(self.timing.lead_minutes)

    @property
    def lead_wall_display(self):
        if self.timing.lead_wall_minutes is None:
            return ""
        return durations.format_minutes(self.timing.lead_wall_minutes, CALENDAR_DAY_MINUTES)

    @property
    def returned_rounds(self):
        return sum(1 for row in self.rows if row.state == StepRun.State.RETURNED)


def _load_run(run_id):
    run = Run.objects.select_related("sop", "unit", "opened_by").get(pk=run_id)
    attachments = Attachment.objects.select_related("uploaded_by").order_by("uploaded_at", "pk")
    step_runs = list(
        StepRun.objects.filter(run=run)
        .select_related("step__return_to", "completed_by", "completed_as")
        .prefetch_related("step__roles", Prefetch("attachments", queryset=attachments))
        .order_by("step__number", "round")
    )
    for step_run in step_runs:
        step_run.run = run
    return run, step_runs


def _step_row(round_timing):
    step_run = round_timing.step_run
    step = step_run.step
    role = step_run.performed_as
    if not role:
        role = step_run.roles_display
    started, completed = step_run.started_at, step_run.completed_at
    same_day = bool(
        started
        and completed
        and timezone.localtime(started).date() == timezone.localtime(completed).date()
    )
    done = step_run.state in (StepRun.State.DONE, StepRun.State.RETURNED)
    return StepRow(
        number=step.number,
        round=step_run.round,
        activity=step.activity,
        state=step_run.state,
        state_display=step_run.get_state_display(),
        performer=_person(step_run.completed_by),
        role=role,
        on_behalf=step_run.on_behalf,
        started_at=started,
        completed_at=completed,
        same_day=same_day,
        standard_text=step.standard_display,
        actual=timing.format_minutes(round_timing.actual_minutes),
        wall=(
            durations.format_minutes(round_timing.wall_minutes, CALENDAR_DAY_MINUTES)
            if round_timing.wall_minutes is not None
            else ""
        ),
        difference=_signed_minutes(round_timing.difference_minutes),
        late=round_timing.late if done else None,
        output=(step_run.output or step.output) if done else "",
        notes=step_run.notes,
        return_reason=step_run.return_reason,
        attachment_names=[a.original_name for a in step_run.attachments.all()],
    )


def _disposition(step_run):
    step = step_run.step
    approved = step_run.decision == StepRun.Decision.APPROVED
    return Disposition(
        number=step.number,
        round=step_run.round,
        activity=step.activity,
        by=_person(step_run.completed_by),
        role=step_run.performed_as,
        on_behalf=step_run.on_behalf,
        at=step_run.completed_at,
        approved=approved,
        decision_display=step_run.get_decision_display(),
        instruction=step_run.instruction,
        deadline=step_run.deadline,
        notes=step_run.decision_notes,
        return_reason=step_run.return_reason,
        return_to=step.return_to.number if step.return_to_id and not approved else None,
    )


def _signed_by_acting_head(letterhead, unit_id, signed_on):
    """The letterhead with a Plt./Plh. of the unit's head as signatory, when one is appointed
    for the signing day: “Plh. Kepala Kantor …”, his name, rank and NIP."""
    appointment = (
        ActingAppointment.objects.in_force(signed_on)
        .filter(unit_id=unit_id, role__kind=Role.Kind.HEAD)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    if appointment is None:
        return letterhead
    return dataclasses.replace(
        letterhead,
        head_title=f"{appointment.get_kind_display()} {letterhead.head_title or _('Kepala')}",
        head_name=_person(appointment.person),
        head_rank=appointment.person_rank,
        head_nip=appointment.person_nip,
    )


def _first_step_roles(step_runs):
    first = next((sr for sr in step_runs if sr.step.number == 1), None)
    return first.roles_display if first else ""


def build_run_report(run_id, *, now=None, code=None):
    """Everything the laporan of run `run_id` shows, computed up front; `code`: the
    verification code the archived copy prints."""
    now = now or timezone.now()
    run, step_runs = _load_run(run_id)
    run_timing = timing.run_timing(run, step_runs, run.unit.calendar, now=now)
    rows = [_step_row(round_timing) for round_timing in run_timing.rounds]
    dispositions = [_disposition(sr) for sr in step_runs if sr.decision]
    photos, documents = [], []
    pending_photos = 0
    for step_run in step_runs:
        for attachment in step_run.attachments.all():
            if attachment.is_image and not attachment.rendition:
                # The laporan embeds renditions only, never the stored photo itself.
                pending_photos += 1
            elif attachment.is_image:
                photos.append(
                    Photo(
                        url=pdf.media_url(attachment.rendition.name),
                        caption=attachment.caption or attachment.original_name,
                        step_number=step_run.step.number,
                        uploaded_by=_person(attachment.uploaded_by),
                        uploaded_at=attachment.uploaded_at,
                    )
                )
            else:
                documents.append(
                    Document(
                        name=attachment.original_name,
                        size=attachment.size,
                        sha256=attachment.sha256,
                        step_number=step_run.step.number,
                    )
                )
    final = run.status == Run.Status.FINISHED
    signed_on = timezone.localtime(run.finished_at if final else now).date()
    return RunReport(
        run=run,
        letterhead=_signed_by_acting_head(Letterhead.for_unit(run.unit), run.unit_id, signed_on),
        rows=rows,
        dispositions=dispositions,
        photos=photos,
        pending_photos=pending_photos,
        documents=documents,
        timing=run_timing,
        final=final,
        printed_at=now,
        signed_on=signed_on,
        acts=run.acts(),
        first_roles=_first_step_roles(step_runs),
        verification=Verification(code) if code else None,
    )


def render_run_report(run_id, *, now=None, code=None):
    """PDF bytes of the laporan: the final one for a finished run, a marked draft otherwise."""
    report = build_run_report(run_id, now=now, code=code)
    return pdf.render_pdf(LAPORAN_TEMPLATE, {"report": report})


def final_document(run, *, now):
    """(PDF bytes, verification code, signer) of the final laporan of finished `run`.

    The one place that makes the archived document, wherever archiving runs (at the finish,
    in a background task, on the first download): rendered with its verification code and QR
    code, then signed by the configured signer (PAdES), if any.
    """
    code = verification.new_code()
    data = render_run_report(run.pk, now=now, code=code)
    signer = signing.configured_signer()
    if signer is None:
        return data, code, ""
    signed = signer.sign(
        data,
        reason=f"Laporan kegiatan {run.pk}: {run.title}"[:200],
        location=run.unit.name,
    )
    return signed, code, signer.subject


# The archived final laporan ------------------------------------------------------------------


def ensure_archived(run_id, *, now=None):
    """The archived laporan of a finished run, rendering and storing it the first time.

    Rendering happens outside any transaction (it takes a second and locks nothing). When two
    requests archive at once, the one-to-one constraint keeps the first and the loser's file is
    removed again.
    """
    existing = ArchivedReport.objects.filter(run_id=run_id).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    run = Run.objects.select_related("unit").get(pk=run_id)
    if run.status != Run.Status.FINISHED:
        raise ValueError(f"run {run_id} is not finished")
    # The archived laporan is final: it must carry every photo, so none may still be waiting.
    uploads.ensure_renditions(run_id)
    data, code, signed_by = final_document(run, now=now)
    digest = hashlib.sha256(data).hexdigest()
    report = ArchivedReport(
        run=run,
        sha256=digest,
        size=len(data),
        archived_at=now,
        code=code,
        signed_by=signed_by,
    )
    report.file.save(f"laporan-kegiatan-{run.pk}-{digest[:12]}.pdf", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            report.save()
            events.record(
                Event.Kind.ARCHIVED,
                run=run,
                at=now,
                after={
                    "file": report.file.name,
                    "sha256": digest,
                    "size": len(data),
                    "code": code,
                    "signed_by": signed_by,
                },
            )
    except IntegrityError:
        default_storage.delete(report.file.name)
        return ArchivedReport.objects.get(run_id=run_id)
    return report


def archive_run(run_id, *, now=None):
    """Called once a run has finished: archive its final laporan, or log why it could not.

    A failure here must never undo or block the finished run; the laporan view archives it on
    its first request instead.
    """
    try:
        return ensure_archived(run_id, now=now)
    except Exception:
        logger.exception("Could not archive the laporan of run %s", run_id)
        return None


def file_digest(report):
    """(sha256, size) of the stored file of an archived report; raises OSError if it is gone."""
    digest = hashlib.sha256()
    size = 0
    with default_storage.open(report.file.name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# The archive ---------------------------------------------------------------------------------

CLOSED_STATUSES = (Run.Status.FINISHED, Run.Status.CANCELLED)


def local_day_bounds(date_from, date_to):
    """[start, end) in aware datetimes for the local (WIB) dates date_from..date_to inclusive."""
    zone = timezone.get_current_timezone()
    start = end = None
    if date_from:
        start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    if date_to:
        next_day = date_to + datetime.timedelta(days=1)
        end = datetime.datetime.combine(next_day, datetime.time.min, tzinfo=zone)
    return start, end


def archive_runs(units, *, text="", sop=None, status="", date_from=None, date_to=None):
    """(closed runs of `units` matching the filters, newest first; the field they sort on).

    Filtered on the units' ids and sorted on the stored `closed_at`, so PostgreSQL reads the
    run_unit_closed (or, with a status, run_unit_status_closed) index in order and stops
    after a page."""
    unit_ids = sorted({unit.pk for unit in units})
    runs = Run.objects.filter(unit_id__in=unit_ids, closed_at__isnull=False).select_related(
        "sop", "unit", "archived_report"
    )
    sort_field = "closed_at"
    if status in CLOSED_STATUSES:
        runs = runs.filter(status=status)
    if text:
        runs = runs.filter(
            Q(title__icontains=text) | Q(place__icontains=text) | Q(notes__icontains=text)
        )
    if sop is not None:
        runs = runs.filter(sop=sop)
    start, end = local_day_bounds(date_from, date_to)
    if start:
        runs = runs.filter(**{f"{sort_field}__gte": start})
    if end:
        runs = runs.filter(**{f"{sort_field}__lt": end})
    return runs.order_by(f"-{sort_field}", "-id"), sort_field


def bulk_timings(runs, *, now=None):
    """{run id: RunTiming} for many runs: one query for all their step runs."""
    runs = list(runs)
    if not runs:
        return {}
    calendars = Unit.objects.calendars({run.unit_id for run in runs})
    steps = Step.objects.only("id", "number", "standard_text", "standard_minutes")
    step_runs = defaultdict(list)
    rows = (
        StepRun.objects.filter(run_id__in=[run.pk for run in runs])
        .only(
            "id",
            "run_id",
            "step_id",
            "round",
            "state",
            "activated_at",
            "started_at",
            "completed_at",
            "waiting_office_minutes",
            "handling_office_minutes",
        )
        .order_by()
    )
    step_cache = {step.pk: step for step in steps.filter(sop_id__in={run.sop_id for run in runs})}
    for step_run in rows:
        step_run.step = step_cache[step_run.step_id]
        step_runs[step_run.run_id].append(step_run)
    return {
        run.pk: timing.run_timing(run, step_runs[run.pk], calendars[run.unit_id], now=now)
        for run in runs
    }


@dataclass
class ArchiveRow:
    run: Run
    timing: timing.Figures

    @property
    def actual_display(self):
        return timing.format_minutes(self.timing.actual_total_minutes)

    @property
    def difference_display(self):
        return _signed_minutes(self.timing.difference_minutes)


@dataclass
class SopGroup:
    sop: object
    rows: list = field(default_factory=list)
    cancelled: int = 0

    @property
    def standard_display(self):
        return self.rows[0].timing.standard_display if self.rows else ""

    @property
    def average_actual_display(self):
        if not self.rows:
            return ""
        total = sum(row.timing.actual_total_minutes for row in self.rows)
        return timing.format_minutes(total / len(self.rows))

    @property
    def late_runs(self):
        return sum(1 for row in self.rows if row.timing.late)

    @property
    def steps_done(self):
        return sum(row.timing.steps_done for row in self.rows)

    @property
    def steps_on_time(self):
        return sum(row.timing.steps_on_time for row in self.rows)

    @property
    def on_time_share(self):
        return self.steps_on_time / self.steps_done if self.steps_done else None


@dataclass
class ArchiveReport:
    letterhead: Letterhead
    date_from: datetime.date
    date_to: datetime.date
    groups: list
    printed_at: datetime.datetime
    stylesheet: str = field(default_factory=_stylesheet_url)

    @property
    def finished(self):
        return sum(len(group.rows) for group in self.groups)

    @property
    def cancelled(self):
        return sum(group.cancelled for group in self.groups)

    @property
    def late_runs(self):
        return sum(group.late_runs for group in self.groups)

    @property
    def steps_done(self):
        return sum(group.steps_done for group in self.groups)

    @property
    def steps_on_time(self):
        return sum(group.steps_on_time for group in self.groups)

    @property
    def on_time_share(self):
        return self.steps_on_time / self.steps_done if self.steps_done else None


class ReportTooLarge(Exception):
    def __init__(self, count):
        super().__init__(count)
        self.count = count


def archive_report_filename(date_from, date_to):
    """The file name of the period report of the archive from `date_from` to `date_to`."""
    return f"laporan-arsip-{date_from.isoformat()}-{date_to.isoformat()}.pdf"


def _period_runs(units, date_from, date_to, sop):
    start, end = local_day_bounds(date_from, date_to)
    runs = Run.objects.filter(unit__in=units, finished_at__gte=start, finished_at__lt=end)
    if sop is not None:
        runs = runs.filter(sop=sop)
    return runs.filter(status=Run.Status.FINISHED)


def period_run_count(units, date_from, date_to, *, sop=None):
    """How many finished runs the period report would list; ReportTooLarge beyond the maximum."""
    count = _period_runs(units, date_from, date_to, sop).count()
    if count > ARCHIVE_REPORT_MAX_RUNS:
        raise ReportTooLarge(count)
    return count


def build_archive_report(units, date_from, date_to, *, sop=None, now=None, progress=None):
    """Finished runs of `units` in the period, grouped per SOP version, with their timing.

    `progress(done, total)` is called after each ARCHIVE_REPORT_CHUNK runs are timed.
    """
    now = now or timezone.now()
    units = list(units)
    period_run_count(units, date_from, date_to, sop=sop)
    runs = list(
        _period_runs(units, date_from, date_to, sop)
        .select_related("sop__unit", "unit")
        .order_by("unit__name", "sop__name", "sop__version", "finished_at", "id")
    )
    # A finished run stored its figures when it finished: the report reads those, and times
    # from its rounds only a run without them.
    standards = timing.sop_standards({run.sop_id for run in runs})
    timings = {}
    for run in runs:
        stored = timing.StoredTiming.of(run, standards[run.sop_id])
        if stored is not None:
            timings[run.pk] = stored
    rest = [run for run in runs if run.pk not in timings]
    if progress is not None:
        progress(len(timings), len(runs))
    for start in range(0, len(rest), ARCHIVE_REPORT_CHUNK):
        chunk = rest[start : start + ARCHIVE_REPORT_CHUNK]
        timings.update(bulk_timings(chunk, now=now))
        if progress is not None:
            progress(len(runs) - len(rest) + start + len(chunk), len(runs))
    groups = {}
    for run in runs:
        group = groups.setdefault(run.sop_id, SopGroup(sop=run.sop))
        group.rows.append(ArchiveRow(run=run, timing=timings[run.pk]))
    start, end = local_day_bounds(date_from, date_to)
    cancelled = Run.objects.filter(
        unit__in=units,
        status=Run.Status.CANCELLED,
        cancelled_at__gte=start,
        cancelled_at__lt=end,
    )
    if sop is not None:
        cancelled = cancelled.filter(sop=sop)
    counts = cancelled.values("sop").annotate(n=Count("id")).order_by()
    missing = {row["sop"]: row["n"] for row in counts if row["sop"] not in groups}
    if missing:
        for extra in Sop.objects.filter(pk__in=missing).select_related("unit"):
            groups[extra.pk] = SopGroup(sop=extra)
    for row in counts:
        groups[row["sop"]].cancelled = row["n"]
    ordered = sorted(groups.values(), key=lambda g: (g.sop.unit.name, g.sop.name, g.sop.version))
    letterhead = Letterhead.for_unit(units[0]) if len(units) == 1 else Letterhead.for_government()
    return ArchiveReport(
        letterhead=letterhead,
        date_from=date_from,
        date_to=date_to,
        groups=ordered,
        printed_at=now,
    )


def render_archive_report(units, date_from, date_to, *, sop=None, now=None, progress=None):
    """PDF bytes of the period report: the one renderer of the request and of the worker."""
    report = build_archive_report(units, date_from, date_to, sop=sop, now=now, progress=progress)
    return pdf.render_pdf(ARSIP_TEMPLATE, {"report": report})
