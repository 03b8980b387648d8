"""The officials sign a finished run's laporan with their own TTE (Tugas → “Tandatangani”).

The passphrase or TOTP is a POST field marked sensitive (left out of error reports), passed to
the signing service within the request and never stored, logged or queued."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from activities.core import policy
from activities.core.errors import Forbidden, Invalid, Stale
from activities.documents import laporan, laporan_tte, register, tte
from activities.models import SignedLaporan


class SignForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Dengan"),
        choices=[
            (tte.Credential.PASSPHRASE, gettext_lazy("Passphrase")),
            (tte.Credential.TOTP, gettext_lazy("Kode TOTP")),
        ],
        initial=tte.Credential.PASSPHRASE,
    )
    secret = forms.CharField(
        label=gettext_lazy("Passphrase atau kode TOTP"),
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


def _signable(request, pk):
    run = get_object_or_404(policy.visible_runs(request.user).select_related("sop", "unit"), pk=pk)
    signed = (
        SignedLaporan.objects.filter(run=run).select_related("reporter", "acknowledger").first()
    )
    actor = policy.laporan_signer(request.user, run, signed)
    return run, signed, actor


@login_required
@sensitive_post_parameters("secret")
@sensitive_variables("form", "credential")
@require_http_methods(["GET", "HEAD", "POST"])
def laporan_sign(request, pk):
    """The document to sign and the passphrase form; POST signs it (one call to the service)."""
    run, signed, actor = _signable(request, pk)
    if actor is None or not laporan_tte.enabled():
        raise PermissionDenied(_("Laporan ini tidak menunggu tanda tangan Anda."))
    form = SignForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        credential = tte.Credential(form.cleaned_data["kind"], form.cleaned_data["secret"])
        try:
            laporan_tte.sign(run_id=run.pk, user=request.user, credential=credential)
        except tte.OutcomeUnknown as error:
            form.add_error(
                None,
                error.message
                + " "
                + _(
                    "Dokumen yang tersimpan sudah diperiksa: tanda tangan Anda belum ada di "
                    "dalamnya. Periksa koneksi, lalu tandatangani lagi bila perlu."
                ),
            )
            status = 504
        except tte.TteError as error:
            form.add_error(
                "secret" if isinstance(error, tte.WrongCredential) else None, error.message
            )
            status = 400
        except Forbidden as error:
            raise PermissionDenied(str(error)) from error
        except (Invalid, Stale) as error:
            form.add_error(None, str(error))
            status = 409 if isinstance(error, Stale) else 400
        else:
            messages.success(request, _("Laporan sudah Anda tandatangani secara elektronik."))
            return redirect("inbox")
    context = {
        "run": run,
        "signed": signed,
        "actor": actor,
        "form": form,
        "blocks": laporan_tte.blocks(signed) if signed else [],
    }
    return render(request, "runs/laporan_sign.html", context, status=status)


@login_required
@require_safe
def laporan_sign_document(request, pk):
    """The document as it will be signed: the stored, partly signed file, or the final laporan
    as rendered now (its signature blocks are fixed at the first signature)."""
    run, signed, actor = _signable(request, pk)
    if actor is None:
        raise PermissionDenied(_("Laporan ini tidak menunggu tanda tangan Anda."))
    data = laporan_tte.pending_document(run)
    if data is None:
        # Numbered only if an earlier attempt took its number: the first signature takes it.
        data = laporan.render_run_report(run.pk, naskah=register.naskah_taken(run))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="laporan-kegiatan-{run.pk}-ttd.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def awaiting(user):
    return policy.laporan_awaiting_signature(user) if laporan_tte.enabled() else []
