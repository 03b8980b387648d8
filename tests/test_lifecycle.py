"""SOP versions change status only through `activities.authoring.lifecycle`, which records every change."""

import datetime

import pytest
import time_machine

from activities.authoring import lifecycle
from activities.core.errors import Forbidden, Invalid
from activities.models import Event, Sop

pytestmark = pytest.mark.django_db

WIB = datetime.timezone(datetime.timedelta(hours=7))


def test_a_revision_is_a_recorded_draft_copy(sop1, users):
    revision = lifecycle.copy_as_revision(sop1, user=users["kasubag_tu"])
    assert (revision.version, revision.status, revision.previous) == (2, Sop.Status.DRAFT, sop1)
    assert revision.steps.count() == sop1.steps.count() == 15
    assert revision.steps.get(number=2).return_to.number == 1
    event = Event.objects.get(kind=Event.Kind.SOP_REVISED)
    assert (event.sop, event.actor, event.role.name) == (
        revision,
        users["kasubag_tu"],
        "Kasubag TU",
    )
    assert event.after == {"from": sop1.pk, "from_version": 1, "version": 2}


def test_activating_a_revision_retires_the_version_in_force(sop1, users):
    revision = lifecycle.copy_as_revision(sop1, user=users["kepala"])
    dated = revision.effective_on
    lifecycle.activate(revision, user=users["kepala"])
    sop1.refresh_from_db()
    revision.refresh_from_db()
    assert (sop1.status, revision.status) == (Sop.Status.RETIRED, Sop.Status.ACTIVE)
    kinds = list(Event.objects.filter(sop__isnull=False).values_list("kind", "sop_id", "before"))
    assert kinds == [
        (Event.Kind.SOP_REVISED, revision.pk, {}),
        (Event.Kind.SOP_RETIRED, sop1.pk, {"status": "active"}),
        (Event.Kind.SOP_ACTIVATED, revision.pk, {"status": "draft", "effective_on": dated}),
    ]


def test_activation_keeps_the_written_tanggal_efektif_or_dates_an_undated_version(sop1, users):
    revision = lifecycle.copy_as_revision(sop1, user=users["kepala"])
    lifecycle.activate(revision, user=users["kepala"])
    assert Sop.objects.get(pk=revision.pk).effective_on == sop1.effective_on

    undated = lifecycle.copy_as_revision(revision, user=users["kepala"])
    Sop.objects.filter(pk=undated.pk).update(effective_on="")
    with time_machine.travel(datetime.datetime(2026, 12, 3, 23, 30, tzinfo=WIB), tick=False):
        lifecycle.activate(undated, user=users["kepala"])
    assert Sop.objects.get(pk=undated.pk).effective_on == "3 Desember 2026"
    event = Event.objects.filter(kind=Event.Kind.SOP_ACTIVATED, sop=undated).get()
    assert event.after == {"status": "active", "version": 3, "effective_on": "3 Desember 2026"}


def test_a_broken_step_table_is_not_activated(sop1, users):
    revision = lifecycle.copy_as_revision(sop1, user=users["kepala"])
    revision.steps.filter(number=15).update(kind="process")
    with pytest.raises(Invalid) as error:
        lifecycle.activate(revision, user=users["kepala"])
    assert "tepat satu langkah Selesai" in error.value.message
    revision.refresh_from_db()
    sop1.refresh_from_db()
    assert (revision.status, sop1.status) == (Sop.Status.DRAFT, Sop.Status.ACTIVE)
    assert not Event.objects.filter(kind=Event.Kind.SOP_ACTIVATED).exists()


@pytest.mark.parametrize("username", ["kasi", "staf", "pengelola", "kabid", "outsider"])
def test_only_roles_that_maintain_sops_change_them(sop1, users, username):
    for service in (lifecycle.copy_as_revision, lifecycle.activate, lifecycle.retire):
        with pytest.raises(Forbidden):
            service(sop1, user=users[username])
    assert Sop.objects.count() == 2 and not Event.objects.exists()


def test_retire_twice_is_refused_with_a_message(sop1, users):
    lifecycle.retire(sop1, user=users["admin"])
    with pytest.raises(Invalid) as error:
        lifecycle.retire(sop1, user=users["admin"])
    assert "sudah tidak berlaku" in error.value.message
    assert Event.objects.filter(kind=Event.Kind.SOP_RETIRED).count() == 1


def test_admin_actions_call_the_lifecycle(client_for, sop1, users):
    revision = lifecycle.copy_as_revision(sop1, user=users["admin"])
    response = client_for("admin").post(
        "/admin/activities/sop/",
        {"action": "activate", "_selected_action": [str(revision.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    revision.refresh_from_db()
    assert revision.status == Sop.Status.ACTIVE
    event = Event.objects.get(kind=Event.Kind.SOP_ACTIVATED)
    assert event.actor.username == "admin" and event.on_behalf
