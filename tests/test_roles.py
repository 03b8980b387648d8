"""A role named by an SOP version that runs use is part of history: it cannot be deleted or
moved to another unit (the run's holders would lose their steps), in the admin or in code, and
a rename leaves the version's document and its runs' laporan as they were printed."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from activities.authoring import sopdoc
from activities.authoring.lifecycle import copy_as_revision
from activities.documents import laporan
from activities.models import Role, Unit
from tests.test_reports import open_run as open_at
from tests.test_reports import walk, wib
from tests.test_run_views import form_data
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
    # Refused: 403, or Django's confirmation page naming the protected objects that keep the
    # role — either way nothing is deleted.
    assert response.status_code in (200, 403)
    assert Role.objects.filter(pk=kasi_role.pk).exists()


def test_a_renamed_role_keeps_its_printed_name_in_run_versions_and_their_laporan(
    client_for, users, sop1, django_capture_on_commit_callbacks
):
    start = wib(10, 5, 8)
    run = open_at(sop1, users, start=start)
    with django_capture_on_commit_callbacks(execute=True):
        walk(run, users, start=start)
    kasi = Role.objects.get(unit=sop1.unit, name="Kasi")
    kasi.name = "Kepala Seksi Pembinaan"
    kasi.save()

    sop1.refresh_from_db()
    printed = [column.name for column in sopdoc.build(sop1).columns]
    assert "Kasi" in printed and "Kepala Seksi Pembinaan" not in printed
    page = client_for("kasi").get(reverse("sop_detail", args=[sop1.pk])).content.decode()
    assert 'data-role="Kasi"' in page and "Kepala Seksi Pembinaan" not in page

    for path in (f"/kegiatan/{run.pk}/", f"/kegiatan/{run.pk}/langkah/1/"):
        page = client_for("kasi").get(path).content.decode()
        assert "Kasi" in page and "Kepala Seksi Pembinaan" not in page, path

    report = laporan.build_run_report(run.pk)
    roles = {row.role for row in report.rows}
    assert "Kasi" in roles and "Kepala Seksi Pembinaan" not in roles
    assert report.first_roles == "Kasi"

    # A new version is written with the names of today.
    revision = copy_as_revision(sop1, user=users["admin"])
    assert "Kepala Seksi Pembinaan" in [column.name for column in sopdoc.build(revision).columns]


def test_a_running_run_shows_its_versions_names_in_the_inbox_and_messages(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    staf = Role.objects.get(unit=sop1.unit, name="Staf seksi")
    staf.name = "Pelaksana Seksi"
    staf.save()
    kasi = client_for("kasi")
    # Step 1 (Kasi) → step 2 (Kepala) → step 3 (Kasi) → step 4 (Staf seksi, as the run knows it).
    act(run, 1, users["kasi"])
    act(run, 2, users["kepala"])
    page = kasi.get(f"/kegiatan/{run.pk}/").content.decode()
    assert "Pelaksana Seksi" not in page
    response = kasi.post(
        f"/kegiatan/{run.pk}/langkah/3/", form_data(run, 3, "selesai"), follow=True
    )
    said = [str(message) for message in response.context["messages"]]
    assert said == ["Langkah 3 selesai. Berikutnya langkah 4: Staf seksi."]
    inbox = client_for("staf").get("/tugas/").content.decode()
    assert "Staf seksi" in inbox and "Pelaksana Seksi" not in inbox


def test_a_version_never_run_prints_the_current_names(sop1):
    kasi = Role.objects.get(unit=sop1.unit, name="Kasi")
    kasi.name = "Kepala Seksi Pembinaan"
    kasi.save()
    sop1.refresh_from_db()
    assert "Kepala Seksi Pembinaan" in [column.name for column in sopdoc.build(sop1).columns]


def _role_options(page):
    import re

    select = re.search(r'<select name="steps-0-roles".*?</select>', page, re.S)
    return re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', select.group(0))


def test_the_admin_step_rows_offer_only_the_sops_own_roles(client_for, sop1):
    options = _role_options(
        client_for("admin").get(f"/admin/activities/sop/{sop1.pk}/change/").content.decode()
    )
    assert sorted(options) == sorted(sop1.unit.roles.values_list("name", flat=True))


def test_a_new_sops_step_rows_name_each_roles_unit(client_for):
    page = client_for("admin").get("/admin/activities/sop/add/").content.decode()
    page = page.replace("steps-__prefix__-roles", "steps-0-roles")
    options = _role_options(page)
    assert "Kasi (Kesbangpol)" in options and "Tim (Diskominfo)" in options
    assert "Kasi" not in options


def test_the_steps_roles_read_together_keep_the_order_the_sop_gives_them(
    sop1, django_assert_num_queries
):
    from activities.models import Step

    first, second = (Step.objects.get(pk=step.pk) for step in sop1.steps.order_by("number")[:2])
    roles = list(Role.objects.filter(unit=sop1.unit).order_by("-position")[:3])
    first.roles.set([])
    for role in roles:
        first.roles.add(role)
    with django_assert_num_queries(1):
        Step.read_roles([first, second])
    with django_assert_num_queries(0):
        read = list(first.roles.all()), list(second.roles.all())
    links = Step.roles.through.objects.filter(step=second).order_by("id")
    assert read == (roles, [link.role for link in links])
