"""/pegawai/impor/: the administrator uploads a SIMPEG CSV export; the worker checks and
imports it (all rows or none) while the page shows its progress."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from activities.core import pegawai, policy
from activities.models import PegawaiImport


class ImportForm(forms.Form):
    berkas = forms.FileField(
        label=gettext_lazy("Berkas CSV dari SIMPEG"),
        help_text=gettext_lazy(
            "Kolom: nip, nama, gelar_depan, gelar_belakang, pangkat, jabatan, nik, email, "
            "username (akun sopflow, boleh kosong). Pemisah titik koma atau koma, UTF-8."
        ),
    )

    def clean_berkas(self):
        upload = self.cleaned_data["berkas"]
        if upload.size > pegawai.MAX_BYTES:
            raise forms.ValidationError(_("Berkas terlalu besar untuk data pegawai (maks. 5 MB)."))
        head = next(upload.chunks(), b"")[:4096]
        if b"\0" in head:
            raise forms.ValidationError(_("Berkas ini bukan CSV."))
        upload.seek(0)
        return upload


def _require(user):
    if not policy.can_import_people(user):
        raise PermissionDenied(_("Hanya administrator yang mengimpor data pegawai."))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pegawai_import(request):
    _require(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = pegawai.request_import(request.user, form.cleaned_data["berkas"])
        return redirect("pegawai_import_detail", job.pk)
    recent = PegawaiImport.objects.filter(requested_by=request.user)[:10]
    return render(request, "people/import.html", {"form": form, "recent": recent})


def _job_page(request, pk, template):
    _require(request.user)
    job = get_object_or_404(PegawaiImport, pk=pk)
    response = render(request, template, {"job": job})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def pegawai_import_detail(request, pk):
    return _job_page(request, pk, "people/import_detail.html")


@login_required
@require_safe
def pegawai_import_status(request, pk):
    """The status part of that page, polled by htmx until the import is over."""
    return _job_page(request, pk, "people/_import_status.html")
