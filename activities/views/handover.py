"""The naskah of a run: its kode klasifikasi before archiving, and the handover of the archived
laporan to SRIKANDI (the package, the agenda number typed back)."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from activities.core import access, events, policy
from activities.documents import handover as handovers
from activities.documents import register
from activities.models import ArchivedReport, Event, Klasifikasi

NOT_CHANGEABLE = gettext_lazy(
    "Kode klasifikasi tidak dapat diubah: nomor naskahnya sudah tercetak pada laporan yang "
    "ditandatangani atau diarsipkan."
)


@dataclass
class NaskahPanel:
    """What the run page shows of the run's naskah, and which forms."""

    archived: ArchivedReport | None
    # The number printed on the laporan its officials are signing, before it is archived.
    signing_nomor: str
    klasifikasi: Klasifikasi | None
    may_classify: bool
    may_hand_over: bool
    agenda: Event | None
    choices: list


def naskah_panel(user, run):
    archived = getattr(run, "archived_report", None)
    # The run page reads both with the run (select_related).
    signing = None if archived else getattr(run, "signed_laporan", None)
    may_classify = policy.can_classify(user, run, archived is not None or signing is not None)
    klasifikasi, choices = None, []
    # The code is shown while the laporan is being signed or can still be changed.
    if archived is None and (signing is not None or may_classify):
        choices = register.read_klasifikasi(run, choices=may_classify)
        klasifikasi = register.klasifikasi_of(run)
    return NaskahPanel(
        archived=archived,
        signing_nomor=signing.nomor if signing else "",
        klasifikasi=klasifikasi,
        may_classify=may_classify,
        may_hand_over=archived is not None and policy.can_hand_over(user, run),
        agenda=handovers.srikandi_agenda(run) if archived is not None else None,
        choices=choices,
    )


def _archived_for(user, pk):
    run = access.get_run_for_user(user, pk)
    if not policy.can_hand_over(user, run):
        raise PermissionDenied
    report = ArchivedReport.objects.filter(run=run).select_related("run__sop", "run__unit").first()
    if report is None:
        raise Http404(_("Laporan kegiatan ini belum diarsipkan."))
    return run, report


@login_required
@require_safe
def handover_package(request, pk):
    """The SRIKANDI package of an archived laporan (zip: the PDF/A laporan, metadata CSV and
    JSON); each download is recorded."""
    run, report = _archived_for(request.user, pk)
    package = handovers.handover().package(report)
    events.record(
        Event.Kind.HANDOVER_PACKAGED,
        run=run,
        actor=policy.archivist(request.user, run),
        after={"file": package.filename, "nomor": report.nomor, "sha256": report.sha256},
    )
    response = HttpResponse(package.data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def handover_register(request, pk):
    """TU records the agenda number SRIKANDI gave the laporan."""
    run, report = _archived_for(request.user, pk)
    try:
        handovers.handover().registered(
            report,
            request.POST.get("agenda", ""),
            actor=policy.archivist(request.user, run),
            now=timezone.now(),
        )
    except handovers.HandoverError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Nomor agenda SRIKANDI dicatat."))
    return redirect("run_detail", pk=run.pk)


@login_required
@require_POST
def run_klasifikasi(request, pk):
    """Change the kode klasifikasi a run's laporan will be numbered under, before archiving."""
    run = access.get_run_for_user(request.user, pk)
    if policy.archivist(request.user, run) is None:
        raise PermissionDenied
    if not policy.can_classify(request.user, run, register.printed(run.pk)):
        messages.error(request, NOT_CHANGEABLE)
        return redirect("run_detail", pk=run.pk)
    raw = request.POST.get("klasifikasi", "")
    klasifikasi = None
    if raw:
        klasifikasi = Klasifikasi.objects.filter(
            active=True, pk=raw if raw.isdigit() else 0
        ).first()
        if klasifikasi is None:
            messages.error(request, _("Pilih kode klasifikasi dari daftar."))
            return redirect("run_detail", pk=run.pk)
    try:
        changed = register.set_klasifikasi(
            run.pk, klasifikasi, actor=policy.archivist(request.user, run)
        )
    except register.NotChangeable:
        messages.error(request, NOT_CHANGEABLE)
    else:
        if changed:
            messages.success(request, _("Kode klasifikasi kegiatan diubah."))
    return redirect("run_detail", pk=run.pk)
