"""Every capability of `activities.core.policy` × every demo user × both units, from the outside.

The cases come from the policy's own table (`policy.CAPABILITIES`) and the expectation from the
data the policy reads (the role flags seeded from the fixtures, the step tables), so adding a
capability without a probe here, or changing a flag, changes the tests with it.

Allowed: the response says so and the change happened. Refused: the wrong role of the unit
gets a 403, another unit (or no unit) a 404, and nothing changed.
"""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from activities.authoring import lifecycle, pengesahan
from activities.core import policy, workflow
from activities.core.errors import Forbidden
from activities.models import ActingAppointment, Event, Role, Run, Sop, SopAct, StepRun

pytestmark = pytest.mark.django_db

USERNAMES = [
    "kasi",
    "staf",
    "kepala",
    "kasubag_tu",
    "pengelola",
    "kabid",
    "subkor",
    "tim",
    "supir",
    "admin",
    "outsider",
]
# The approval step of each seed SOP and where it returns to.
APPROVAL = {"sop1": (2, 1), "sop2": (3, 2)}


def state():
    return (
        Run.objects.count(),
        Event.objects.count(),
        Sop.objects.count(),
        list(StepRun.objects.order_by("pk").values_list("state", "round", "version")),
        list(Run.objects.order_by("pk").values_list("status", flat=True)),
    )


def opened(sop, users, title="Kegiatan uji"):
    return workflow.open_run(
        sop=sop, user=users["admin"], title=title, scheduled_on=timezone.localdate(), place="Aula"
    )


def latest(run, number):
    return StepRun.objects.filter(run=run, step__number=number).order_by("-round").first()


def at_approval(sop_key, sop, users):
    run = opened(sop, users)
    for number in range(1, APPROVAL[sop_key][0]):
        workflow.complete_step(run_id=run.pk, number=number, user=users["admin"])
    return run


def finished(sop, users, title):
    run = opened(sop, users, title)
    for step in sop.steps.order_by("number"):
        if step.is_approval:
            workflow.approve_step(
                run_id=run.pk, number=step.number, user=users["admin"], instruction="Lanjut"
            )
        else:
            # A joint step takes the admin's part (a.n.) for each of its roles.
            for _role in step.roles.all() if step.is_joint else [None]:
                workflow.complete_step(run_id=run.pk, number=step.number, user=users["admin"])
    return run


# Expectations, from the data the policy reads ---------------------------------------------


def holds_flag(user, capability, unit):
    flag = policy.ROLE_FLAGS[capability]
    return (
        user.is_superuser or Role.objects.filter(members=user, unit=unit, **{flag: True}).exists()
    )


def holds_step(user, step):
    return user.is_superuser or step.roles.filter(members=user).exists()


def member_of(user, unit):
    return user.is_superuser or Role.objects.filter(members=user, unit=unit).exists()


# Probes: set up, act through the browser's door, report (allowed, status, changed) ------


class Probe:
    """One capability tried by one user on one unit's SOP."""

    def __init__(self, client, users, sop_key, sop):
        self.client, self.users, self.sop_key, self.sop = client, users, sop_key, sop


def probe_see_run(p, user):
    run = opened(p.sop, p.users)
    response = p.client.get(run.get_absolute_url())
    return response.status_code == 200, response.status_code, None, member_of(user, p.sop.unit)


def _step_post(p, user, number, data, effect):
    run = p.run
    step = p.sop.steps.get(number=number)
    before = state()
    response = p.client.post(reverse("step_action", args=[run.pk, number]), data)
    happened = effect(run)
    unchanged = state() == before
    return happened, response.status_code, unchanged, holds_step(user, step)


def probe_act_on_step(p, user):
    p.run = opened(p.sop, p.users)
    current = latest(p.run, 1)
    data = {"action": "selesai", "version": current.version, "round": current.round}
    return _step_post(p, user, 1, data, lambda run: latest(run, 1).state == StepRun.State.DONE)


def probe_approve(p, user):
    p.run = at_approval(p.sop_key, p.sop, p.users)
    number = APPROVAL[p.sop_key][0]
    current = latest(p.run, number)
    data = {
        "action": "setujui",
        "setuju-version": current.version,
        "setuju-round": current.round,
        "setuju-instruction": "Laksanakan",
    }
    return _step_post(
        p,
        user,
        number,
        data,
        lambda run: latest(run, number).decision == StepRun.Decision.APPROVED,
    )


