"""Monitoring of an SOP from its runs: the event-log exports for process mining.

Who may see them: `access.get_monitored_sop` (Kepala, TU and the Kasi of the SOP's unit).
"""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_safe

from activities import access, eventlog, spreadsheets
from activities.forms import PeriodForm
from activities.periods import Period

# With no dates given an export holds every run of the SOP.
ALL_TIME = Period(
    datetime.date(PeriodForm.MIN_YEAR, 1, 1), datetime.date(PeriodForm.MAX_YEAR, 12, 31)
)


def _log_request(request, pk):
    sop = access.get_monitored_sop(request.user, pk)
    period = PeriodForm(request.GET or None).period(ALL_TIME)
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
    rows = eventlog.csv_rows(traces)
    header = next(rows)
    return spreadsheets.csv_response(header, rows, _filename(sop, period, "csv"))


@login_required
@require_safe
def log_xes(request, pk):
    """The event log as XES (IEEE 1849-2016), one trace per run."""
    sop, period, traces = _log_request(request, pk)
    response = StreamingHttpResponse(
        eventlog.xes_chunks(traces, sop=sop, period=period),
        content_type="application/xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(sop, period, "xes")}"'
    return response
