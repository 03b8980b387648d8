"""/kinerja/: the e-Kinerja activity list of a month, on screen and as CSV or XLSX."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from activities.documents import spreadsheets
from activities.forms import KinerjaForm
from activities.monitoring import kinerja

COLUMNS = [
    gettext_lazy("Tanggal"),
    gettext_lazy("Jam selesai"),
    gettext_lazy("Pegawai"),
    gettext_lazy("NIP"),
    gettext_lazy("Akun"),
    gettext_lazy("Jabatan"),
    gettext_lazy("Unit kerja"),
    gettext_lazy("Nomor SOP"),
    gettext_lazy("SOP"),
    gettext_lazy("No. kegiatan"),
    gettext_lazy("Judul kegiatan"),
    gettext_lazy("Langkah"),
    gettext_lazy("Putaran"),
    gettext_lazy("Aktivitas"),
    gettext_lazy("Hasil"),
    gettext_lazy("Waktu baku (menit kerja)"),
    gettext_lazy("Waktu nyata (menit kerja)"),
]


def _rows(activities):
    for item in activities:
        yield [
            item.completed_at.date(),
            item.completed_at.strftime("%H:%M"),
            item.person,
            item.nip,
            item.username,
            item.role,
            item.unit,
            item.sop_number,
            item.sop_name,
            item.run_id,
            item.run_title,
            item.step,
            item.round,
            item.activity,
            item.outcome,
            item.standard_minutes,
            item.office_minutes,
        ]


def _chosen(viewer, person):
    if person is None:
        return KinerjaForm.EVERYONE
    return "" if person.pk == viewer.pk else person.pk


@login_required
@require_safe
def kinerja_list(request):
    """A month of completed steps: one's own, or for Kepala and TU everyone of their unit."""
    form = KinerjaForm(
        request.GET or None, viewer=request.user, people=kinerja.people(request.user)
    )
    month, person = form.choice()
    if form.is_bound:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    try:
        activities = kinerja.activities(request.user, month, person=person)
    except kinerja.TooManyRows as error:
        messages.error(
            request,
            _(
                "Bulan ini berisi %(count)s langkah; daftar memuat paling banyak %(limit)s. "
                "Pilih satu pegawai."
            )
            % {"count": error.count, "limit": kinerja.MAX_ROWS},
        )
        activities = []
    export = request.GET.get("format")
    if export in ("csv", "xlsx"):
        who = person.get_username() if person else "unit"
        filename = f"kinerja-{who}-{month:%Y-%m}.{export}"
        header = [str(title) for title in COLUMNS]
        if export == "csv":
            return spreadsheets.csv_response(header, _rows(activities), filename)
        return spreadsheets.xlsx_response(header, _rows(activities), filename, _("Kinerja"))
    context = {
        "form": form,
        "month": month,
        "person": person,
        "activities": activities,
        "standard_total": sum(item.standard_minutes for item in activities),
        "office_total": sum(item.office_minutes for item in activities),
        "standard_total_display": kinerja.total_display(
            activities, lambda item: item.standard_minutes
        ),
        "office_total_display": kinerja.total_display(activities, lambda item: item.office_minutes),
        "query": urlencode({"bulan": f"{month:%Y-%m}", "pegawai": _chosen(request.user, person)}),
    }
    return render(request, "kinerja/list.html", context)