def probe_return(p, user):
    p.run = at_approval(p.sop_key, p.sop, p.users)
    number, target = APPROVAL[p.sop_key]
    current = latest(p.run, number)
    data = {
        "action": "kembalikan",
        "kembali-version": current.version,
        "kembali-round": current.round,
        "kembali-reason": "Belum lengkap",
    }
    return _step_post(
        p, user, number, data, lambda run: latest(run, target).state == StepRun.State.ACTIVE
    )


def probe_open_runs(p, user):
    before = state()
    title = f"Dibuka oleh {user.username}"
    data = {"title": title, "scheduled_on": timezone.localdate(), "place": "Aula"}
    response = p.client.post(f"{reverse('run_create')}?sop={p.sop.pk}", data)
    happened = Run.objects.filter(title=title).exists()
    return (
        happened,
        response.status_code,
        state() == before,
        holds_flag(user, "open_runs", p.sop.unit),
    )


def probe_cancel_run(p, user):
    run = opened(p.sop, p.users)
    before = state()
    response = p.client.post(reverse("run_cancel", args=[run.pk]), {"reason": "Batal"})
    happened = Run.objects.get(pk=run.pk).status == Run.Status.CANCELLED
    return (
        happened,
        response.status_code,
        state() == before,
        holds_flag(user, "cancel_run", p.sop.unit),
    )


def probe_see_archive(p, user):
    run = finished(p.sop, p.users, "Arsip uji")
    response = p.client.get(reverse("archive_list"))
    listed = response.status_code == 200 and run.pk in {row.pk for row in response.context["rows"]}
    return listed, response.status_code, None, holds_flag(user, "see_archive", p.sop.unit)


def probe_export(p, user):
    title = f"Ekspor untuk {user.username}"
    finished(p.sop, p.users, title)
    response = p.client.get(reverse("archive_list") + "?format=csv")
    listed = False
    if response.status_code == 200:
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        listed = any(title in row for row in csv.reader(io.StringIO(text)))
    return listed, response.status_code, None, holds_flag(user, "export", p.sop.unit)


def probe_maintain_sops(p, user):
    # No page of its own yet: the lifecycle service is the door the admin and the editor use.
    before = state()
    try:
        lifecycle.copy_as_revision(p.sop, user=user)
    except Forbidden:
        status = 403 if member_of(user, p.sop.unit) else 404
        return False, status, state() == before, holds_flag(user, "maintain_sops", p.sop.unit)
    return True, 302, False, holds_flag(user, "maintain_sops", p.sop.unit)


def probe_appoint_acting(p, user):
    head = p.sop.unit.roles.get(kind=Role.Kind.HEAD)
    members = Role.objects.filter(unit=p.sop.unit).exclude(pk=head.pk)
    person = next(
        member
        for role in members.order_by("position")
        for member in role.members.all()
        if member.pk != user.pk
    )
    # Each user's appointment has its own week, so the allowed ones do not overlap.
    start = timezone.localdate() + datetime.timedelta(days=7 * (USERNAMES.index(user.username) + 1))
    data = {
        "role": head.pk,
        "kind": "plh",
        "person": person.pk,
        "start_date": start.isoformat(),
        "end_date": (start + datetime.timedelta(days=4)).isoformat(),
        "letter_number": f"800/{user.pk}/2026",
        "letter_date": timezone.localdate().isoformat(),
        "reason": "Cuti",
    }
    before = ActingAppointment.objects.count(), Event.objects.count()
    response = p.client.post(reverse("appointment_list"), data)
    happened = ActingAppointment.objects.filter(letter_number=data["letter_number"]).exists()
    unchanged = (ActingAppointment.objects.count(), Event.objects.count()) == before
    return happened, response.status_code, unchanged, holds_flag(user, "appoint_acting", p.sop.unit)


def submitted_revision(p):
    draft = lifecycle.copy_as_revision(p.sop, user=p.users["admin"])
    return pengesahan.submit(draft, p.users["admin"])


def probe_approve_sops(p, user):
    draft = submitted_revision(p)
    before = state(), SopAct.objects.count()
    response = p.client.post(reverse("sop_pengesahan", args=[draft.pk]), {"action": "sahkan"})
    happened = Sop.objects.get(pk=draft.pk).status == Sop.Status.ACTIVE
    unchanged = (state(), SopAct.objects.count()) == before
    return happened, response.status_code, unchanged, holds_flag(user, "approve_sops", p.sop.unit)


