"""Tabel 7 monitoring and the seven-criteria evaluation, drafted from the statistics.

The monitoring form proposes a penilaian per SOP from two configurable thresholds: an SOP
"berjalan dengan baik" when the share of its steps done within the standard is at least the
on-time threshold and no step was returned more often than the return threshold (both
inclusive: 80 % on time and 30 % returns still pass). Catatan is drafted from the three steps
with the largest overrun and from the return rates; Tindakan is left to the penilai, who edits
everything and signs it off.

The evaluation shows beside each criterion the evidence the data can give: the lead-time
trend (criterion 1), the return rates (3), each pelaksana's share within the standard (4) and
the monthly share of rounds over the standard (5). The answers are the evaluator's.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_tasks import task
from simple_history.utils import bulk_create_with_history

from activities.core import access
from activities.documents import pdf
from activities.documents.letterhead import Letterhead
from activities.models import (
    Assessment,
    Event,
    MonitoringReport,
    MonitoringRow,
    Notification,
    Run,
    Sop,
    SopEvaluation,
    Step,
    StepRun,
    Unit,
)
from activities.monitoring import statistics, step_data
from activities.notifications import announcements
from activities.time.periods import Period

WORST_STEPS = 3


def _percent(share):
    return "–" if share is None else f"{round(share * 100)}%"


@dataclass
class Proposal:
    assessment: str
    basis: str
    notes: str


def propose(stats, on_time_threshold, return_threshold):
    """The proposed penilaian of one SOP's statistics, with its basis and drafted catatan."""
    share = stats.on_time_share
    returns = [
        stat for stat in stats.steps if stat.step.is_approval and stat.return_rate is not None
    ]
    returns.sort(key=lambda stat: (-stat.return_rate, stat.number))
    worst_return = returns[0] if returns else None
    # In whole numbers, so that a share exactly at the threshold passes whatever floats say.
    on_time_ok = share is not None and (
        stats.steps_on_time * 100 >= on_time_threshold * stats.steps_done
    )
    returns_ok = worst_return is None or (
        worst_return.returned * 100 <= return_threshold * worst_return.rounds
    )
    good = on_time_ok and returns_ok

    basis = [
        _("%(finished)s kegiatan selesai, %(rounds)s putaran langkah pada periode ini.")
        % {"finished": stats.finished, "rounds": stats.rounds},
        _("Langkah tepat waktu %(share)s (ambang %(threshold)s%%).")
        % {"share": _percent(share), "threshold": on_time_threshold},
    ]
    if worst_return is not None:
        basis.append(
            _("Pengembalian tertinggi %(rate)s pada langkah %(number)s (ambang %(threshold)s%%).")
            % {
                "rate": _percent(worst_return.return_rate),
                "number": worst_return.number,
                "threshold": return_threshold,
            }
        )

    notes = []
    if share is None:
        notes.append(_("Tidak ada kegiatan selesai pada periode ini; SOP belum dapat dinilai."))
    elif not on_time_ok:
        notes.append(
            _("Hanya %(share)s langkah selesai dalam waktu baku.") % {"share": _percent(share)}
        )
    worst = stats.bottlenecks[:WORST_STEPS]
    if worst:
        parts = [
            _(
                "langkah %(number)s (%(activity)s): median waktu %(median)s terhadap waktu "
                "baku %(standard)s, jumlah kelebihan semua putaran %(overrun)s"
            )
            % {
                "number": stat.number,
                "activity": _short(stat.step.activity),
                "overrun": stats.display(stat.overrun),
                "median": stats.display(stat.handling_median),
                "standard": stats.display(stat.standard_minutes),
            }
            for stat in worst
        ]
        notes.append(_("Langkah paling lambat: %(steps)s.") % {"steps": "; ".join(parts)})
    returned = [stat for stat in returns if stat.returned]
    if returned:
        parts = [
            _("langkah %(number)s %(rate)s")
            % {"number": stat.number, "rate": _percent(stat.return_rate)}
            for stat in returned
        ]
        notes.append(_("Pengembalian: %(steps)s.") % {"steps": ", ".join(parts)})
    if share is None:
        assessment = Assessment.NONE
    else:
        assessment = Assessment.GOOD if good else Assessment.POOR
    data_note = step_data.note(getattr(stats, "data", ()))
    if data_note:
        notes.append(data_note)
    return Proposal(
        assessment=assessment,
        basis=" ".join(basis),
        notes=" ".join(notes),
    )


