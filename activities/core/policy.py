"""Who may do what: every capability of sopflow, in one place.

Each capability has an object form (may this user do it to this object? used for a button, a
view's check and the transition itself) and a queryset form (everything the user may do it
to, for lists, the inbox and counts), built from the same facts, so a list never offers what
the transition would refuse.

The facts are the user's roles and the acting appointments (Plt./Plh.) in force today, read
once per request (`subject`) and turned into id sets; the queryset forms filter on those ids
instead of joining every step or role row.

- Capabilities of a role are data: boolean flags on `Role` (`ROLE_FLAGS`), held in the role's
  unit, edited in the admin. Acting for a role gives its steps, not its flags.
- Acting on a step (and approving or returning it) belongs to the holders of one of the
  step's roles, and to whoever acts for such a role today.
- Seeing a unit's SOPs and runs belongs to everybody holding a role there.
- A superuser may do everything, everywhere; on steps and runs he acts on behalf ("a.n.").

Another unit's object is a 404 (its existence is not disclosed); an object of the user's own
unit that his roles do not allow is a 403. `access.py` fetches objects this way.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import (
    ActingAppointment,
    PreparedQueries,
    Role,
    Run,
    SignedLaporan,
    Sop,
    Step,
    StepRun,
    Unit,
    performed_as,
)

if TYPE_CHECKING:
    # django-stubs' names for a user: its mypy plugin reads `User` as the model that
    # settings.AUTH_USER_MODEL names, and `AnyUser` (what `request.user` is) as that or
    # AnonymousUser.
    from django.contrib.auth.models import _AnyUser as AnyUser
    from django.contrib.auth.models import _User as User

# capability → the `Role` flag that grants it in the role's unit.
ROLE_FLAGS: dict[str, str] = {
    "open_runs": "opens_runs",
    "cancel_run": "cancels_runs",
    "see_archive": "keeps_archive",
    "export": "exports_archive",
    "maintain_sops": "maintains_sops",
    "appoint_acting": "appoints_acting",
    "see_statistics": "sees_statistics",
    "approve_sops": "approves_sops",
}
# capabilities held through the roles of a step (own, or acting for them today).
STEP_CAPABILITIES = ("act_on_step", "approve", "return")
# capabilities held by every member of a unit.
MEMBER_CAPABILITIES = ("see_run",)
CAPABILITIES = (*MEMBER_CAPABILITIES, *STEP_CAPABILITIES, *ROLE_FLAGS)


@dataclass(frozen=True)
class Actor:
    """Who acts, as which role, and how: himself, as Plt./Plh. (`acting`), or a superuser
    on behalf of the role (`on_behalf`, `role` None)."""

    user: User
    role: Role | None
    on_behalf: bool = False
    acting: str = ""
    appointment: ActingAppointment | None = None

    @property
    def performed_as(self) -> str:
        name: str = performed_as(self.role, self.acting)
        return name


# What every request reads of its user, compiled once per user (and day).
_MEMBER_ROLES = PreparedQueries(lambda user_id: Role.objects.filter(members=user_id))
_APPOINTMENTS = PreparedQueries(
    lambda user_id, day: ActingAppointment.objects.in_force(day).filter(person=user_id)
)


class Subject:
    """What a user's roles and today's acting appointments give him, as id sets."""

    def __init__(self, user: AnyUser, day: datetime.date | None = None) -> None:
        self.user = user
        self.day = day or timezone.localdate()
        member = user if user.is_authenticated and user.is_active else None
        self.is_superuser = member is not None and member.is_superuser
        self.roles: list[Role] = (
            _MEMBER_ROLES.rows(Role, (member.pk,)) if member is not None else []
        )
        self.appointments: list[ActingAppointment] = (
            _APPOINTMENTS.rows(ActingAppointment, (member.pk, self.day))
            if member is not None
            else []
        )
        self.own_role_ids = {role.pk for role in self.roles}
        # The first appointment wins if two were ever in force for one role.
        self.acting: dict[int, ActingAppointment] = {}
        for appointment in sorted(self.appointments, key=lambda a: a.pk):
            self.acting.setdefault(appointment.role_id, appointment)
        self.step_role_ids = self.own_role_ids | set(self.acting)
        self.unit_ids = {role.unit_id for role in self.roles} | {
            appointment.unit_id for appointment in self.appointments
        }
        self._step_ids: list[int] | None = None

    def step_ids(self) -> list[int]:
        """Ids of the SOP steps the user's roles (own and acting today) perform."""
        if self._step_ids is None:
            through = Step.roles.through.objects.filter(role_id__in=self.step_role_ids)
            self._step_ids = sorted(set(through.values_list("step_id", flat=True)))
        return self._step_ids

    def roles_with(self, capability: str, unit_id: int | None = None) -> list[Role]:
        flag = ROLE_FLAGS[capability]
        return [
            role
            for role in self.roles
            if getattr(role, flag) and (unit_id is None or role.unit_id == unit_id)
        ]

    def units_with(self, capability: str) -> set[int]:
        return {role.unit_id for role in self.roles_with(capability)}


