"""Monitoring of an SOP from its runs: statistics, Tabel 7, evaluation, event-log exports.

Who may see them: `access.get_monitored_sop` (Kepala, TU and the Kasi of the SOP's unit).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from activities.core import access, policy
from activities.documents import spreadsheets
from activities.forms import (
    EvaluationForm,
    EvaluationSignOffForm,
    MonitoringRowFormSet,
    PeriodForm,
    SignOffForm,
    ThresholdsForm,
)
from activities.models import MonitoringReport, SopEvaluation, pegawai_of
from activities.monitoring import charts, eventlog, statistics, tabel7
from activities.time.periods import Period

# With no dates given an export holds every run of the SOP.
ALL_TIME = Period(
    datetime.date(PeriodForm.MIN_YEAR, 1, 1), datetime.date(PeriodForm.MAX_YEAR, 12, 31)
)


def _log_request(request, pk):
    """(sop, period, its traces), or (sop, period, a redirect) when the period holds more runs
    than one download may (`eventlog.MAX_RUNS`): back to the statistics, with a message."""
    sop = access.get_monitored_sop(request.user, pk)
    period = PeriodForm(request.GET or None).period(ALL_TIME)
    count = eventlog.run_count(sop, period)
    if count > eventlog.MAX_RUNS:
        messages.error(
            request,
            _(
                "Periode ini berisi %(count)s kegiatan; satu log memuat paling banyak "
                "%(limit)s. Pilih periode yang lebih pendek."
            )
            % {"count": count, "limit": eventlog.MAX_RUNS},
        )
        target = reverse("sop_statistics", args=[sop.pk])
        return sop, period, redirect(f"{target}?{period.query()}")
    pseudonymous = request.GET.get("samaran") == "1"
    return sop, period, eventlog.traces(sop, period, pseudonymous=pseudonymous)


def _filename(sop, period, extension):
    stem = f"log-sop-{sop.pk}-v{sop.version}"
    if period != ALL_TIME:
        stem += f"-{period.start.isoformat()}-{period.end.isoformat()}"
    return f"{stem}.{extension}"


@login_required
@require_safe
def log_csv(request, pk):
    """The event log as CSV: one row per start, completion and return of a step round."""
    sop, period, traces = _log_request(request, pk)
    if isinstance(traces, HttpResponse):
        return traces
    rows = eventlog.csv_rows(traces)
    header = next(rows)
    return spreadsheets.csv_response(header, rows, _filename(sop, period, "csv"), cells_safe=True)


@login_required
@require_safe
def log_xes(request, pk):
    """The event log as XES (IEEE 1849-2016), one trace per run."""
    sop, period, traces = _log_request(request, pk)
    if isinstance(traces, HttpResponse):
        return traces
    response = StreamingHttpResponse(
        eventlog.xes_chunks(traces, sop=sop, period=period),
        content_type="application/xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(sop, period, "xes")}"'
    return response


def _period(request, default=None):
    form = PeriodForm(request.GET or None)
    period = form.period(default or Period.current_semester())
    if form.is_bound:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    # The form shows the period in force, whatever was typed.
    shown = PeriodForm(initial={"dari": period.start, "sampai": period.end})
    return shown, period


@login_required
@require_safe
def sop_statistics(request, pk):
    """Statistics of an SOP version over a period (the current semester by default), with charts.

    Queries: session, user, the SOP with its steps and their roles, the access check, then the
    five aggregates of `statistics.for_sop`; the same whatever the number of runs.
    """
    sop = access.get_monitored_sop(request.user, pk)
    form, period = _period(request)
    steps = list(sop.steps.all())
    stats = statistics.for_sop(sop, period, steps)
    context = {
        "sop": sop,
        "form": form,
        "period": period,
        "stats": stats,
        "semesters": _semesters(),
        "charts": charts.for_statistics(stats),
        "lead_buckets": charts.lead_bucket_labels(stats),
    }
    return render(request, "monitoring/statistics.html", context)


# Tabel 7 -------------------------------------------------------------------------------------


def _semesters():
    current = Period.current_semester()
    return [current.previous, current]


def _get_report(user, report_id):
    report = get_object_or_404(
        MonitoringReport.objects.select_related("unit", "sop", "signed_by").filter(
            unit__in=policy.visible_units(user)
        ),
        pk=report_id,
    )
    if not access.can_monitor(user, report.unit):
        raise PermissionDenied
    return report


def _existing_report(unit, sop, period):
    return MonitoringReport.objects.filter(
        unit=unit, sop=sop, period_start=period.start, period_end=period.end
    ).first()


def _monitoring_start(request, *, unit, sop):
    """GET: the existing form of the period, or a preview of the draft; POST: create the draft."""
    form, period = _period(request)
    existing = _existing_report(unit, sop, period)
    if existing is not None:
        return redirect("monitoring_detail", existing.pk)
    thresholds = ThresholdsForm(request.POST or None)
    if request.method == "POST" and thresholds.is_valid():
        try:
            report = tabel7.draft(
                unit=unit, sop=sop, period=period, user=request.user, **thresholds.cleaned_data
            )
        except IntegrityError:
            # Someone drafted the same form a moment ago: open theirs.
            report = _existing_report(unit, sop, period)
        messages.success(request, _("Draf monitoring disusun dari data; periksa dan lengkapi."))
        return redirect("monitoring_detail", report.pk)
    sops = [sop] if sop else tabel7.report_sops(unit, period)
    context = {
        "unit": unit,
        "sop": sop,
        "sops": sops,
        "form": form,
        "period": period,
        "semesters": _semesters(),
        "thresholds": thresholds,
    }
    return render(request, "monitoring/start.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sop_monitoring(request, pk):
    sop = access.get_monitored_sop(request.user, pk)
    return _monitoring_start(request, unit=sop.unit, sop=sop)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def unit_monitoring(request, unit_id):
    unit = get_object_or_404(policy.visible_units(request.user), pk=unit_id)
    if not access.can_monitor(request.user, unit):
        raise PermissionDenied
    return _monitoring_start(request, unit=unit, sop=None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def monitoring_detail(request, report_id):
    """Edit a Tabel 7 draft (penilaian, catatan, tindakan, paraf), propose again, or sign it."""
    report = _get_report(request.user, report_id)
    saved_rows = report.rows.select_related("sop").order_by("position")
    action = request.POST.get("action") if request.method == "POST" else None
    if report.is_signed and action:
        messages.error(request, _("Formulir ini sudah diparaf dan tidak dapat diubah lagi."))
        return redirect("monitoring_detail", report.pk)
    thresholds = ThresholdsForm(
        request.POST if action == "susun_ulang" else None, instance=report, prefix="ambang"
    )
    formset = MonitoringRowFormSet(
        request.POST if action in ("simpan", "paraf") else None,
        queryset=saved_rows,
        prefix="baris",
    )
    signoff = SignOffForm(
        request.POST if action in ("simpan", "paraf") else None,
        instance=report,
        signing=action == "paraf",
        prefix="paraf",
        person=pegawai_of(request.user),
    )
    rows = list(saved_rows)
    intact = not formset.is_bound or len(formset.forms) == len(rows)
    if not intact:
        # A tampered or truncated management form: show the rows as saved and say so.
        messages.error(request, _("Formulir tidak lengkap; muat ulang halaman dan isi lagi."))
        formset = MonitoringRowFormSet(queryset=saved_rows, prefix="baris")
    if action == "susun_ulang" and thresholds.is_valid():
        with transaction.atomic():
            thresholds.save()
            tabel7.redraft(report)
        messages.success(request, _("Usulan penilaian disusun ulang dengan ambang baru."))
        return redirect("monitoring_detail", report.pk)
    if action in ("simpan", "paraf") and intact and formset.is_valid() and signoff.is_valid():
        with transaction.atomic():
            formset.save()
            signed = signoff.save(commit=False)
            if action == "paraf":
                signed.status = MonitoringReport.Status.SIGNED
                signed.signed_by = request.user
            signed.save()
        if action == "paraf":
            messages.success(request, _("Monitoring diparaf dan disimpan sebagai final."))
        else:
            messages.success(request, _("Perubahan disimpan."))
        return redirect("monitoring_detail", report.pk)
    if action and action not in ("susun_ulang", "simpan", "paraf"):
        messages.error(request, _("Tindakan tidak dikenal."))
    context = {
        "report": report,
        "sop": report.sop,
        "period": report.period,
        "rows": [(form.instance, form) for form in formset.forms],
        "signed_rows": rows if report.is_signed else None,
        "formset": formset,
        "thresholds": thresholds,
        "signoff": signoff,
        "history": _history(report),
    }
    return render(request, "monitoring/detail.html", context)


def _history(record):
    """The saved states of a record, newest first, with who saved them."""
    return list(record.history.select_related("history_user").order_by("-history_date")[:50])


@login_required
@require_safe
def monitoring_pdf(request, report_id):
    report = _get_report(request.user, report_id)
    data = tabel7.render_report(report)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="monitoring-sop-{report.pk}.pdf"'
    return response


# Evaluation ----------------------------------------------------------------------------------


def _get_evaluation(user, evaluation_id):
    evaluation = get_object_or_404(
        SopEvaluation.objects.select_related("sop__unit", "signed_by").filter(
            sop__unit__in=policy.visible_units(user)
        ),
        pk=evaluation_id,
    )
    if not access.can_monitor(user, evaluation.sop.unit):
        raise PermissionDenied
    return evaluation


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sop_evaluation(request, pk):
    """The evaluation of the period if it exists, else its evidence and a button to start it."""
    sop = access.get_monitored_sop(request.user, pk)
    form, period = _period(request)
    existing = SopEvaluation.objects.filter(
        sop=sop, period_start=period.start, period_end=period.end
    ).first()
    if existing is not None:
        return redirect("evaluation_detail", existing.pk)
    if request.method == "POST":
        try:
            evaluation = SopEvaluation.objects.create(
                sop=sop, period_start=period.start, period_end=period.end, created_by=request.user
            )
        except IntegrityError:
            evaluation = SopEvaluation.objects.get(
                sop=sop, period_start=period.start, period_end=period.end
            )
        return redirect("evaluation_detail", evaluation.pk)
    stats, evidence = tabel7.evaluation_evidence(sop, period)
    context = {
        "sop": sop,
        "form": form,
        "period": period,
        "semesters": _semesters(),
        "criteria": [(number, text, evidence[number]) for number, text in SopEvaluation.CRITERIA],
        "stats": stats,
    }
    return render(request, "monitoring/evaluation_start.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def evaluation_detail(request, evaluation_id):
    evaluation = _get_evaluation(request.user, evaluation_id)
    action = request.POST.get("action") if request.method == "POST" else None
    if evaluation.is_signed and action:
        messages.error(request, _("Evaluasi ini sudah diparaf dan tidak dapat diubah lagi."))
        return redirect("evaluation_detail", evaluation.pk)
    bound = action in ("simpan", "paraf")
    form = EvaluationForm(request.POST if bound else None, instance=evaluation)
    signoff = EvaluationSignOffForm(
        request.POST if bound else None,
        instance=evaluation,
        signing=action == "paraf",
        prefix="paraf",
        person=pegawai_of(request.user),
    )
    if bound and form.is_valid() and signoff.is_valid():
        missing = form.unanswered() if action == "paraf" else []
        if missing:
            messages.error(
                request,
                _("Jawab semua kriteria sebelum paraf; belum dijawab: %(numbers)s.")
                % {"numbers": ", ".join(str(number) for number in missing)},
            )
        else:
            with transaction.atomic():
                evaluation = form.save(commit=False)
                for name in ("reviewer_name", "reviewer_nip", "signed_on"):
                    setattr(evaluation, name, signoff.cleaned_data[name])
                if action == "paraf":
                    evaluation.status = SopEvaluation.Status.SIGNED
                    evaluation.signed_by = request.user
                evaluation.save()
            messages.success(
                request,
                _("Evaluasi diparaf dan disimpan sebagai final.")
                if action == "paraf"
                else _("Perubahan disimpan."),
            )
            return redirect("evaluation_detail", evaluation.pk)
    elif action and not bound:
        messages.error(request, _("Tindakan tidak dikenal."))
    stats, evidence = tabel7.evaluation_evidence(evaluation.sop, evaluation.period)
    context = {
        "evaluation": evaluation,
        "sop": evaluation.sop,
        "period": evaluation.period,
        "form": form,
        "signoff": signoff,
        "criteria": [
            (number, text, field, note, evidence[number])
            for number, text, field, note in form.criteria()
        ],
        "answers": [
            (number, text, answer, note, evidence[number])
            for number, text, answer, note in evaluation.answers()
        ],
        "history": _history(evaluation),
    }
    return render(request, "monitoring/evaluation_detail.html", context)


@login_required
@require_safe
def evaluation_pdf(request, evaluation_id):
    evaluation = _get_evaluation(request.user, evaluation_id)
    data = tabel7.render_evaluation(evaluation)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="evaluasi-sop-{evaluation.pk}.pdf"'
    return response
