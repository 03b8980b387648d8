"""SOP authoring: the editor of a draft, import of documents, the XLSX template, JSON export."""

import json
import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from activities.authoring import definitions, editor, importers, lifecycle, pengesahan
from activities.authoring.forms import (
    ImportForm,
    NewRoleForm,
    NewSopForm,
    SopIdentityForm,
    StepFormSet,
)
from activities.core import access, errors, policy
from activities.models import Role, Sop, SopItem


def _maintainer_units(user):
    units = access.sop_maintainer_units(user).order_by("name")
    if not units.exists():
        raise PermissionDenied
    return units


# An upload waiting for the answer to "replace the open draft or add a version?". Not in a
# hidden field: a file may have 5 MB (MAX_BYTES) while a POST's fields are held to
# DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB). Not in the session: every request reads the session and
# IdleSessionMiddleware saves it every minute. The shared cache (a database table, so every
# worker sees it) keeps it for an hour under the user's id and a random token the question
# carries; only an upload the importer already accepted, so within its size limits, is kept.
_PENDING_SECONDS = 3600
_PENDING_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
REPLACE, AS_NEW = "ganti", "baru"


def _pending_key(user, token):
    return f"sop-import:{user.pk}:{token}"


@login_required
@require_http_methods(["GET", "POST"])
def sop_import(request):
    """/sop/impor/: a DOCX, XLSX or JSON upload, or pasted text, becomes a draft.

    When the SOP already has an open draft, the page asks whether to replace it or to add a
    version, and writes nothing until the answer (`_answer_pending`)."""
    units = _maintainer_units(request.user)
    if request.method == "POST" and "pending" in request.POST:
        return _answer_pending(request, units)
    form = ImportForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        source = {"data": upload.read()} if upload else {"text": form.cleaned_data["text"]}
        return _import(request, form, form.cleaned_data["unit"], source)
    return render(request, "authoring/import.html", {"form": form})


def _import(request, form, unit, source, **choice):
    try:
        result = importers.import_source(unit, **source, **choice)
    except importers.ImportRefused as refused:
        return render(request, "authoring/import.html", {"form": form, "error": str(refused)})
    except importers.DraftExists as exists:
        token = secrets.token_urlsafe(24)
        pending = {"unit": unit.pk, "draft": exists.draft.pk, **source}
        cache.set(_pending_key(request.user, token), pending, _PENDING_SECONDS)
        context = {"form": form, "pending": token, "draft": exists.draft}
        return render(request, "authoring/import.html", context)
    messages.success(request, _import_message(result))
    return redirect("sop_edit", pk=result.sop.pk)


def _answer_pending(request, units):
    """The answer to the question: "ganti" writes the kept upload over the draft, "baru" adds
    a version; anything else asks again."""
    token = request.POST["pending"]
    key = _pending_key(request.user, token) if _PENDING_TOKEN.fullmatch(token) else None
    pending = cache.get(key) if key else None
    form = ImportForm(units=units)
    if pending is None:
        error = _("Berkas yang diunggah tadi sudah tidak tersimpan; unggah lagi.")
        return render(request, "authoring/import.html", {"form": form, "error": error})
    unit = units.filter(pk=pending["unit"]).first()
    if unit is None:
        raise PermissionDenied
    answer = request.POST.get("choice")
    if answer not in (REPLACE, AS_NEW):
        draft = get_object_or_404(Sop, pk=pending["draft"])
        context = {"form": form, "pending": token, "draft": draft}
        context["error"] = _("Pilih ganti draf atau simpan sebagai draf baru.")
        return render(request, "authoring/import.html", context)
    cache.delete(key)
    source = {name: pending[name] for name in ("data", "text") if name in pending}
    choice = {"replace": pending["draft"]} if answer == REPLACE else {"as_new": True}
    return _import(request, form, unit, source, **choice)


def _import_message(result):
    if result.replaced:
        text = _("Draf versi %(version)s dari %(sop)s diganti dengan isi berkas; belum berlaku.")
    else:
        text = _("%(sop)s diimpor sebagai draf versi %(version)s; belum berlaku.")
    parts = [text % {"sop": result.sop.name, "version": result.sop.version}]
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
            _("Jabatan baru diusulkan (dibuat di unit kerja saat draf disahkan): %(names)s.")
            % {"names": ", ".join(result.new_roles)}
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


# The editor -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sop_create(request):
    """/sop/baru/: a new SOP starts as an empty draft (version 1) in one of the user's units."""
    units = _maintainer_units(request.user)
    form = NewSopForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        sop = Sop.objects.create(
            unit=form.cleaned_data["unit"],
            name=form.cleaned_data["name"],
            number=form.cleaned_data["number"],
            approver_title=form.cleaned_data["unit"].head_title,
            approver_name=form.cleaned_data["unit"].head_name,
            approver_rank=form.cleaned_data["unit"].head_rank,
            approver_nip=form.cleaned_data["unit"].head_nip,
        )
        return redirect("sop_edit", pk=sop.pk)
    return render(request, "authoring/new.html", {"form": form})