def _short(text, limit=60):
    """`text` cut to `limit` characters at a word boundary, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def report_sops(unit, period):
    """The SOPs a unit-wide form covers: those in force, and any that ran in the period."""
    first, after = period.bounds
    ran = Q(runs__opened_at__lt=after) & (
        Q(runs__status=Run.Status.RUNNING)
        | Q(runs__finished_at__gte=first)
        | Q(runs__cancelled_at__gte=first)
    )
    ids = Sop.objects.filter(unit=unit).filter(Q(status=Sop.Status.ACTIVE) | ran).values("pk")
    return list(
        Sop.objects.filter(pk__in=ids)
        .select_related("unit")
        .prefetch_related("steps")
        .order_by("name", "-version")
    )


def _rows(report):
    sops = [report.sop] if report.sop_id else report_sops(report.unit, report.period)
    rows = []
    for position, sop in enumerate(sops, start=1):
        steps = list(Step.objects.filter(sop=sop).order_by("number"))
        stats = statistics.for_sop(sop, report.period, steps)
        proposal = propose(stats, report.on_time_threshold, report.return_threshold)
        rows.append((position, sop, proposal))
    return rows


@transaction.atomic
def draft(*, unit, sop, period, user, on_time_threshold=None, return_threshold=None):
    """Create the draft Tabel 7 of `sop` (or of every SOP of `unit` when None) for `period`."""
    defaults = MonitoringReport._meta
    report = MonitoringReport(
        unit=unit,
        sop=sop,
        period_start=period.start,
        period_end=period.end,
        created_by=user,
        on_time_threshold=on_time_threshold
        if on_time_threshold is not None
        else defaults.get_field("on_time_threshold").default,
        return_threshold=return_threshold
        if return_threshold is not None
        else defaults.get_field("return_threshold").default,
    )
    report.save()
    bulk_create_with_history(
        [
            MonitoringRow(
                report=report,
                position=position,
                sop=row_sop,
                proposed=proposal.assessment,
                basis=proposal.basis,
                assessment=proposal.assessment,
                notes=proposal.notes,
            )
            for position, row_sop, proposal in _rows(report)
        ],
        MonitoringRow,
        default_user=user,
    )
    return report


@transaction.atomic
def redraft(report):
    """Propose again under the report's (changed) thresholds; Tindakan the penilai wrote stays.

    Rows are saved one by one so that each change enters the history.
    """
    existing = {row.sop_id: row for row in report.rows.all()}
    for position, sop, proposal in _rows(report):
        row = existing.pop(sop.pk, None) or MonitoringRow(report=report, sop=sop)
        row.position = position
        row.proposed = row.assessment = proposal.assessment
        row.basis, row.notes = proposal.basis, proposal.notes
        row.save()
    for row in existing.values():
        row.delete()


# Evaluation evidence ------------------------------------------------------------------------


@dataclass
class Evidence:
    number: int
    lines: list


def evaluation_evidence(sop, period):
    """{criterion number: [lines of evidence]} for the criteria the data speaks to."""
    steps = list(Step.objects.filter(sop=sop).order_by("number"))
    stats = statistics.for_sop(sop, period, steps)
    evidence = {number: [] for number, _text in SopEvaluation.CRITERIA}

    months = [month for month in stats.months if month.lead_median is not None]
    if len(months) >= 2:
        first, last = months[0], months[-1]
        change = last.lead_median - first.lead_median
        direction = _("turun") if change < 0 else _("naik") if change > 0 else _("tetap")
        evidence[1].append(
            _(
                "Median waktu tempuh %(direction)s dari %(first)s (%(first_month)s) ke %(last)s "
                "(%(last_month)s)."
            )
            % {
                "direction": direction,
                "first": stats.display(first.lead_median),
                "first_month": formats.date_format(first.month, "F Y"),
                "last": stats.display(last.lead_median),
                "last_month": formats.date_format(last.month, "F Y"),
            }
        )
    elif months:
        evidence[1].append(
            _("Median waktu tempuh %(median)s (satu bulan data; tren belum terlihat).")
            % {"median": stats.display(months[0].lead_median)}
        )
    else:
        evidence[1].append(_("Belum ada kegiatan selesai pada periode ini."))
    if stats.lead.median is not None:
        evidence[1].append(
            _("Waktu tempuh median %(median)s terhadap jumlah waktu baku %(standard)s.")
            % {
                "median": stats.display(stats.lead.median),
                "standard": stats.display(stats.standard_total),
            }
        )

    approvals = [stat for stat in stats.steps if stat.step.is_approval and stat.rounds]
    for stat in approvals:
        evidence[3].append(
            _("Langkah %(number)s dikembalikan %(returned)s dari %(rounds)s kali (%(rate)s).")
            % {
                "number": stat.number,
                "returned": stat.returned,
                "rounds": stat.rounds,
                "rate": _percent(stat.return_rate),
            }
        )
    if not approvals:
        evidence[3].append(_("Belum ada keputusan persetujuan pada periode ini."))

    # Per role, never per person: an SOP's evaluation is no appraisal of its staff.
    for role in role_shares(steps, period):
        evidence[4].append(
            _("%(role)s: %(within)s dari %(rounds)s langkah dalam waktu baku (%(share)s).") % role
        )
    if not evidence[4]:
        evidence[4].append(_("Belum ada langkah selesai pada periode ini."))

    for month, rounds, late in overdue_by_month(steps, period):
        evidence[5].append(
            _("%(month)s: %(late)s dari %(rounds)s langkah melebihi waktu baku (%(share)s).")
            % {
                "month": formats.date_format(month, "F Y"),
                "late": late,
                "rounds": rounds,
                "share": _percent(late / rounds if rounds else None),
            }
        )
    if not evidence[5]:
        evidence[5].append(_("Belum ada langkah selesai pada periode ini."))
    return stats, evidence


def _closed_rounds(steps, period):
    first, after = period.bounds
    return StepRun.objects.filter(
        step__in=[step.pk for step in steps],
        handling_office_minutes__isnull=False,
        completed_at__gte=first,
        completed_at__lt=after,
    )


def role_shares(steps, period):
    """Each role's rounds and how many kept the standard (a Plt./Plh. counts for the role he
    acted as): one GROUP BY."""
    rows = (
        _closed_rounds(steps, period)
        .filter(completed_by__isnull=False)
        .values("completed_as__name")
        .order_by()
        .annotate(
            rounds=Count("id"),
            within=Count("id", filter=Q(handling_office_minutes__lte=F("step__standard_minutes"))),
        )
        .order_by("completed_as__name")
    )
    return [
        {
            "role": row["completed_as__name"] or _("atas nama jabatan"),
            "rounds": row["rounds"],
            "within": row["within"],
            "share": _percent(row["within"] / row["rounds"]),
        }
        for row in rows
    ]


@dataclass
class Conclusion:
    summary: str
    steps: list


def conclusion(evaluation, stats):
    """The evaluation's overall conclusion: keep the SOP or revise it, and which steps."""
    answers = {number: answer for number, _text, answer, _note in evaluation.answers()}
    missing = [number for number, answer in answers.items() if answer not in ("ya", "tidak")]
    failed = [number for number, answer in answers.items() if answer == "tidak"]
    steps = [
        _("Langkah %(number)s (%(activity)s): %(within)s dari %(rounds)s putaran dalam waktu baku.")
        % {
            "number": stat.number,
            "activity": _short(stat.step.activity),
            "within": stat.within,
            "rounds": stat.rounds,
        }
        for stat in stats.bottlenecks[:WORST_STEPS]
    ]
    steps += [
        _("Langkah %(number)s dikembalikan %(returned)s dari %(rounds)s kali.")
        % {"number": stat.number, "returned": stat.returned, "rounds": stat.rounds}
        for stat in stats.steps
        if stat.step.is_approval and stat.returned
    ]
    if missing:
        summary = _("Belum dapat disimpulkan: kriteria %(numbers)s belum dijawab.") % {
            "numbers": ", ".join(map(str, missing))
        }
    elif failed:
        summary = _(
            "SOP perlu direvisi: kriteria %(numbers)s dijawab “Tidak”. Rekomendasi: tinjau "
            "langkah di bawah ini pada revisi berikutnya."
        ) % {"numbers": ", ".join(map(str, failed))}
    else:
        summary = _("SOP tetap digunakan: ketujuh kriteria dijawab “Ya”.")
        if steps:
            summary += " " + _("Langkah di bawah ini tetap perlu dipantau.")
    return Conclusion(summary=summary, steps=steps)


