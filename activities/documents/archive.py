"""The archive of finished runs: its search, and the period report (laporan arsip).

The report is built completely here and only then handed to the template and WeasyPrint."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.documents import pdf
from activities.documents.laporan import CLOSED_STATUSES, signed_by_acting_head, stylesheet_url
from activities.documents.letterhead import Letterhead
from activities.models import (
    Run,
    Sop,
    Step,
    StepRun,
    StepValue,
    Unit,
    grouped_values,
)
from activities.time import timing

ARSIP_TEMPLATE = "reports/arsip.html"
# A period report of up to this many finished runs is rendered in the request (about 1.5 s);
# a larger one is prepared by the worker (activities/documents/period_reports.py).
ARCHIVE_REPORT_INLINE_MAX_RUNS = 200
# A period report is one table row per run; beyond this it is a book, not a report. Measured in
# the worker: 1,000 rows take WeasyPrint about 7 s and 300 MB, 5,000 rows about a minute and
# 1 GB; twice that would want more memory than one worker of a small office server has.
ARCHIVE_REPORT_MAX_RUNS = 5000
# Runs timed per step of the period report's progress (and per batch of step-run queries).
ARCHIVE_REPORT_CHUNK = 100


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
    steps = Step.objects.only("id", "number", "standard_text", "standard_minutes", "parallel_group")
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


def run_data_texts(runs):
    """{run id: "Langkah 11 · Jumlah peserta: 120; Narasumber: A, B"} of the step data the runs
    recorded, one query for all of them; a step done again after a return gives only its
    latest round's values."""
    runs = list(runs)
    if not runs:
        return {}
    values = (
        StepValue.objects.filter(
            step_run__run__in=[run.pk for run in runs], step_run__state=StepRun.State.DONE
        )
        .select_related("step_run__step")
        .order_by("step_run__run_id", "step_run__step__number", "-step_run__round", "position")
    )
    rounds: dict = {}
    for value in values:
        step_run = value.step_run
        place = (step_run.run_id, step_run.step.number)
        kept = rounds.setdefault(place, (step_run.round, []))
        # The latest round of each step comes first; an earlier round's values are left out.
        if kept[0] == step_run.round:
            kept[1].append(value)
    texts: dict = defaultdict(list)
    for (run_id, number), (_round, kept) in sorted(rounds.items()):
        shown = "; ".join(f"{label}: {text}" for label, text in grouped_values(kept))
        texts[run_id].append(f"{_('Langkah')} {number} · {shown}")
    return {run_id: " | ".join(parts) for run_id, parts in texts.items()}


@dataclass
class ArchiveRow:
    run: Run
    timing: timing.Figures

    @property
    def actual_display(self):
        return self.timing.actual_display

    @property
    def difference_display(self):
        return self.timing.difference_display


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
        # A group is one SOP version, so its runs share their unit's day.
        total = sum(row.timing.actual_total_minutes for row in self.rows)
        return self.rows[0].timing.display(total / len(self.rows))

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
    # The units a report over several units covers (named under its title); [] for one unit.
    units: list = field(default_factory=list)
    stylesheet: str = field(default_factory=stylesheet_url)

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
    calendars = Unit.objects.calendars({run.unit_id for run in runs})
    timings = {}
    for run in runs:
        day_minutes = calendars[run.unit_id].day_minutes
        stored = timing.StoredTiming.of(run, standards[run.sop_id], day_minutes)
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
    return ArchiveReport(
        letterhead=report_letterhead(units, now),
        date_from=date_from,
        date_to=date_to,
        groups=ordered,
        printed_at=now,
        units=sorted(units, key=lambda unit: unit.name) if len(units) > 1 else [],
    )


def report_letterhead(units, now):
    """The kop and signatory of a period report, signed on the day it is printed (by the
    Plt./Plh. in force that day): the unit's own for one unit; for several, those of the city's
    organisation bureau (SOPFLOW_CITY_UNIT), or the government's kop alone without it."""
    issuer = units[0] if len(units) == 1 else city_unit()
    if issuer is None:
        return Letterhead.for_government(units)
    letterhead = Letterhead.for_unit(issuer)
    if not letterhead.emblem_url:
        letterhead.emblem_url = Letterhead.for_government(units).emblem_url
    return signed_by_acting_head(letterhead, issuer.pk, timezone.localdate(now))


def city_unit():
    """The unit that issues documents over several units (SOPFLOW_CITY_UNIT), or None."""
    if not settings.SOPFLOW_CITY_UNIT:
        return None
    return Unit.objects.filter(short_name=settings.SOPFLOW_CITY_UNIT).first()


def render_archive_report(units, date_from, date_to, *, sop=None, now=None, progress=None):
    """PDF bytes of the period report: the one renderer of the request and of the worker."""
    report = build_archive_report(units, date_from, date_to, sop=sop, now=now, progress=progress)
    return pdf.render_pdf(ARSIP_TEMPLATE, {"report": report})
