"""/delegasi/: a unit's head (a role that appoints acting officials) appoints a Plt./Plh.

The rules (no overlap, no past range, not oneself, the same unit) are `activities.core.acting`'s;
this view shows the unit's appointments and hands the form to it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from activities.core import access, acting, errors
from activities.forms import ActingAppointmentForm
from activities.models import ActingAppointment, Role

LIST_LIMIT = 100


def _form(request, unit_ids, today):
    roles = Role.objects.live().filter(unit_id__in=unit_ids).select_related("unit")
    start, end = acting.default_range(today)
    # The usual case: a Plh. for the head, who is away.
    head = roles.filter(kind=Role.Kind.HEAD).order_by("unit__name", "position").first()
    return ActingAppointmentForm(
        request.POST if request.method == "POST" else None,
        roles=roles,
        people=acting.candidates(unit_ids),
        initial={
            "role": head.pk if head else None,
            "start_date": start,
            "end_date": end,
            "letter_date": today,
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def appointment_list(request):
    """The appointments of the units where the user appoints acting officials, and the form."""
    units = access.require_units(request.user, "appoint_acting")
    unit_ids = [unit.pk for unit in units]
    today = timezone.localdate()
    form = _form(request, unit_ids, today)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = acting.appoint(user=request.user, **data)
        except errors.Forbidden:
            raise PermissionDenied from None
        except errors.WorkflowError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("%(person)s ditunjuk sebagai %(title)s, %(start)s – %(end)s.")
                % {
                    "person": appointment.person.get_full_name()
                    or appointment.person.get_username(),
                    "title": appointment.title,
                    "start": acting.day_display(appointment.start_date),
                    "end": acting.day_display(appointment.end_date),
                },
            )
            return redirect("appointment_list")
    appointments = list(
        ActingAppointment.objects.filter(unit_id__in=unit_ids)
        .select_related("role", "person", "appointed_by", "unit")
        .order_by("-end_date", "-id")[:LIST_LIMIT]
    )
    for appointment in appointments:
        appointment.in_force = (
            appointment.ended_at is None and appointment.start_date <= today <= appointment.end_date
        )
        appointment.may_end = appointment.ended_at is None and appointment.end_date >= today
    context = {"form": form, "appointments": appointments, "units": units, "today": today}
    return render(request, "acting/list.html", context)


@login_required
@require_POST
def appointment_end(request, pk):
    units = access.require_units(request.user, "appoint_acting")
    appointment = get_object_or_404(
        ActingAppointment.objects.filter(unit__in=units).select_related("role", "person"), pk=pk
    )
    try:
        acting.end(appointment, user=request.user)
    except errors.Forbidden:
        raise PermissionDenied from None
    except errors.WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Penunjukan %(title)s (%(person)s) diakhiri hari ini.")
            % {
                "title": appointment.title,
                "person": appointment.person.get_full_name() or appointment.person.get_username(),
            },
        )
    return redirect("appointment_list")