def overdue_by_month(steps, period):
    """[(month, rounds, rounds over the standard)] by month of completion: one GROUP BY."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    rows = (
        _closed_rounds(steps, period)
        .annotate(month=TruncMonth("completed_at", tzinfo=tz))
        .values("month")
        .order_by("month")
        .annotate(
            rounds=Count("id"),
            late=Count("id", filter=Q(handling_office_minutes__gt=F("step__standard_minutes"))),
        )
    )
    return [
        (
            row["month"].date() if hasattr(row["month"], "date") else row["month"],
            row["rounds"],
            row["late"],
        )
        for row in rows
    ]


# Printed documents --------------------------------------------------------------------------

MONITORING_TEMPLATE = "reports/monitoring.html"
EVALUATION_TEMPLATE = "reports/evaluasi.html"


def reviewer_title(signoff, unit, letterhead):
    """The jabatan printed under "Penilai,": the roles the person who signed holds in the unit,
    else the unit head's title (the form is the head's to sign)."""
    if signoff.signed_by_id:
        names = signoff.signed_by.sop_roles.filter(unit=unit).order_by("position", "name")
        names = [role.name for role in names]
        if names:
            return " / ".join(names)
    return letterhead.head_title


def render_report(report):
    """Tabel 7 as an A4 landscape PDF with the unit's kop; a draft is marked DRAF."""
    rows = list(report.rows.select_related("sop").order_by("position"))
    letterhead = Letterhead.for_unit(report.unit)
    context = {
        "reviewer_title": reviewer_title(report, report.unit, letterhead),
        "report": report,
        "rows": rows,
        "lh": letterhead,
        "stylesheet": pdf.static_url("css/report.css"),
        "printed_at": timezone.now(),
    }
    return pdf.render_pdf(MONITORING_TEMPLATE, context)


