"""Laporan PDFs, protected attachment downloads, and the archive of closed runs for TU and Kepala.

Files of a run are only ever served through these views, which check that the user belongs to
the run's unit; nothing under MEDIA_ROOT is meant to be published directly.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from activities.core import access, policy
from activities.documents import archive, laporan, laporan_tte, period_reports, spreadsheets
from activities.forms import ArchiveFilterForm
from activities.models import ArchivedReport, Attachment, PeriodReport, Run
from activities.paging import InvalidCursor, keyset_page

PAGE_SIZE = 50
# The user's own period reports listed on the archive page, newest first.
RECENT_PERIOD_REPORTS = 5
EXPORT_MAX_ROWS = 10_000
# Attachments never change once stored, so browsers may keep them for a while (privately).
FILE_CACHE_SECONDS = 24 * 3600
# How long after the finish the laporan may still be with the worker before a download asks
# for it again.
ARCHIVE_GRACE = datetime.timedelta(minutes=1)


def _file_response(field_file, *, content_type, filename, inline):
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(_("Berkas tidak ditemukan di penyimpanan.")) from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=filename
    )
    response["Cache-Control"] = f"private, max-age={FILE_CACHE_SECONDS}"
    return response


@login_required
@require_safe
def run_report(request, pk):
    """The laporan PDF: the archived bytes of a finished run, a draft for any other run."""
    run = get_object_or_404(policy.visible_runs(request.user), pk=pk)
    if run.status == Run.Status.FINISHED:
        archived = ArchivedReport.objects.filter(run=run).first()
        if archived is None and laporan_tte.enabled() and laporan_tte.complete(run) is None:
            # Waiting for its officials' TTE: the partly signed file, else the final text.
            data = laporan_tte.pending_document(run) or laporan.render_run_report(run.pk)
            response = HttpResponse(data, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="laporan-kegiatan-{run.pk}.pdf"'
            response["Cache-Control"] = "no-store"
            return response
        if archived is None and run.finished_at < timezone.now() - ARCHIVE_GRACE:
            # The task queued at the finish should have archived it by now: it failed or was
            # lost, so queue it again (it archives once however often it is queued).
            laporan.archive_laporan.enqueue(run.pk)
            archived = ArchivedReport.objects.filter(run=run).first()
        if archived is None:
            response = render(request, "runs/laporan_pending.html", {"run": run}, status=202)
            response["Retry-After"] = "5"
            response["Cache-Control"] = "no-store"
            return response
        response = _file_response(
            archived.file,
            content_type="application/pdf",
            filename=f"laporan-kegiatan-{run.pk}.pdf",
            inline=True,
        )
        response["ETag"] = f'"{archived.sha256}"'
        return response
    data = laporan.render_run_report(run.pk)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="draf-laporan-kegiatan-{run.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _attachment_for_user(user, pk, attachment_id):
    # The run is looked up on its own primary key: Django answers an id beyond the database's
    # integer range with "no row" there, but passes it on as it is through a foreign key.
    run = get_object_or_404(policy.visible_runs(user), pk=pk)
    return get_object_or_404(Attachment.objects.filter(step_run__run=run), pk=attachment_id)


@login_required
@require_safe
def attachment_download(request, pk, attachment_id):
    attachment = _attachment_for_user(request.user, pk, attachment_id)
    stem = attachment.original_name.rsplit(".", 1)[0] or "lampiran"
    extension = "." + attachment.file.name.rsplit(".", 1)[-1]
    inline = attachment.is_image or attachment.content_type == "application/pdf"
    return _file_response(
        attachment.file,
        content_type=attachment.content_type,
        filename=stem + extension,
        inline=inline,
    )


@login_required
@require_safe
def attachment_thumbnail(request, pk, attachment_id):
    attachment = _attachment_for_user(request.user, pk, attachment_id)
    if not attachment.rendition:
        raise Http404(_("Lampiran ini tidak memiliki gambar kecil."))
    stem = attachment.original_name.rsplit(".", 1)[0] or "lampiran"
    return _file_response(
        attachment.rendition,
        content_type="image/jpeg",
        filename=f"{stem}-kecil.jpg",
        inline=True,
    )


def _params(request, *names):
    return [(k, v) for k, values in request.GET.lists() for v in values if k not in names]


def _query_without(request, *names):
    return urlencode(_params(request, *names))


@login_required
@require_safe
def archive_list(request):
    """Closed runs of the units whose archive the user keeps; CSV/XLSX of the same list for
    the units he may export."""
    export = request.GET.get("format")
    exporting = export in ("csv", "xlsx")
    units = access.require_units(request.user, "export" if exporting else "see_archive")
    form = ArchiveFilterForm(request.GET or None, units=units)
    if form.is_bound:
        form.is_valid()
    runs, sort_field = archive.archive_runs(units, **form.filters())
    if exporting:
        return _export(runs, export)
    try:
        page = keyset_page(runs, sort_field, PAGE_SIZE, after=request.GET.get("setelah"))
    except InvalidCursor:
        page = keyset_page(runs, sort_field, PAGE_SIZE)
    rows, next_cursor = page.rows, page.next_cursor
    base_query = _query_without(request, "setelah", "format")
    may_export = policy.has_anywhere(request.user, "export")
    own_reports = PeriodReport.objects.filter(requested_by=request.user).select_related("sop")
    context = {
        "form": form,
        "rows": rows,
        "units": units,
        "may_export": may_export,
        "inline_limit": archive.ARCHIVE_REPORT_INLINE_MAX_RUNS,
        "period_reports": list(own_reports[:RECENT_PERIOD_REPORTS]) if may_export else [],
        "next_url": "?"
        + urlencode([*_params(request, "setelah", "format"), ("setelah", next_cursor)])
        if next_cursor
        else "",
        "first_url": f"?{base_query}" if request.GET.get("setelah") else "",
        "export_query": base_query,
        "period_query": urlencode(
            {k: request.GET[k] for k in ("dari", "sampai", "sop") if request.GET.get(k)}
        ),
    }
    return render(request, "archive/list.html", context)


EXPORT_COLUMNS = [
    gettext_lazy("No."),
    gettext_lazy("Judul kegiatan"),
    gettext_lazy("Unit kerja"),
    gettext_lazy("SOP"),
    gettext_lazy("Nomor SOP"),
    gettext_lazy("Versi SOP"),
    gettext_lazy("Tanggal pelaksanaan"),
    gettext_lazy("Tempat"),
    gettext_lazy("Status"),
    gettext_lazy("Dibuka"),
    gettext_lazy("Selesai/dibatalkan"),
    gettext_lazy("Alasan pembatalan"),
    gettext_lazy("Waktu baku (menit kerja)"),
    gettext_lazy("Waktu nyata (menit kerja)"),
    gettext_lazy("Langkah tepat waktu"),
    gettext_lazy("Langkah selesai"),
    gettext_lazy("SHA-256 laporan"),
    gettext_lazy("Data langkah"),
]


def _export_rows(runs):
    runs = list(runs[:EXPORT_MAX_ROWS])
    timings = archive.bulk_timings(runs)
    data = archive.run_data_texts(runs)
    for number, run in enumerate(runs, start=1):
        timing = timings[run.pk]
        try:
            digest = run.archived_report.sha256
        except ArchivedReport.DoesNotExist:
            digest = ""
        closed = run.finished_at or run.cancelled_at
        yield [
            number,
            run.title,
            run.unit.short_name,
            run.sop.name,
            run.sop.number,
            run.sop.version,
            run.scheduled_on,
            run.place,
            run.get_status_display(),
            timezone.localtime(run.opened_at).replace(tzinfo=None),
            timezone.localtime(closed).replace(tzinfo=None) if closed else None,
            run.cancel_reason,
            timing.standard_total_minutes,
            round(timing.actual_total_minutes),
            timing.steps_on_time,
            timing.steps_done,
            digest,
            data.get(run.pk, ""),
        ]


def _export(runs, export):
    stamp = timezone.localdate().isoformat()
    header = [str(title) for title in EXPORT_COLUMNS]
    if export == "csv":
        return spreadsheets.csv_response(header, _export_rows(runs), f"arsip-kegiatan-{stamp}.csv")
    return spreadsheets.xlsx_response(
        header, _export_rows(runs), f"arsip-kegiatan-{stamp}.xlsx", _("Arsip kegiatan")
    )


@login_required
@require_safe
def archive_report(request):
    """The period report (laporan arsip) as a PDF; bad dates go back to /arsip/ with a message."""
    units = access.require_units(request.user, "export")
    form = ArchiveFilterForm(request.GET, units=units)
    back = reverse("archive_list") + (
        "?" + _query_without(request, "setelah", "format") if request.GET else ""
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    date_from, date_to = form.cleaned_data["dari"], form.cleaned_data["sampai"]
    if not (date_from and date_to):
        messages.error(request, _("Isi tanggal “dari” dan “sampai” untuk mencetak laporan arsip."))
        return redirect(back)
    sop = form.cleaned_data["sop"]
    try:
        count = archive.period_run_count(units, date_from, date_to, sop=sop)
    except archive.ReportTooLarge as error:
        messages.error(
            request,
            _(
                "Periode ini berisi %(count)s kegiatan selesai; laporan arsip memuat paling "
                "banyak %(limit)s. Persempit periodenya atau pilih satu SOP."
            )
            % {"count": error.count, "limit": archive.ARCHIVE_REPORT_MAX_RUNS},
        )
        return redirect(back)
    if count > archive.ARCHIVE_REPORT_INLINE_MAX_RUNS:
        report, created = period_reports.request_report(
            request.user, units, date_from, date_to, sop=sop, total=count
        )
        if not created:
            messages.info(request, _("Laporan periode ini sudah Anda minta; berikut keadaannya."))
        return redirect(report)
    data = archive.render_archive_report(units, date_from, date_to, sop=sop)
    response = HttpResponse(data, content_type="application/pdf")
    filename = archive.archive_report_filename(date_from, date_to)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _period_report_context(report):
    query = {"dari": report.date_from.isoformat(), "sampai": report.date_to.isoformat()}
    if report.sop_id:
        query["sop"] = report.sop_id
    return {
        "report": report,
        "expired": report.is_expired(),
        "keep_hours": settings.SOPFLOW_PERIOD_REPORT_KEEP_HOURS,
        "again_url": reverse("archive_report") + "?" + urlencode(query),
    }


def _period_report_page(request, pk, template):
    report = access.get_period_report_for_user(request.user, pk)
    response = render(request, template, _period_report_context(report))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def period_report(request, pk):
    """The page of a period report the worker prepares: where it stands, then its download.
    Without JavaScript a reload shows the state; with it the status part polls itself."""
    return _period_report_page(request, pk, "archive/period_report.html")


@login_required
@require_safe
def period_report_status(request, pk):
    """The status part of that page, polled by htmx until the report is ready or failed."""
    return _period_report_page(request, pk, "archive/_period_report_status.html")


@login_required
@require_safe
def period_report_download(request, pk):
    """The PDF of a ready period report, for the user who asked for it only."""
    report = access.get_period_report_for_user(request.user, pk)
    if report.status != PeriodReport.Status.READY or report.is_expired() or not report.file:
        return redirect(report)
    filename = archive.archive_report_filename(report.date_from, report.date_to)
    response = _file_response(
        report.file, content_type="application/pdf", filename=filename, inline=True
    )
    response["Cache-Control"] = "private, no-store"
    return response
