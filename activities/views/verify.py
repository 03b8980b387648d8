"""The public verification page of archived laporan: no login, rate-limited.

`/verifikasi/<kode>/` says whether an archived document with that code exists and shows what
the document itself prints about it (unit, SOP, title, dates, when archived, SHA-256) and each
of its electronic signatures as the file carries them: the official (name, jabatan, NIP, as the
document prints them), when, valid or not, trusted or not; a demo certificate is shown as a test
certificate, never as a green "asli". Its form takes a PDF and says whether that file is exactly the archived one.
`/verifikasi/` takes a code or a PDF for someone who has no QR scanner.
"""

import hashlib

from django import forms
from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from activities.documents import handover, laporan, signing, verification
from activities.models import ArchivedReport, LaporanSignature


class CodeForm(forms.Form):
    kode = forms.CharField(label=gettext_lazy("Kode verifikasi"), max_length=40)

    def clean_kode(self):
        code = verification.normalize(self.cleaned_data["kode"])
        if not code:
            raise forms.ValidationError(
                _("Kode verifikasi terdiri dari 12 huruf dan angka, mis. 7KQ2-M9XD-4FBR.")
            )
        return code


class UploadForm(forms.Form):
    berkas = forms.FileField(label=gettext_lazy("Berkas PDF laporan"))

    def clean_berkas(self):
        upload = self.cleaned_data["berkas"]
        if upload.size > settings.SOPFLOW_VERIFY_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("Berkas terlalu besar untuk sebuah laporan."))
        digest = hashlib.sha256()
        head = b""
        for chunk in upload.chunks():
            head = head or chunk[:5]
            digest.update(chunk)
        if head != b"%PDF-":
            raise forms.ValidationError(_("Berkas ini bukan PDF."))
        return digest.hexdigest()


def _limited(request):
    """Whether this address has asked too often; counts the request."""
    rate = settings.SOPFLOW_VERIFY_RATE
    if request.method == "POST":
        rate = settings.SOPFLOW_VERIFY_UPLOAD_RATE
    return is_ratelimited(
        request, group="verifikasi", key="ip", rate=rate, method=request.method, increment=True
    )


def _too_many(request):
    response = render(request, "verify/limited.html", status=429)
    response["Retry-After"] = "60"
    return response


def _archived(code):
    return (
        ArchivedReport.objects.select_related("run__sop", "run__unit")
        .filter(code=code, run__status="finished")
        .first()
    )


def _signatures(report):
    """Each signature of the stored file as the verifier reads it, beside the official the
    record names for it (pelapor, mengetahui; the office seal has none)."""
    try:
        with report.file.open("rb") as handle:
            check = signing.verify_signature(handle.read())
    except OSError:
        return None, []
    records = list(
        LaporanSignature.objects.filter(laporan__run_id=report.run_id)
        .select_related("pegawai")
        .order_by("position")
    )
    rows = []
    for index, info in enumerate(check.signatures):
        record = records[index] if index < len(records) else None
        rows.append({"info": info, "record": record})
    return check, rows


def _stored_file_matches(report):
    try:
        digest, size = laporan.file_digest(report)
    except OSError:
        return False
    return digest == report.sha256 and size == report.size


@require_http_methods(["GET", "HEAD", "POST"])
def verify_index(request):
    """Enter a code, or upload a PDF to find the archived document it is."""
    if _limited(request):
        return _too_many(request)
    code_form = CodeForm(request.GET or None)
    if code_form.is_valid():
        return redirect("verify_document", verification.grouped(code_form.cleaned_data["kode"]))
    upload_form = UploadForm(request.POST or None, request.FILES or None)
    match = checked = None
    if request.method == "POST" and upload_form.is_valid():
        checked = upload_form.cleaned_data["berkas"]
        match = _archived_by_hash(checked)
    return render(
        request,
        "verify/index.html",
        {"code_form": code_form, "upload_form": upload_form, "checked": checked, "match": match},
    )


def _archived_by_hash(digest):
    report = (
        ArchivedReport.objects.select_related("run__sop", "run__unit")
        .filter(sha256=digest, run__status="finished")
        .first()
    )
    return report


@require_http_methods(["GET", "HEAD", "POST"])
def verify_document(request, code):
    """One archived document by its code: genuine or unknown; a PDF can be checked against it."""
    if _limited(request):
        return _too_many(request)
    normalized = verification.normalize(code)
    report = _archived(normalized) if normalized else None
    upload_form = UploadForm(request.POST or None, request.FILES or None)
    upload = None
    if report is not None and request.method == "POST" and upload_form.is_valid():
        upload = {"sha256": upload_form.cleaned_data["berkas"]}
        upload["matches"] = upload["sha256"] == report.sha256
    check, signatures = _signatures(report) if report is not None else (None, [])
    context = {
        "check": check,
        "signatures": signatures,
        "demo": bool(check and check.demo),
        "code": verification.grouped(normalized) if normalized else code[:40],
        "report": report,
        "intact": report is not None and _stored_file_matches(report),
        "signed": bool(report and report.signed_by),
        "agenda": handover.srikandi_agenda(report.run) if report is not None else None,
        "upload_form": upload_form,
        "upload": upload,
    }
    status = 200 if report is not None else 404
    return render(request, "verify/document.html", context, status=status)
