"""A role named by an SOP version that runs use is part of history: it cannot be deleted or
moved to another unit (the run's holders would lose their steps), in the admin or in code."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from activities.models import Role, Unit
from tests.test_workflow import act, open_run


@pytest.fixture
def kasi_role(sop1):
    return Role.objects.get(unit=sop1.unit, name="Kasi")


def test_a_role_of_a_run_sop_cannot_be_deleted(sop1, users, kasi_role):
    open_run(sop1, users["kasi"])
    with pytest.raises(ValidationError, match="tidak dapat dihapus"):
        kasi_role.delete()
    assert Role.objects.filter(pk=kasi_role.pk).exists()
    assert sop1.steps.get(number=1).roles.filter(pk=kasi_role.pk).exists()


def test_a_role_of_an_sop_never_run_can_be_deleted(sop1, kasi_role):
    kasi_role.delete()
    assert not Role.objects.filter(pk=kasi_role.pk).exists()


def test_a_role_of_a_run_sop_cannot_move_to_another_unit(sop1, sop2, users, kasi_role):
    run = open_run(sop1, users["kasi"])
    kasi_role.unit = Unit.objects.get(pk=sop2.unit_id)
    with pytest.raises(ValidationError) as error:
        kasi_role.full_clean()
    assert "tidak dapat dipindah ke unit lain" in str(error.value.message_dict["unit"])
    # The holder still completes his step.
    act(run, 1, users["kasi"])


def test_the_admin_refuses_moving_and_deleting(client_for, sop1, sop2, users, kasi_role):
    open_run(sop1, users["kasi"])
    client = client_for("admin")
    change = reverse("admin:activities_role_change", args=[kasi_role.pk])
    response = client.post(
        change, {"unit": sop2.unit_id, "name": "Kasi", "kind": kasi_role.kind, "position": 3}
    )
    assert response.status_code == 200
    assert "tidak dapat dipindah ke unit lain" in response.content.decode()
    kasi_role.refresh_from_db()
    assert kasi_role.unit_id == sop1.unit_id
    delete = reverse("admin:activities_role_delete", args=[kasi_role.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:activities_role_changelist")
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [kasi_role.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert Role.objects.filter(pk=kasi_role.pk).exists()
