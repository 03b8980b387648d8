"""One place that answers "may this user see this?" for every view.

Another unit's object is a 404 (its existence is not disclosed); an object of the user's own
unit that his role may not act on is a 403.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404

from activities.models import Role, Run, Sop, Step, StepRun, Unit


def sop_queryset(user):
    steps = Step.objects.prefetch_related("roles").order_by("number")
    return (
        Sop.objects.for_user(user)
        .select_related("unit")
        .prefetch_related(Prefetch("steps", queryset=steps), "sop_items")
    )


def get_sop_for_user(user, pk):
    return get_object_or_404(sop_queryset(user), pk=pk)


def run_queryset(user):
    step_runs = StepRun.objects.select_related("step", "completed_by", "completed_as").order_by(
        "step__number", "round"
    )
    steps = Step.objects.prefetch_related("roles__members").order_by("number")
    return (
        Run.objects.for_user(user)
        .select_related("sop", "unit", "opened_by")
        .prefetch_related(
            Prefetch("step_runs", queryset=step_runs),
            Prefetch("sop__steps", queryset=steps),
            "unit__days_off",
            "unit__special_schedules",
        )
    )


def get_run_for_user(user, pk):
    return get_object_or_404(run_queryset(user), pk=pk)


def archive_units(user):
    """Units whose archive the user may open: where he is Kepala or TU, or all for a superuser."""
    if user.is_superuser:
        return Unit.objects.all()
    return Unit.objects.filter(roles__members=user, roles__kind__in=Role.ARCHIVE_KINDS).distinct()


def require_archive_access(user):
    units = list(archive_units(user))
    if not units:
        raise PermissionDenied
    return units


def monitoring_units(user):
    """Units whose statistics, monitoring, evaluation and event logs the user may see.

    Kepala and TU of the unit, and the holders of step 1 of one of its SOPs (the Kasi who opens
    its runs); every unit for a superuser.
    """
    if user.is_superuser:
        return Unit.objects.all()
    return Unit.objects.filter(
        Q(roles__kind__in=Role.ARCHIVE_KINDS) | Q(roles__steps__number=1),
        roles__members=user,
    ).distinct()


def unit_monitors(unit):
    """The active users who monitor `unit` (the other side of `monitoring_units`)."""
    return (
        get_user_model()
        .objects.filter(
            Q(sop_roles__kind__in=Role.ARCHIVE_KINDS) | Q(sop_roles__steps__number=1),
            sop_roles__unit=unit,
            is_active=True,
        )
        .distinct()
    )


def can_monitor(user, unit):
    return monitoring_units(user).filter(pk=unit.pk).exists()


def get_monitored_sop(user, pk):
    """An SOP of the user's units (404 otherwise) whose monitoring he may see (403 otherwise)."""
    sop = get_sop_for_user(user, pk)
    if not can_monitor(user, sop.unit):
        raise PermissionDenied
    return sop


def sop_maintainer_units(user):
    """Units whose SOPs the user writes: where he holds the records role (tata usaha), or all
    for a superuser. The one gate of the SOP editor, the importers and pengesahan's drafts."""
    if user.is_superuser:
        return Unit.objects.all()
    return Unit.objects.filter(roles__members=user, roles__kind=Role.Kind.RECORDS).distinct()


def may_maintain_sops(user, unit):
    return user.is_superuser or sop_maintainer_units(user).filter(pk=unit.pk).exists()


def may_author_sops(user):
    """Whether the user writes the SOPs of any unit (the library's "SOP baru" and "Impor")."""
    return user.is_superuser or sop_maintainer_units(user).exists()


def get_draft_for_maintainer(user, pk):
    """A draft SOP the user may edit: 404 for another unit, 403 without the records role."""
    sop = get_sop_for_user(user, pk)
    if not may_maintain_sops(user, sop.unit):
        raise PermissionDenied
    return sop
