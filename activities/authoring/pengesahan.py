"""Pengesahan online: a draft is submitted, the unit's pimpinan approves it or returns it.

Who approves is the policy's "approve_sops" (a role flag, seeded for the unit's head): the
object form decides each act, the queryset form lists what waits (`pending_for`). Each act
locks the SOP, checks its status, changes it and writes a `SopAct`, all in one transaction,
like the run transitions in `workflow`; refusals are the typed errors of `activities.core.errors`.
Approving puts the version in force through `lifecycle.put_in_force`, as the admin's
activation does, with the date of approval as its tanggal efektif; the version in force
retires, and runs stay pinned to the version they were opened from, whatever happens to it.

`diff` compares a draft with the version in force: identity fields, sections, and the steps
aligned by their activity text, so an inserted step shows as one step added rather than every
later step changed.
"""

import difflib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.authoring import lifecycle, steps
from activities.authoring.definitions import check_steps, saved_specs
from activities.authoring.forms import IDENTITY_FIELDS
from activities.core import policy
from activities.core.errors import Forbidden, Invalid, Stale
from activities.models import Sop, SopAct, SopItem, Step, format_nip, pegawai_of


def pending_for(user):
    """Submitted versions waiting for this user's pengesahan, oldest first."""
    return policy.sops_to_approve(user).select_related("unit").order_by("updated_at", "id")


def blockers(sop):
    """Why a draft cannot be submitted yet: review notes left, rules the table breaks."""
    problems = []
    notes = sop.review_notes.count()
    if notes:
        problems.append(_("%(n)s isian masih ditandai untuk diperiksa di editor.") % {"n": notes})
    problems += [error.message for error in check_steps(sop.unit_id, saved_specs(sop))]
    return problems


def _approver(user, sop):
    actor = policy.sop_approver(user, sop, policy.fresh_subject(user))
    if actor is None:
        raise Forbidden(_("Jabatan Anda tidak berwenang mengesahkan SOP unit ini."))
    return actor


def _check_status(locked, status):
    if locked is None or locked.status != status:
        raise Stale(
            _("Status SOP ini sudah berubah (sekarang: %(status)s). Muat ulang halaman.")
            % {"status": locked.get_status_display() if locked else "–"}
        )
    return locked


def _locked(sop, status):
    return _check_status(Sop.objects.select_for_update().filter(pk=sop.pk).first(), status)


@transaction.atomic
def submit(sop, user):
    """Draft → submitted, when nothing is left to check."""
    if policy.unit_actor(user, "maintain_sops", sop.unit_id, policy.fresh_subject(user)) is None:
        raise Forbidden(_("Anda tidak menyusun SOP unit ini."))
    locked = _locked(sop, Sop.Status.DRAFT)
    problems = blockers(locked)
    if problems:
        raise Invalid(" ".join(problems), code="blockers")
    locked.status = Sop.Status.SUBMITTED
    locked.save(update_fields=["status", "updated_at"])
    SopAct.objects.create(
        sop=locked,
        kind=SopAct.Kind.SUBMITTED,
        actor=user,
        at=timezone.now(),
        after={"status": locked.status},
    )
    return locked


@transaction.atomic
def return_for_fix(sop, user, notes):
    """Submitted → draft, with the pimpinan's notes (required)."""
    _approver(user, sop)
    notes = (notes or "").strip()
    if not notes:
        raise Invalid(
            _("Tulis catatan perbaikan untuk penyusun SOP."), field="notes", code="required"
        )
    locked = _locked(sop, Sop.Status.SUBMITTED)
    locked.status = Sop.Status.DRAFT
    locked.save(update_fields=["status", "updated_at"])
    SopAct.objects.create(
        sop=locked,
        kind=SopAct.Kind.RETURNED,
        actor=user,
        at=timezone.now(),
        notes=notes,
        after={"status": locked.status},
    )
    return locked


def submitted_by(sop) -> int | None:
    """The id of the user who submitted `sop` most recently, or None."""
    act = sop.acts.filter(kind=SopAct.Kind.SUBMITTED).order_by("-at", "-pk").first()
    return act.actor_id if act else None