_SUBJECT_CACHE = "_sopflow_subject"


def subject(user: AnyUser) -> Subject:
    """The user's `Subject`, read once per request (cached on the user object for today)."""
    day = timezone.localdate()
    cached: Subject | None = getattr(user, _SUBJECT_CACHE, None)
    if cached is None or cached.day != day:
        cached = Subject(user, day)
        setattr(user, _SUBJECT_CACHE, cached)
    return cached


def fresh_subject(user: AnyUser) -> Subject:
    """A `Subject` read now: transitions decide under their lock, never from a cache."""
    return Subject(user)


@dataclass
class StepFacts:
    """What a user holds of a few steps' roles, read now in one query (`step_facts`): the
    part of a `Subject` that `step_actor` reads, for a transition deciding under its lock."""

    user: User
    is_superuser: bool
    own_role_ids: set[int] = field(default_factory=set)
    acting: dict[int, ActingAppointment] = field(default_factory=dict)


def step_facts(
    user: User, steps: Collection[Step], day: datetime.date | None = None
) -> tuple[StepFacts, dict[int, list[Role]]]:
    """(`StepFacts` of `user`, {step pk: its roles}) for `steps`, read now.

    Each of the steps' roles comes with whether the user holds it and the first acting
    appointment in force today by which he acts for it (one query), so a transition learns who
    may act and who is told next without reading the user's whole `Subject`. The appointments
    themselves are read only when the user acts for a role (a second query, for a Plt./Plh.).
    `day`: the day of the act (a step done earlier is judged by the appointments of its day).
    """
    day = day or timezone.localdate()
    active = bool(user.is_authenticated and user.is_active)
    acting_for = (
        ActingAppointment.objects.in_force(day)
        .filter(person_id=user.pk, role_id=OuterRef("role_id"))
        .order_by("pk")
        .values("pk")[:1]
    )
    links = (
        Step.roles.through.objects.filter(step_id__in=[step.pk for step in steps])
        .select_related("role")
        .annotate(
            is_member=Exists(
                Role.members.through.objects.filter(role_id=OuterRef("role_id"), user_id=user.pk)
            ),
            appointment_id=Subquery(acting_for),
        )
        .order_by("step_id", "role__position", "role__name", "role_id")
    )
    facts = StepFacts(user, active and user.is_superuser)
    roles: dict[int, list[Role]] = {step.pk: [] for step in steps}
    appointed: dict[int, Role] = {}
    for link in links:
        roles[link.step_id].append(link.role)
        if not active:
            continue
        # django-stubs types `annotate` on declared models only, not on a field's auto-created
        # through model.
        is_member: bool = link.is_member  # type: ignore[attr-defined]
        appointment_id: int | None = link.appointment_id  # type: ignore[attr-defined]
        if is_member:
            facts.own_role_ids.add(link.role_id)
        if appointment_id is not None:
            appointed[appointment_id] = link.role
    if appointed:
        for appointment in ActingAppointment.objects.filter(pk__in=appointed):
            appointment.role = appointed[appointment.pk]
            facts.acting[appointment.role_id] = appointment
    return facts, roles


# Object forms ----------------------------------------------------------------------------


def can_see_unit(user: AnyUser, unit_id: int) -> bool:
    facts = subject(user)
    return facts.is_superuser or unit_id in facts.unit_ids


def can_see_run(user: AnyUser, run: Run) -> bool:
    return can_see_unit(user, run.unit_id)


def step_actor(user: AnyUser, step: Step, facts: Subject | StepFacts | None = None) -> Actor | None:
    """The `Actor` through whom `user` may act on `step`, or None.

    A holder of one of the step's roles acts as that role; else whoever acts for one today
    acts as “Plh./Plt. <role>”; else a superuser acts on behalf. Reads `step.roles` through a
    prefetch when the caller made one.
    """
    if not user.is_authenticated:
        return None
    facts = facts or subject(user)
    roles = list(step.roles.all())
    for role in roles:
        if role.pk in facts.own_role_ids:
            return Actor(user, role)
    for role in roles:
        appointment = facts.acting.get(role.pk)
        if appointment is not None:
            return Actor(user, role, acting=appointment.kind, appointment=appointment)
    if facts.is_superuser:
        return Actor(user, None, on_behalf=True)
    return None