def render_evaluation(evaluation):
    """The evaluation as an A4 portrait PDF with the evidence beside each criterion."""
    stats, evidence = evaluation_evidence(evaluation.sop, evaluation.period)
    letterhead = Letterhead.for_unit(evaluation.sop.unit)
    context = {
        "reviewer_title": reviewer_title(evaluation, evaluation.sop.unit, letterhead),
        "evaluation": evaluation,
        "answers": [
            (number, SopEvaluation.QUESTIONS[number], answer, note, evidence[number])
            for number, _text, answer, note in evaluation.answers()
        ],
        "conclusion": conclusion(evaluation, stats),
        "lh": letterhead,
        "stylesheet": pdf.static_url("css/report.css"),
        "printed_at": timezone.now(),
    }
    return pdf.render_pdf(EVALUATION_TEMPLATE, context)


# The semester-end reminder ------------------------------------------------------------------


def units_with_sops_before(moment: datetime.datetime):
    """The units that had an SOP in force before `moment`: one was put in force then, one was
    loaded already in force (no activation of its own), or one of their runs was opened."""
    activated = Event.objects.filter(
        kind=Event.Kind.SOP_ACTIVATED, at__lt=moment, sop__unit=OuterRef("pk")
    )
    loaded_in_force = Sop.objects.filter(
        unit=OuterRef("pk"),
        created_at__lt=moment,
        status__in=[Sop.Status.ACTIVE, Sop.Status.RETIRED],
    ).exclude(events__kind=Event.Kind.SOP_ACTIVATED)
    ran = Run.objects.filter(unit=OuterRef("pk"), opened_at__lt=moment)
    return Unit.objects.filter(Exists(activated) | Exists(loaded_in_force) | Exists(ran))


@task()
def remind_semester_end(now: datetime.datetime | None = None) -> int:
    """Once a semester has ended, tell each unit's monitors to write its Tabel 7, unless the
    unit-wide form of that semester exists or the unit had no SOP in force before it ended
    (a new installation has nothing to monitor for the semester before it). Idempotent: one
    notification per person and semester (its key), however often the scheduler runs it.
    Returns how many were written."""
    now = now or timezone.now()
    ended = Period.semester_of(timezone.localdate(now)).previous
    done = MonitoringReport.objects.filter(
        sop=None, period_start=ended.start, period_end=ended.end
    ).values("unit")
    _first, after = ended.bounds
    written = 0
    for unit in units_with_sops_before(after).exclude(pk__in=done):
        url = reverse("unit_monitoring", args=[unit.pk]) + "?" + ended.query()
        written += len(
            announcements.notify(
                access.unit_monitors(unit),
                kind=Notification.Kind.MONITORING,
                key=f"monitoring:{unit.pk}:{ended.start.isoformat()}",
                subject=_("Monitoring SOP %(period)s untuk %(unit)s")
                % {"period": ended.label(), "unit": unit.short_name},
                body=_(
                    "%(period)s telah berakhir. Susun dan paraf formulir monitoring SOP "
                    "(Tabel 7) unit %(unit)s: drafnya sudah disiapkan dari data kegiatan."
                )
                % {"period": ended.label(), "unit": unit.name},
                url=url,
                now=now,
            )
        )
    return written