def probe_by_policy(capability):
    """Capabilities whose page another part builds: the object and the queryset form agree."""

    def probe(p, user):
        unit = p.sop.unit
        allowed = policy.has(user, capability, unit.pk)
        listed = policy.units_where(user, capability).filter(pk=unit.pk).exists()
        assert allowed == listed
        status = 200 if allowed else (403 if member_of(user, unit) else 404)
        return allowed, status, None, holds_flag(user, capability, unit)

    return probe


PROBES = {
    "see_run": probe_see_run,
    "act_on_step": probe_act_on_step,
    "approve": probe_approve,
    "return": probe_return,
    "open_runs": probe_open_runs,
    "cancel_run": probe_cancel_run,
    "see_archive": probe_see_archive,
    "export": probe_export,
    "maintain_sops": probe_maintain_sops,
    "appoint_acting": probe_appoint_acting,
    "see_statistics": probe_by_policy("see_statistics"),
    "approve_sops": probe_approve_sops,
}
# Pages of the user's own units: another unit's objects are simply not offered there.
LIST_CAPABILITIES = {"see_archive", "export", "appoint_acting"}


def test_every_capability_has_a_probe():
    assert set(PROBES) == set(policy.CAPABILITIES)


def outcome(client_for, users, username, capability, sop_key, sop):
    """None when the user's outcome matches the policy's table, else what went wrong."""
    user = users[username]
    probe = Probe(client_for(username), users, sop_key, sop)
    allowed, status, unchanged, expected = PROBES[capability](probe, user)
    if allowed != expected:
        return f"{username}: allowed={allowed}, expected {expected} (status {status})"
    if allowed:
        return None if status in (200, 302) else f"{username}: allowed with status {status}"
    if capability in LIST_CAPABILITIES:
        # A list shows only what the user may see: refused everywhere is a 403, elsewhere the
        # other unit's rows are simply not there.
        wanted = 200 if policy.units_where(user, capability).exists() else 403
    else:
        wanted = 403 if member_of(user, sop.unit) else 404
    if status != wanted:
        return f"{username}: refused with {status}, expected {wanted}"
    if unchanged is False:
        return f"{username}: refused but something changed"
    return None


@pytest.mark.parametrize("sop_key", ["sop1", "sop2"])
@pytest.mark.parametrize("capability", policy.CAPABILITIES)
def test_capability_matrix(request, client_for, users, capability, sop_key):
    """Every demo user (one per role, the superuser, a user without roles) on this unit."""
    sop = request.getfixturevalue(sop_key)
    problems = [
        outcome(client_for, users, username, capability, sop_key, sop) for username in USERNAMES
    ]
    assert [problem for problem in problems if problem] == []


def test_a_kasubag_tu_may_also_cancel_by_one_tick(client_for, users, sop1):
    run = opened(sop1, users)
    url = reverse("run_cancel", args=[run.pk])
    client = client_for("kasubag_tu")
    assert "Batalkan kegiatan" not in client.get(run.get_absolute_url()).content.decode()
    assert client.post(url, {"reason": "Batal"}).status_code == 403

    Role.objects.filter(name="Kasubag TU").update(cancels_runs=True)

    assert "Batalkan kegiatan" in client.get(run.get_absolute_url()).content.decode()
    assert client.post(url, {"reason": "Acara ditunda"}).status_code == 302
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    event = run.events.get(kind=Event.Kind.CANCELLED)
    assert (event.actor, event.role.name) == (users["kasubag_tu"], "Kasubag TU")