def approved_round(step: Step, rounds: Collection[StepRun]) -> StepRun | None:
    """The round an approval of `step` approves: the latest completed round of the step just
    before it (the work, or the paraf, put before the approver), among `rounds` of the run."""
    done = [r for r in rounds if r.step.number == step.number - 1 and r.state == StepRun.State.DONE]
    return max(done, key=lambda r: r.round, default=None)


def own_work_refusal(actor: Actor, approved: StepRun | None) -> str | None:
    """Why `actor` may not approve `approved` (the round his approval approves), or None.

    Nobody approves what he completed himself, as its holder or as Plt./Plh.: a Plh. Kepala
    who drafted the letter as Kasubag TU does not sign it as Kepala. An administrator acting
    on behalf (a.n., back-filling what was decided on paper) is recorded as such and may.
    """
    if approved is None or actor.on_behalf or approved.completed_by_id != actor.user.pk:
        return None
    return _(
        "Anda sendiri yang menyelesaikan langkah %(number)s yang disetujui di sini; "
        "persetujuan harus diberikan pejabat lain yang memegang jabatan langkah ini "
        "(atau Plt./Plh.-nya). Anda tetap dapat mengembalikannya."
    ) % {"number": approved.step.number}


def sign_off_actor(
    user: AnyUser,
    step: Step,
    signed_role_ids: Collection[int | None],
    facts: Subject | StepFacts | None = None,
) -> Actor | None:
    """The `Actor` through whom `user` signs off his part of joint `step`, or None.

    Under "all" each role the step names signs once: the user signs for a role of his (own,
    else acting for it today) that nobody has signed for yet; a superuser signs on behalf of
    the first such role. Under "quorum" any holder signs, as `step_actor` says."""
    if step.completion != Step.Completion.ALL:
        return step_actor(user, step, facts)
    if not user.is_authenticated:
        return None
    facts = facts or subject(user)
    open_roles = [role for role in step.roles.all() if role.pk not in signed_role_ids]
    for role in open_roles:
        if role.pk in facts.own_role_ids:
            return Actor(user, role)
    for role in open_roles:
        appointment = facts.acting.get(role.pk)
        if appointment is not None:
            return Actor(user, role, acting=appointment.kind, appointment=appointment)
    if facts.is_superuser and open_roles:
        return Actor(user, open_roles[0], on_behalf=True)
    return None


def awaited_roles(step: Step, signed_role_ids: Collection[int | None]) -> list[Role]:
    """Under "all": the roles of `step` nobody has signed off for yet (reads `step.roles`)."""
    if step.completion != Step.Completion.ALL:
        return []
    return [role for role in step.roles.all() if role.pk not in signed_role_ids]


def sign_offs_needed(step: Step, signed_role_ids: Collection[int | None]) -> int:
    """How many more sign-offs close a round of `step`: 0 when its completion rule is met.

    "any": the first completion; "all": one per role the step names; "quorum": `quorum`
    distinct people holding (or acting for) one of its roles."""
    if step.completion == Step.Completion.ALL:
        return len(awaited_roles(step, signed_role_ids))
    if step.completion == Step.Completion.QUORUM:
        return max((step.quorum or 1) - len(signed_role_ids), 0)
    return 0 if signed_role_ids else 1


def can_act(user: AnyUser, step: Step) -> bool:
    return step_actor(user, step) is not None


def can_approve(user: AnyUser, step: Step) -> bool:
    return step.is_approval and can_act(user, step)


def can_return(user: AnyUser, step: Step) -> bool:
    return step.is_approval and step.return_to_id is not None and can_act(user, step)


def unit_actor(
    user: AnyUser, capability: str, unit_id: int, facts: Subject | None = None
) -> Actor | None:
    """The `Actor` through whom `user` has a role capability in the unit, or None."""
    if not user.is_authenticated:
        return None
    facts = facts or subject(user)
    roles = facts.roles_with(capability, unit_id)
    if roles:
        return Actor(user, roles[0])
    if facts.is_superuser:
        return Actor(user, None, on_behalf=True)
    return None


def has(user: AnyUser, capability: str, unit_id: int) -> bool:
    """Whether `user` has the role capability `capability` in the unit."""
    return unit_actor(user, capability, unit_id) is not None


def has_anywhere(user: AnyUser, capability: str) -> bool:
    """Whether `user` has the role capability in some unit (for menus and buttons)."""
    facts = subject(user)
    return facts.is_superuser or bool(facts.units_with(capability))