def _editor_forms(request, sop):
    roles = editor.role_choices(sop)
    if request.method == "POST":
        identity = SopIdentityForm(request.POST, instance=sop)
        steps = StepFormSet(request.POST, prefix="steps", roles=roles)
    else:
        identity = SopIdentityForm(instance=sop)
        steps = StepFormSet(initial=editor.initial_rows(sop), prefix="steps", roles=roles)
    return identity, steps, NewRoleForm(request.POST or None)


def _render_editor(request, sop, identity, steps, new_role, general=(), status=200):
    roles = list(editor.role_choices(sop))
    values = editor.identity_values(sop, identity)
    document, shown = editor.preview(sop, values, editor.raw_rows(steps), roles)
    notes = {}
    sop_notes = []
    where = dict(SopItem.Section.choices)
    for note in sop.review_notes.all():
        if note.step_id is None:
            key = note.field.removeprefix("section:")
            if key in where:
                note.where = where[key]
            elif key in {f.name for f in Sop._meta.fields}:
                note.where = Sop._meta.get_field(key).verbose_name
            sop_notes.append(note)
        else:
            notes.setdefault(note.step_id, []).append(note)
    rows = []
    for index, form in enumerate(steps.forms):
        step_id = editor._int(form["id"].value())
        row_notes = notes.get(step_id, [])
        behaviour = editor.behaviour_fields(form)
        rows.append(
            {
                "form": form,
                "index": index,
                "notes": row_notes,
                "noted": {n.field for n in row_notes},
                "behaviour": behaviour,
                "behaviour_errors": any(field.errors for field in behaviour),
            }
        )
    errors = list(general) + list(steps.non_form_errors())
    cell_errors = sum(len(e) for f in steps.forms for e in f.errors.values())
    return render(
        request,
        "authoring/edit.html",
        {
            "sop": sop,
            "identity": identity,
            "steps": steps,
            "rows": rows,
            "new_role": new_role,
            "errors": errors,
            "cell_errors": cell_errors,
            "sop_notes": sop_notes,
            "doc": document,
            "shown": shown,
            "roles": roles,
            "returned": sop.acts.filter(kind="returned").select_related("actor").last(),
        },
        status=status,
    )


def _add_role(sop, new_role):
    """A role of the SOP's unit added from the editor; returns an error message or None."""
    if not new_role.is_valid():
        return _("Nama jabatan baru tidak sah.")
    name = " ".join(new_role.cleaned_data["new_role_name"].split())
    if not name:
        return _("Tulis nama jabatan baru lebih dulu.")
    if sop.unit.roles.filter(name__iexact=name).exists():
        return _("Jabatan “%(name)s” sudah ada di unit ini.") % {"name": name}
    position = max((role.position for role in sop.unit.roles.all()), default=0) + 1
    Role.objects.create(
        unit=sop.unit,
        name=name,
        kind=new_role.cleaned_data["new_role_kind"] or Role.Kind.MEMBER,
        position=position,
    )
    return None


@login_required
@require_http_methods(["GET", "POST"])
def sop_edit(request, pk):
    """/sop/<id>/ubah/: the editor of a draft version.

    POST actions: "simpan" saves; "add[-N]", "up-N", "down-N" rearrange the rows and
    "tambah-jabatan" adds a role to the unit, each showing the input again without saving it.
    """
    sop = access.get_draft_for_maintainer(request.user, pk)
    if sop.status != Sop.Status.DRAFT:
        messages.info(
            request, _("Hanya draf yang dapat diubah. Buat revisi untuk mengubah SOP ini.")
        )
        return redirect(sop.get_absolute_url())
    identity, steps, new_role = _editor_forms(request, sop)
    if request.method == "GET":
        return _render_editor(request, sop, identity, steps, new_role)
    action = request.POST.get("action", "simpan")
    if action == "tambah-jabatan":
        problem = _add_role(sop, new_role)
        if problem:
            messages.error(request, problem)
        else:
            messages.success(request, _("Jabatan ditambahkan ke unit kerja."))
            new_role = NewRoleForm()
        action = "refresh"
    if action != "simpan":
        rows = editor.rearranged(editor.raw_rows(steps), action)
        steps = StepFormSet(initial=rows, prefix="steps", roles=editor.role_choices(sop))
        return _render_editor(request, sop, identity, steps, new_role)
    if not steps.management_form.is_valid():
        return HttpResponse(status=400)
    steps = StepFormSet(editor.settled(steps), prefix="steps", roles=editor.role_choices(sop))
    identity_ok = identity.is_valid()
    steps.is_valid()
    # The table's rules run even while some cells are wrong, so every error shows at once.
    general = editor.check_table(sop.unit, steps)
    if identity_ok and not general and steps.is_valid():
        try:
            editor.save_draft(sop, identity, steps, _confirmed_notes(request))
        except editor.DraftChanged as error:
            messages.error(request, error.message)
            return redirect(sop.get_absolute_url())
        messages.success(request, _("Draf disimpan."))
        return redirect("sop_edit", pk=sop.pk)
    return _render_editor(request, sop, identity, steps, new_role, general, status=200)


