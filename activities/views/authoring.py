"""SOP authoring: import of documents, the XLSX template, JSON export of a version."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from activities import access, definitions, importers
from activities.sop_forms import ImportForm


def _maintainer_units(user):
    units = access.sop_maintainer_units(user).order_by("name")
    if not units.exists():
        raise PermissionDenied
    return units


@login_required
@require_http_methods(["GET", "POST"])
def sop_import(request):
    """/sop/impor/: a DOCX, XLSX or JSON upload, or pasted text, becomes a new draft."""
    units = _maintainer_units(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, units=units)
    error = None
    if request.method == "POST" and form.is_valid():
        unit = form.cleaned_data["unit"]
        upload = form.cleaned_data["file"]
        try:
            if upload:
                result = importers.import_source(unit, data=upload.read())
            else:
                result = importers.import_source(unit, text=form.cleaned_data["text"])
        except importers.ImportRefused as refused:
            error = str(refused)
        else:
            messages.success(request, _import_message(result))
            return redirect(result.sop.get_absolute_url())
    return render(request, "authoring/import.html", {"form": form, "error": error})


def _import_message(result):
    parts = [
        _("%(sop)s diimpor sebagai draf versi %(version)s; belum berlaku.")
        % {"sop": result.sop.name, "version": result.sop.version}
    ]
    if result.notes:
        parts.append(
            ngettext(
                "%(n)d isian ditandai untuk diperiksa.",
                "%(n)d isian ditandai untuk diperiksa.",
                result.notes,
            )
            % {"n": result.notes}
        )
    if result.new_roles:
        parts.append(
            _("Jabatan baru di unit kerja: %(names)s.") % {"names": ", ".join(result.new_roles)}
        )
    return " ".join(parts)


@login_required
@require_safe
def import_template(request):
    """/sop/impor/template.xlsx?unit=<id>: the blank template with the unit's roles."""
    units = _maintainer_units(request.user)
    unit_id = request.GET.get("unit", "")
    unit = get_object_or_404(units, pk=unit_id) if unit_id.isdigit() else units.first()
    response = HttpResponse(
        importers.template_xlsx(unit),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"template-sop-{slugify(unit.short_name)}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def sop_export_json(request, pk):
    """/sop/<id>/json/: the version as portable JSON (no ids; roles by name in the unit)."""
    sop = access.get_sop_for_user(request.user, pk)
    body = json.dumps(definitions.export_sop(sop), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"sop-{slugify(sop.unit.short_name)}-{slugify(sop.name)[:60]}-v{sop.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