def opener(user: AnyUser, sop: Sop, facts: Subject | None = None) -> Actor | None:
    return unit_actor(user, "open_runs", sop.unit_id, facts)


def can_open(user: AnyUser, sop: Sop) -> bool:
    """Runs are opened from the version in force, by a role with `opens_runs`."""
    return sop.status == Sop.Status.ACTIVE and opener(user, sop) is not None


def canceller(user: AnyUser, run: Run, facts: Subject | None = None) -> Actor | None:
    return unit_actor(user, "cancel_run", run.unit_id, facts)


def can_cancel(user: AnyUser, run: Run) -> bool:
    """Whether `user` may cancel runs of this run's unit; `cancel_run` checks it still runs."""
    return canceller(user, run) is not None


def archivist(user: AnyUser, run: Run, facts: Subject | None = None) -> Actor | None:
    """Who keeps the run's naskah: sets its kode klasifikasi, hands it over to SRIKANDI
    (`mengekspor arsip`: TU, the Kepala)."""
    return unit_actor(user, "export", run.unit_id, facts)


def can_hand_over(user: AnyUser, run: Run) -> bool:
    """Whether `user` may download the SRIKANDI package and record its agenda number."""
    return run.status == Run.Status.FINISHED and archivist(user, run) is not None


def can_classify(user: AnyUser, run: Run, printed: bool) -> bool:
    """Whether `user` may change the run's kode klasifikasi: only until its naskah number is
    printed on a signed laporan (`printed`: being signed by its officials, or archived)."""
    return not printed and run.status != Run.Status.CANCELLED and archivist(user, run) is not None


def sop_approver(user: AnyUser, sop: Sop, facts: Subject | None = None) -> Actor | None:
    return unit_actor(user, "approve_sops", sop.unit_id, facts)


def own_draft_notice(user: AnyUser, submitted_by_id: int | None) -> str | None:
    """What the pengesahan says when the pimpinan approves a draft he submitted himself, or
    None. Allowed: Permenpan RB 35/2012 puts the pengesahan with the head of the unit, and no
    one above him in the unit could give it; the act records it and the page shows it."""
    if submitted_by_id is None or submitted_by_id != user.pk:
        return None
    return _(
        "Anda sendiri yang mengajukan draf ini. Pengesahan oleh pimpinan unit tetap sah, "
        "dan dicatat bahwa pengaju dan pengesahnya orang yang sama."
    )


def can_approve_sop(user: AnyUser, sop: Sop) -> bool:
    """Whether `user` decides the pengesahan of this SOP's unit (approve, or return with notes);
    `pengesahan` checks the version is still submitted."""
    return sop_approver(user, sop) is not None


def laporan_signer(
    user: AnyUser,
    run: Run,
    signed: SignedLaporan | None,
    day: datetime.date | None = None,
    *,
    facts: Subject | None = None,
    reporting_role: Role | None = None,
) -> Actor | None:
    """The `Actor` through whom `user` signs the next block of `run`'s final laporan now, or
    None. The pelapor (block 1): a holder of the SOP's reporting role, or its Plt./Plh. on
    `day`; the acknowledging official (block 2): the one the document names, once the pelapor
    has signed. A list passes the user's `facts` of `day` and the SOP's `reporting_role` it
    read once; `signed.signatures` may be prefetched."""
    if not (user.is_authenticated and user.is_active) or run.status != Run.Status.FINISHED:
        return None
    if facts is None:
        facts = subject(user) if day is None else Subject(user, day)
    done = {signature.position for signature in signed.signatures.all()} if signed else set()
    if 1 not in done:
        role = reporting_role or run.sop.reporting_role()
        if role is None:
            return None
        if role.pk in facts.own_role_ids:
            return Actor(user, role)
        appointment = facts.acting.get(role.pk)
        if appointment is not None:
            return Actor(user, role, acting=appointment.kind, appointment=appointment)
        return None
    if 2 not in done and signed is not None and signed.acknowledger.user_id == user.pk:
        role = run.sop.acknowledging_role()
        appointment = facts.acting.get(role.pk) if role is not None else None
        if appointment is not None:
            return Actor(user, role, acting=appointment.kind, appointment=appointment)
        return Actor(user, role)
    return None


def can_import_people(user: AnyUser) -> bool:
    """Person records span every unit: the administrator imports them."""
    return subject(user).is_superuser


# Queryset forms --------------------------------------------------------------------------


def visible_units(user: AnyUser) -> QuerySet[Unit]:
    facts = subject(user)
    if facts.is_superuser:
        return Unit.objects.all()
    return Unit.objects.filter(pk__in=facts.unit_ids)