def _confirmed_notes(request):
    return [int(pk) for pk in request.POST.getlist("confirm_note") if pk.isdigit() and len(pk) < 12]


@login_required
@require_http_methods(["POST"])
def sop_preview(request, pk):
    """The matrix of the editor's input as it stands (htmx), saved or not."""
    sop = access.get_draft_for_maintainer(request.user, pk)
    identity = SopIdentityForm(request.POST, instance=sop)
    steps = StepFormSet(request.POST, prefix="steps", roles=editor.role_choices(sop))
    if not steps.management_form.is_valid():
        return HttpResponse(status=400)
    values = editor.identity_values(sop, identity)
    document, shown = editor.preview(
        sop, values, editor.raw_rows(steps), list(editor.role_choices(sop))
    )
    return render(request, "authoring/_preview.html", {"doc": document, "sop": shown})


@login_required
@require_http_methods(["POST"])
def sop_revise(request, pk):
    """A new draft version copied from this one, opened in the editor."""
    sop = access.get_sop_for_user(request.user, pk)
    if not access.may_maintain_sops(request.user, sop.unit):
        raise PermissionDenied
    draft = sop.unit.sops.filter(name=sop.name, status=Sop.Status.DRAFT).first()
    if draft is None:
        try:
            draft = lifecycle.copy_as_revision(sop, user=request.user)
        except errors.Forbidden:
            raise PermissionDenied from None
        except errors.WorkflowError as error:
            messages.error(request, error.message)
            return redirect(sop)
        messages.success(
            request, _("Revisi dibuat sebagai draf versi %(v)s.") % {"v": draft.version}
        )
    else:
        messages.info(
            request, _("Draf versi %(v)s sudah ada; lanjutkan di sana.") % {"v": draft.version}
        )
    return redirect("sop_edit", pk=draft.pk)


# Pengesahan -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["POST"])
def sop_submit(request, pk):
    """A draft goes to the unit's pimpinan for pengesahan."""
    sop = access.get_draft_for_maintainer(request.user, pk)
    try:
        pengesahan.submit(sop, request.user)
    except errors.Forbidden:
        raise PermissionDenied from None
    except errors.WorkflowError as error:
        messages.error(request, _("Belum dapat diajukan: %(why)s") % {"why": error.message})
        return redirect("sop_edit", pk=sop.pk) if sop.status == Sop.Status.DRAFT else redirect(sop)
    messages.success(request, _("SOP diajukan untuk disahkan pimpinan unit."))
    return redirect(sop)


@login_required
@require_http_methods(["GET", "POST"])
def sop_pengesahan(request, pk):
    """/sop/<id>/pengesahan/: the pimpinan reads the changes and approves or returns the draft.

    A refusal by role is a 403; a version whose status changed meanwhile is the page again
    with the message (409); a missing note is the form's message.
    """
    sop = access.get_sop_for_user(request.user, pk)
    if not policy.can_approve_sop(request.user, sop):
        raise PermissionDenied
    error, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "sahkan":
                pengesahan.approve(sop, request.user)
                messages.success(
                    request,
                    _(
                        "SOP disahkan dan berlaku mulai hari ini. Versi sebelumnya tidak berlaku lagi."
                    ),
                )
                return redirect(sop)
            if action == "kembalikan":
                pengesahan.return_for_fix(sop, request.user, request.POST.get("notes", "")[:5000])
                messages.success(request, _("SOP dikembalikan kepada penyusun dengan catatan."))
                return redirect("inbox")
            error = _("Pilih sahkan atau kembalikan.")
        except errors.Forbidden:
            raise PermissionDenied from None
        except errors.NotFound as refused:
            raise Http404(refused.message) from None
        except errors.WorkflowError as refused:
            error = refused.message
            if isinstance(refused, errors.Stale):
                status = 409
                sop.refresh_from_db()
    context = {
        "sop": sop,
        "diff": pengesahan.diff(sop),
        "own_draft": policy.own_draft_notice(request.user, pengesahan.submitted_by(sop)),
        "acts": sop.acts.select_related("actor"),
        "error": error,
        "notes": request.POST.get("notes", "") if request.method == "POST" else "",
    }
    return render(request, "authoring/pengesahan.html", context, status=status)
