"""History of configuration: who changed a role, its holders, an SOP, a unit, a user, when,
and the values before and after; shown in the admin."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from activities.authoring import lifecycle
from activities.core import acting, policy
from activities.models import ActingAppointment, Role, Sop, Unit

pytestmark = pytest.mark.django_db


def role_form(role, **changes):
    data = {
        "unit": role.unit_id,
        "name": role.name,
        "kind": role.kind,
        "position": role.position,
        "members": [user.pk for user in role.members.all()],
    }
    for flag in policy.ROLE_FLAGS.values():
        if getattr(role, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_ticking_a_capability_in_the_admin_is_in_the_roles_history(client_for, users):
    role = Role.objects.get(unit__short_name="Kesbangpol", name="Kasubag TU")
    client = client_for("admin")
    response = client.post(
        f"/admin/activities/role/{role.pk}/change/", role_form(role, cancels_runs="on")
    )
    assert response.status_code == 302
    latest, previous = role.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == users["admin"]
    assert latest.history_type == "~"
    delta = latest.diff_against(previous)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("cancels_runs", False, True)]

    page = client.get(f"/admin/activities/role/{role.pk}/history/").content.decode()
    assert "admin" in page


def test_who_made_this_person_the_kepala_and_when(client_for, users):
    role = Role.objects.get(unit__short_name="Kesbangpol", name="Kepala")
    client = client_for("admin")
    members = [users["kepala"].pk, users["kasi"].pk]
    before = timezone.now()
    response = client.post(
        f"/admin/activities/role/{role.pk}/change/", role_form(role, members=members)
    )
    assert response.status_code == 302
    entry = next(
        h
        for h in role.history.order_by("-history_date", "-history_id")
        if users["kasi"].pk in {m.user_id for m in h.members.all()}
    )
    assert entry.history_user == users["admin"] and entry.history_date >= before
    assert {m.user_id for m in entry.prev_record.members.all()} == {users["kepala"].pk}


def test_roles_given_from_the_user_page_are_in_the_roles_history(client_for, users):
    """The user admin's inline writes memberships itself; the role's history still has it."""
    role = Role.objects.get(unit__short_name="Kesbangpol", name="Kepala")
    client = client_for("admin")
    user = users["staf"]
    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name not in ("password",)
    }
    data.update(
        {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "is_active": "on",
            "date_joined_0": "2026-11-01",
            "date_joined_1": "08:00:00",
            "groups": [],
            "user_permissions": [],
        }
    )
    current = list(user.sop_roles.all())
    prefix = "Role_members-"
    data.update(
        {
            f"{prefix}TOTAL_FORMS": str(len(current) + 1),
            f"{prefix}INITIAL_FORMS": str(len(current)),
            f"{prefix}MIN_NUM_FORMS": "0",
            f"{prefix}MAX_NUM_FORMS": "1000",
        }
    )
    through = Role.members.through
    for index, membership in enumerate(through.objects.filter(user=user)):
        data[f"{prefix}{index}-id"] = membership.pk
        data[f"{prefix}{index}-user"] = user.pk
        data[f"{prefix}{index}-role"] = membership.role_id
    data[f"{prefix}{len(current)}-user"] = user.pk
    data[f"{prefix}{len(current)}-role"] = role.pk
    response = client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert role.members.filter(pk=user.pk).exists()
    latest = role.history.latest("history_date")
    assert latest.history_user == users["admin"]
    assert user.pk in {m.user_id for m in latest.members.all()}


def test_sop_status_unit_and_user_changes_are_kept(users, sop1):
    revision = lifecycle.copy_as_revision(sop1, user=users["kepala"])
    lifecycle.activate(revision, user=users["kepala"])
    statuses = list(
        Sop.history.filter(id=sop1.pk).order_by("history_date").values_list("status", flat=True)
    )
    assert statuses[-1] == Sop.Status.RETIRED and Sop.Status.ACTIVE in statuses
    assert revision.steps.first().history.count() >= 1
    assert revision.sop_items.first().history.count() == 1

    unit = Unit.objects.get(short_name="Kesbangpol")
    unit.head_name = "Pejabat Baru"
    unit.save()
    assert unit.history.latest("history_date").head_name == "Pejabat Baru"

    user = get_user_model().objects.get(username="staf")
    user.is_staff = True
    user.save()
    assert user.history.latest("history_date").is_staff is True


def test_appointments_have_history(users, sop1):
    today = timezone.localdate()
    appointment = acting.appoint(
        user=users["kepala"],
        role=Role.objects.get(unit__short_name="Kesbangpol", name="Kepala"),
        person=users["kasubag_tu"],
        kind="plh",
        start_date=today,
        end_date=today + datetime.timedelta(days=3),
        letter_number="800/1/2026",
        letter_date=today,
        reason="Dinas luar",
    )
    acting.end(appointment, user=users["kepala"])
    history = ActingAppointment.history.filter(id=appointment.pk).order_by("history_date")
    assert [h.history_type for h in history] == ["+", "~"]
    assert history.last().ended_at is not None