def visible_sops(user: AnyUser) -> QuerySet[Sop]:
    facts = subject(user)
    if facts.is_superuser:
        return Sop.objects.all()
    return Sop.objects.filter(unit_id__in=facts.unit_ids)


def visible_runs(user: AnyUser) -> QuerySet[Run]:
    facts = subject(user)
    if facts.is_superuser:
        return Run.objects.all()
    return Run.objects.filter(unit_id__in=facts.unit_ids)


def inbox(user: AnyUser, *, steps_first: bool = True) -> QuerySet[StepRun]:
    """Active steps of running runs that `user` may act on (own roles and acting ones).

    The steps of the user's roles are resolved first (one small query, cached with the
    request's facts), so the database reads the active rounds of those steps only, through
    the `steprun_active_step_due` index, instead of every active round of every unit.
    With `steps_first=False` they are a subquery of the same query instead, for a count on
    every page (the navigation badge) that then needs no query of its own for them; the plan
    still starts from those steps (tests/test_query_plans.py).
    """
    facts = subject(user)
    active = StepRun.objects.filter(state=StepRun.State.ACTIVE, run__status=Run.Status.RUNNING)
    if facts.is_superuser:
        return active
    if steps_first:
        return active.filter(step_id__in=facts.step_ids())
    if not facts.step_role_ids:
        return active.none()
    through = Step.roles.through.objects.filter(role_id__in=facts.step_role_ids)
    return active.filter(step_id__in=through.values("step_id"))


def laporan_awaiting_signature(user: AnyUser, limit: int = 50) -> list[Run]:
    """Finished runs of the user's units whose laporan waits for his TTE (Tugas), newest
    first; only runs not yet archived, so the set stays as small as the signatures due. A few
    queries whatever the number of runs: the runs with their signed copy, its signatures, and
    each SOP's reporting role once."""
    facts = subject(user)
    runs_query = Run.objects.filter(status=Run.Status.FINISHED, archived_report__isnull=True)
    if not facts.is_superuser:
        runs_query = runs_query.filter(unit_id__in=facts.unit_ids)
    runs = list(
        runs_query.select_related("sop", "unit", "signed_laporan__acknowledger")
        .prefetch_related("signed_laporan__signatures")
        .order_by("-finished_at", "-pk")[:limit]
    )
    reporting: dict[int, Role | None] = {}
    waiting = []
    for run in runs:
        signed = getattr(run, "signed_laporan", None)
        if run.sop_id not in reporting:
            reporting[run.sop_id] = run.sop.reporting_role()
        role = reporting[run.sop_id]
        if role is None:
            continue
        if laporan_signer(user, run, signed, facts=facts, reporting_role=role) is not None:
            waiting.append(run)
    return waiting


def openable_sops(user: AnyUser) -> QuerySet[Sop]:
    """Active SOPs the user may open runs of."""
    facts = subject(user)
    sops: QuerySet[Sop] = Sop.objects.active()
    if facts.is_superuser:
        return sops
    return sops.filter(unit_id__in=facts.units_with("open_runs"))


def sops_to_approve(user: AnyUser) -> QuerySet[Sop]:
    """Submitted SOP versions waiting for the user's pengesahan."""
    facts = subject(user)
    submitted = Sop.objects.filter(status=Sop.Status.SUBMITTED)
    if facts.is_superuser:
        return submitted
    return submitted.filter(unit_id__in=facts.units_with("approve_sops"))


def units_where(user: AnyUser, capability: str) -> QuerySet[Unit]:
    """The units where `user` has a role capability (all units for a superuser)."""
    facts = subject(user)
    if facts.is_superuser:
        return Unit.objects.all()
    return Unit.objects.filter(pk__in=facts.units_with(capability))


# Webhook subscriptions ---------------------------------------------------------------------


def webhook_unit_ids(user: AnyUser) -> set[int] | None:
    """Units whose events `user` may subscribe another system to: every unit for a superuser
    (None), else the units whose head (a role of kind Pimpinan) he is himself. Acting for the
    head gives his steps, not this; an inactive user has none."""
    facts = subject(user)
    if facts.is_superuser:
        return None
    return {role.unit_id for role in facts.roles if role.kind == Role.Kind.HEAD}


def may_subscribe_webhooks(user: AnyUser) -> bool:
    units = webhook_unit_ids(user)
    return units is None or bool(units)


def subscribable_units(user: AnyUser) -> QuerySet[Unit]:
    units = webhook_unit_ids(user)
    if units is None:
        return Unit.objects.all()
    return Unit.objects.filter(pk__in=units)