@transaction.atomic
def approve(sop, user, *, now=None):
    """Submitted → in force, dated today; the version in force retires. Runs keep theirs."""
    now = now or timezone.now()
    actor = _approver(user, sop)
    versions = lifecycle.lock_family(sop)
    locked = _check_status(versions[sop.pk], Sop.Status.SUBMITTED)
    retired = lifecycle.put_in_force(
        locked,
        versions,
        actor=actor,
        now=now,
        effective_on=lifecycle.effective_date_text(now),
    )
    own = policy.own_draft_notice(user, submitted_by(locked)) is not None
    person = pegawai_of(user)
    if person is not None and person.nip:
        # "Disahkan oleh" is whoever approved it, as his person record names him.
        locked.approver_name, locked.approver_nip = person.full_name, person.nip
        locked.approver_rank = person.rank or locked.approver_rank
        locked.save(update_fields=["approver_name", "approver_nip", "approver_rank"])
    SopAct.objects.create(
        sop=locked,
        kind=SopAct.Kind.APPROVED,
        actor=user,
        at=now,
        notes=_("Diajukan dan disahkan oleh orang yang sama.") if own else "",
        after={
            "status": locked.status,
            "effective_on": locked.effective_on,
            "retired": retired.pk if retired else None,
        }
        | ({"own_draft": True} if own else {}),
    )
    return locked


# The diff -------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class StepDiff:
    state: str  # "added", "removed", "changed"
    number_before: int | None
    number_after: int | None
    activity: str
    changes: list = field(default_factory=list)


@dataclass
class Diff:
    base: Sop | None
    fields: list
    sections: list
    steps: list

    @property
    def empty(self):
        return not (self.fields or self.sections or self.steps)


def _steps(sop: Sop) -> list[tuple[Step, dict[str, str]]]:
    """The SOP's steps, each with its declared fields as the diff shows them."""
    saved = steps.saved_steps(sop)
    return list(zip(saved, map(steps.diff_values, steps.values_of_steps(saved)), strict=True))


# How an identity field reads in the diff, where it is not shown as stored.
IDENTITY_DISPLAY = {"approver_nip": format_nip}


def diff(sop):
    """What this version changes against the version in force (or everything, if none)."""
    base = (
        Sop.objects.filter(unit=sop.unit, name=sop.name, status=Sop.Status.ACTIVE)
        .exclude(pk=sop.pk)
        .first()
    ) or sop.previous
    fields = []
    for name in IDENTITY_FIELDS:
        label = str(Sop._meta.get_field(name).verbose_name)
        before = getattr(base, name) if base else ""
        if before != getattr(sop, name):
            shown = IDENTITY_DISPLAY.get(name, str)
            fields.append(Change(label, shown(before), shown(getattr(sop, name))))
    sections = []
    for key, label in SopItem.Section.choices:
        before = base.items(key) if base else []
        after = sop.items(key)
        if before != after:
            sections.append(Change(str(label), "\n".join(before), "\n".join(after)))
    old, new = (_steps(base) if base else []), _steps(sop)
    matcher = difflib.SequenceMatcher(
        a=[" ".join(s.activity.split()).lower() for s, _values in old],
        b=[" ".join(s.activity.split()).lower() for s, _values in new],
        autojunk=False,
    )
    labels = steps.diff_labels()
    changed = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for (before, a), (after, b) in zip(old[i1:i2], new[j1:j2], strict=True):
                changes = [
                    Change(label, a[key], b[key]) for key, label in labels if a[key] != b[key]
                ]
                if changes or before.number != after.number and tag != "equal":
                    changed.append(
                        StepDiff("changed", before.number, after.number, after.activity, changes)
                    )
            continue
        for before, _values in old[i1:i2]:
            changed.append(StepDiff("removed", before.number, None, before.activity))
        for after, _values in new[j1:j2]:
            changed.append(StepDiff("added", None, after.number, after.activity))
    return Diff(base, fields, sections, changed)
