"""The life of an SOP version: activate, retire, copy as a revision.

Each service runs in one transaction: it locks the versions of the SOP (every version with the
same unit and name, so two activations cannot both win), checks who may do it
(`policy`, "maintain_sops") and the step-table rules (`definitions.check_steps`), writes the
change and records an `Event`. The admin's actions and the SOP editor only call these.

`put_in_force` is the one way a version comes into force, whether the admin activates it or
the unit's pimpinan approves it (`pengesahan.approve`, which checks "approve_sops" instead).
"""

from collections.abc import Mapping

from django.db import OperationalError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from simple_history.utils import bulk_create_with_history

from activities.authoring import steps
from activities.authoring.definitions import RuleError, check_steps, saved_specs
from activities.core import events, locking, policy
from activities.core.errors import Forbidden, Invalid, NotFound
from activities.models import Event, Role, Sop, SopItem, Step


def _maintainer(user, sop):
    actor = policy.unit_actor(user, "maintain_sops", sop.unit_id, policy.fresh_subject(user))
    if actor is None:
        raise Forbidden(_("Jabatan Anda tidak berwenang mengubah SOP unit ini."))
    return actor


def lock_family(sop):
    """Lock every version of the SOP, in id order; returns {pk: Sop} read under the lock."""
    versions = Sop.objects.select_for_update().filter(unit_id=sop.unit_id, name=sop.name)
    try:
        locked = {version.pk: version for version in versions.order_by("pk")}
    except OperationalError as error:
        if locking.lock_timed_out(error):
            raise locking.busy() from None
        raise
    if sop.pk not in locked:
        raise NotFound(_("SOP ini tidak ditemukan lagi."))
    return locked


def step_table_errors(sop: Sop) -> list[RuleError]:
    """The step-table rules an SOP version breaks (empty when it is sound)."""
    return check_steps(sop.unit_id, saved_specs(sop))


@transaction.atomic
def activate(sop, *, user, now=None):
    """Put a version in force; the version in force until now becomes retired."""
    now = now or timezone.now()
    actor = _maintainer(user, sop)
    versions = lock_family(sop)
    sop = versions[sop.pk]
    if sop.status == Sop.Status.ACTIVE:
        raise Invalid(_("%(sop)s sudah berlaku.") % {"sop": sop}, code="already_active")
    put_in_force(sop, versions, actor=actor, now=now)
    return sop


def effective_date_text(moment):
    """A date as the documents write it: "23 November 2026" (Jakarta's date)."""
    with override("id"):
        return formats.date_format(timezone.localdate(moment), "j F Y")


def put_in_force(sop, versions, *, actor, now, effective_on=None):
    """Make `sop` the version in force and retire the one in force until now; returns that one.

    Called inside the caller's transaction, with `versions` from `lock_family` and `actor` the
    caller's decision of who may. `effective_on` is the tanggal efektif to print (pengesahan
    gives the date of approval); without it the version keeps the date its document states, or
    gets today's when it states none. Each status change records an `Event`.
    """
    problems = step_table_errors(sop)
    if problems:
        raise Invalid(
            _("%(sop)s belum dapat diberlakukan: %(problems)s")
            % {"sop": sop, "problems": " ".join(str(problem) for problem in problems)},
            code="steps",
        )
    # The roles the draft proposed become roles of the unit now that it is approved.
    for role in Role.objects.filter(proposed=True, steps__sop=sop).distinct():
        role.proposed = False
        role._change_reason = f"Dibuat saat {sop} diberlakukan"
        role.save(update_fields=["proposed"])
    retired = None
    for other in versions.values():
        if other.status == Sop.Status.ACTIVE and other.pk != sop.pk:
            _set_status(other, Sop.Status.RETIRED, Event.Kind.SOP_RETIRED, actor, now)
            retired = other
    effective_on = effective_on or sop.effective_on or effective_date_text(now)
    _set_status(
        sop, Sop.Status.ACTIVE, Event.Kind.SOP_ACTIVATED, actor, now, effective_on=effective_on
    )
    return retired


@transaction.atomic
def retire(sop, *, user, now=None):
    """Take a version out of force (or shelve a draft); its runs keep it."""
    now = now or timezone.now()
    actor = _maintainer(user, sop)
    sop = lock_family(sop)[sop.pk]
    if sop.status == Sop.Status.RETIRED:
        raise Invalid(_("%(sop)s sudah tidak berlaku.") % {"sop": sop}, code="already_retired")
    _set_status(sop, Sop.Status.RETIRED, Event.Kind.SOP_RETIRED, actor, now)
    return sop


def _set_status(sop, status, kind, actor, now, **fields):
    """Change the status (and `fields` with it), saved and recorded before and after."""
    before = {"status": sop.status, **{name: getattr(sop, name) for name in fields}}
    sop.status = status
    for name, value in fields.items():
        setattr(sop, name, value)
    # save(), not update(): the SOP's history (django-simple-history) records the change.
    sop.save(update_fields=["status", *fields, "updated_at"])
    events.record(
        kind,
        actor=actor,
        at=now,
        sop=sop,
        before=before,
        after={"status": status, "version": sop.version, **fields},
    )


def copy_contents(
    source: Sop, target: Sop, *, roles: Mapping[int, Role] | None = None
) -> dict[int, Step]:
    """Copy the identity sections and the step table of SOP `source` into the new SOP `target`;
    returns {source step id: its copy}.

    `roles` maps a role's id to the role the copy names instead (another unit's copy of the
    SOP); by default the copy names the same roles.
    """
    bulk_create_with_history(
        [
            SopItem(sop=target, section=item.section, position=item.position, text=item.text)
            for item in source.sop_items.all()
        ],
        SopItem,
    )
    old_steps = steps.saved_steps(source)
    copies = steps.write_steps(
        target,
        (steps.copied_values(values, roles) for values in steps.values_of_steps(old_steps)),
    )
    return {step.pk: copies[step.number] for step in old_steps}


@transaction.atomic
def copy_as_revision(sop, *, user, now=None):
    """A new draft version with the same identity, items and steps; runs keep the old one."""
    now = now or timezone.now()
    actor = _maintainer(user, sop)
    versions = lock_family(sop)
    source = versions[sop.pk]
    revision = Sop.objects.get(pk=source.pk)
    revision.pk = None
    revision.version = max(version.version for version in versions.values()) + 1
    revision.status = Sop.Status.DRAFT
    revision.previous = source
    revision.role_names = {}
    revision.save()
    copy_contents(source, revision)
    events.record(
        Event.Kind.SOP_REVISED,
        actor=actor,
        at=now,
        sop=revision,
        after={"from": source.pk, "from_version": source.version, "version": revision.version},
    )
    return revision
