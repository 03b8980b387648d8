"""Fetching what a view shows, through `activities.core.policy`: another unit's object is a 404
(its existence is not disclosed), a capability the user's roles lack is a 403.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from activities.core import policy
from activities.models import PeriodReport, Role, Step, StepRun, StepSignOff


def sop_queryset(user):
    steps = Step.objects.prefetch_related("roles").order_by("number")
    return (
        policy.visible_sops(user)
        .select_related("unit")
        .prefetch_related(Prefetch("steps", queryset=steps), "sop_items")
    )


def get_sop_for_user(user, pk):
    return get_object_or_404(sop_queryset(user), pk=pk)


def run_queryset(user):
    """The runs `user` may see, each with its SOP version and unit."""
    return policy.visible_runs(user).select_related("sop", "unit")


def read_rounds(run):
    """(steps by number, rounds) of `run`: its rounds in step order, each with its performer
    and role and sharing one `Step` per step, which carries its roles; and each round's
    sign-offs (`attach_sign_offs`). Every step of the SOP has a round from the run's opening on
    (`workflow.open_run`; a version with runs is frozen), so the rounds name the steps too.

    Two queries, three once a joint step has begun; the roles are read once for each step,
    not for each of its rounds, and the roles the performers acted as are taken from them.
    """
    rounds = list(
        run.step_runs.select_related("step", "completed_by").order_by("step__number", "round")
    )
    steps = {}
    for step_run in rounds:
        step_run.step = steps.setdefault(step_run.step.number, step_run.step)
    Step.read_roles(steps.values())
    roles = {role.pk: role for step in steps.values() for role in step.roles.all()}
    _give_roles(rounds, "completed_as", roles)
    attach_sign_offs(rounds, roles)
    return steps, rounds


def _give_roles(rows, name, roles):
    """Set each row's role `name` from `roles` (by id), the steps' roles already read: a
    performer acts as one of his step's roles. One query for any other (none as a rule)."""
    attname = f"{name}_id"
    missing = {getattr(row, attname) for row in rows} - roles.keys() - {None}
    if missing:
        roles = {**roles, **Role.objects.in_bulk(missing)}
    for row in rows:
        role_id = getattr(row, attname)
        if role_id is not None:
            setattr(row, name, roles[role_id])


def attach_sign_offs(step_runs, roles):
    """Give every round `parts`: the sign-offs of a joint step's round (each performer's part,
    oldest first), [] for other rounds; one query, and none while no joint step has begun.
    `roles`: the steps' roles by id (a part's role is among them)."""
    joint = {
        step_run.pk: step_run
        for step_run in step_runs
        if step_run.step.is_joint and step_run.state != StepRun.State.WAITING
    }
    found = {}
    if joint:
        sign_offs = list(
            StepSignOff.objects.filter(step_run__in=joint)
            .select_related("user")
            .order_by("entered_at", "id")
        )
        _give_roles(sign_offs, "role", roles)
        for sign_off in sign_offs:
            # Its round as read already, with the run and its SOP: `performed_as` reads them.
            sign_off.step_run = joint[sign_off.step_run_id]
            found.setdefault(sign_off.step_run_id, []).append(sign_off)
    for step_run in step_runs:
        step_run.parts = found.get(step_run.pk, [])
    return step_runs


def get_run_for_user(user, pk):
    return get_object_or_404(run_queryset(user), pk=pk)


def require_units(user, capability):
    """The units where `user` has `capability` (a `policy.ROLE_FLAGS` name); 403 if none."""
    units = list(policy.units_where(user, capability))
    if not units:
        raise PermissionDenied
    return units


def require_archive_access(user):
    return require_units(user, "see_archive")


def get_period_report_for_user(user, pk):
    """A period report the user asked for himself: anybody else's is a 404, whatever unit he
    works in; a 403 once he may no longer export the archive of each of its units."""
    report = get_object_or_404(
        PeriodReport.objects.select_related("sop"), pk=pk, requested_by_id=user.pk
    )
    unit_ids = [int(part) for part in report.unit_ids.split(",") if part]
    if not unit_ids or not all(policy.has(user, "export", unit_id) for unit_id in unit_ids):
        raise PermissionDenied
    return report


def monitoring_units(user):
    """Units whose statistics, monitoring, evaluation and event logs the user may see: those
    where one of his roles has "see_statistics" (every unit for a superuser)."""
    return policy.units_where(user, "see_statistics")


def unit_monitors(unit):
    """The active users who monitor `unit` (the other side of `monitoring_units`)."""
    flag = policy.ROLE_FLAGS["see_statistics"]
    roles = Role.objects.filter(unit=unit, **{flag: True})
    return get_user_model().objects.filter(sop_roles__in=roles, is_active=True).distinct()


def can_monitor(user, unit):
    return policy.has(user, "see_statistics", unit.pk)


def get_monitored_sop(user, pk):
    """An SOP of the user's units (404 otherwise) whose monitoring he may see (403 otherwise)."""
    sop = get_sop_for_user(user, pk)
    if not can_monitor(user, sop.unit):
        raise PermissionDenied
    return sop


def sop_maintainer_units(user):
    """Units whose SOPs the user writes (`policy`, "maintain_sops"). The one gate of the SOP
    editor, the importers and pengesahan's drafts."""
    return policy.units_where(user, "maintain_sops")


def may_maintain_sops(user, unit):
    return policy.has(user, "maintain_sops", unit.pk)


def may_author_sops(user):
    """Whether the user writes the SOPs of any unit (the library's "SOP baru" and "Impor")."""
    return user.is_superuser or sop_maintainer_units(user).exists()


def get_draft_for_maintainer(user, pk):
    """A draft SOP the user may edit: 404 for another unit, 403 without "maintain_sops"."""
    sop = get_sop_for_user(user, pk)
    if not may_maintain_sops(user, sop.unit):
        raise PermissionDenied
    return sop