def test_a_kasi_may_also_approve_sops_by_one_tick(client_for, users, sop1):
    """Pengesahan is the policy's data: the tick, not the role's kind, decides."""
    draft = pengesahan.submit(lifecycle.copy_as_revision(sop1, user=users["admin"]), users["admin"])
    url = reverse("sop_pengesahan", args=[draft.pk])
    client = client_for("kasi")
    assert url not in client.get("/tugas/").content.decode()
    assert client.post(url, {"action": "sahkan"}).status_code == 403

    Role.objects.filter(unit=sop1.unit, name="Kasi").update(approves_sops=True)

    assert url in client.get("/tugas/").content.decode()
    assert url in client.get(draft.get_absolute_url()).content.decode()
    assert client.post(url, {"action": "sahkan"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == Sop.Status.ACTIVE
    event = Event.objects.get(kind=Event.Kind.SOP_ACTIVATED, sop=draft)
    assert (event.actor, event.role.name) == (users["kasi"], "Kasi")
    assert SopAct.objects.get(sop=draft, kind=SopAct.Kind.APPROVED).actor == users["kasi"]


@pytest.mark.parametrize("username", USERNAMES)
def test_pending_sops_match_the_pengesahan_page(client_for, users, sop1, sop2, username):
    """The queryset form (the inbox's pending SOPs) lists exactly what the page lets one decide."""
    drafts = [
        pengesahan.submit(lifecycle.copy_as_revision(sop, user=users["admin"]), users["admin"])
        for sop in (sop1, sop2)
    ]
    client = client_for(username)
    listed = {sop.pk for sop in client.get("/tugas/").context["pending_sops"]}
    for draft in drafts:
        status = client.get(reverse("sop_pengesahan", args=[draft.pk])).status_code
        assert (draft.pk in listed) == (status == 200)


@pytest.mark.parametrize("username", USERNAMES)
def test_inbox_matches_the_step_form(client_for, users, sop1, sop2, username):
    """The queryset form (inbox) lists exactly the steps the object form lets one act on."""
    runs = [opened(sop1, users), opened(sop2, users)]
    client = client_for(username)
    listed = {task.step_run.run_id for task in client.get("/tugas/").context["tasks"]}
    for run in runs:
        status = client.get(reverse("step_action", args=[run.pk, 1])).status_code
        assert (run.pk in listed) == (status == 200)


@pytest.mark.parametrize("username", USERNAMES)
def test_open_buttons_match_the_open_form(client_for, users, sop1, sop2, username):
    client = client_for(username)
    offered = {sop.pk for sop in client.get("/kegiatan/").context["openable_sops"]}
    for sop in (sop1, sop2):
        status = client.get(f"{reverse('run_create')}?sop={sop.pk}").status_code
        assert (sop.pk in offered) == (status == 200)


@pytest.mark.parametrize("who", ["anonymous", "inactive kasi", "inactive admin"])
def test_nobody_logged_in_or_deactivated_holds_any_capability(users, sop1, sop2, who):
    """A visitor, or a deactivated account (a role holder, or a superuser), gets no actor for
    any step or unit capability and finds every queryset form empty."""
    run = opened(sop1, users)
    if who == "anonymous":
        user = AnonymousUser()
    else:
        user = users[who.split()[1]]
        user.is_active = False
    for sop in (sop1, sop2):
        for step in sop.steps.all():
            assert policy.step_actor(user, step) is None
        for capability in policy.ROLE_FLAGS:
            assert policy.unit_actor(user, capability, sop.unit_id) is None
        assert not policy.can_see_unit(user, sop.unit_id)
    assert not policy.can_see_run(user, run)
    for found in (
        policy.visible_units(user),
        policy.visible_sops(user),
        policy.visible_runs(user),
        policy.inbox(user),
        policy.inbox(user, steps_first=False),
        policy.openable_sops(user),
        policy.sops_to_approve(user),
    ):
        assert not found.exists()


def test_a_role_given_or_taken_shows_on_the_next_request(users, sop2):
    """The user's roles and the navigation's counts are compiled once per user and set of
    roles (`models.PreparedQueries`): each request still reads them afresh."""
    from django.contrib.auth import get_user_model

    from activities.context_processors import navigation_counts
    from tests.test_workflow import open_run, wib

    opener = next(
        u for u in users.values() if u.sop_roles.filter(opens_runs=True, unit=sop2.unit).exists()
    )
    open_run(sop2, opener, now=wib(2026, 9, 21, 8))

    def request_user():
        return get_user_model().objects.get(pk=users["outsider"].pk)

    assert navigation_counts(request_user()) == (0, 0)
    first_role = Role.objects.get(pk=sop2.steps.get(number=1).roles.get().pk)
    first_role.members.add(users["outsider"])
    assert first_role in policy.subject(request_user()).roles
    assert navigation_counts(request_user())[0] >= 1
    first_role.members.remove(users["outsider"])
    assert policy.subject(request_user()).roles == []
    assert navigation_counts(request_user()) == (0, 0)


def test_prepared_queries_keep_the_newest_keys():
    from activities.models import PreparedQueries

    built = []

    def build(pk):
        built.append(pk)
        return Role.objects.filter(pk=pk)

    prepared = PreparedQueries(build, size=2)
    for pk in (1, 2, 1, 3, 1, 2):
        prepared.sql((pk,))
    # 1 stays (used again before 3 came), 2 was dropped for 3 and compiled again.
    assert built == [1, 2, 3, 2]
