"""SOP definitions: the seed fixtures as data, the loader's validation, and the admin."""

import copy
import json

import pytest
from django.conf import settings

from activities.authoring.definitions import SopFileError, load_sop, read_sop_file
from activities.models import Role, Sop, SopItem, Step, Unit

SOP1_FILE = settings.BASE_DIR / "fixtures" / "sop-kesbangpol-sosialisasi.json"
SOP2_FILE = settings.BASE_DIR / "fixtures" / "sop-diskominfo-wawaran.json"


def test_seed_sop1_is_the_document(sop1):
    steps = list(sop1.steps.prefetch_related("roles").order_by("number"))
    assert len(steps) == 15
    assert sop1.standard_total_display() == "5 hari 4 jam 45 menit"
    assert steps[0].kind == Step.Kind.START and steps[-1].kind == Step.Kind.END
    assert [r.name for r in steps[10].roles.all()] == ["Kasi", "Staf seksi"]
    assert steps[11].standard_text == "2\thari"  # the documented correction of "2 Menit"
    returns = {s.number: s.return_to.number for s in steps if s.return_to_id}
    assert returns == {2: 1, 5: 4, 6: 4, 13: 12, 14: 12}
    assert [role.name for role in sop1.columns()] == [
        "Kepala",
        "Kasubag TU",
        "Kasi",
        "Staf seksi",
        "Pengelola Administrasi Umum",
    ]
    assert len(sop1.items(SopItem.Section.LEGAL_BASIS)) == 3
    assert sop1.approver_nip == "196406061985031015"


def test_seed_sop2_is_the_document(sop2):
    steps = list(sop2.steps.order_by("number"))
    assert len(steps) == 9
    assert sop2.standard_total_display() == "3 jam 5 menit"
    returns = {s.number: s.return_to.number for s in steps if s.return_to_id}
    assert returns == {3: 2, 5: 4}
    assert sop2.approver_nip == "197301041997032001"


def test_loading_twice_changes_nothing(sop1):
    counts = (Unit.objects.count(), Role.objects.count(), Sop.objects.count(), Step.objects.count())
    sop, created = load_sop(read_sop_file(SOP1_FILE))
    assert (sop, created) == (sop1, False)
    after = (Unit.objects.count(), Role.objects.count(), Sop.objects.count(), Step.objects.count())
    assert after == counts


def _sop1_data():
    return json.loads(SOP1_FILE.read_text(encoding="utf-8"))


def _new_unit_sop_data():
    """SOP 1's file for a unit the database does not hold yet: a refused file must leave no
    unit, role, SOP or step of it behind."""
    data = _sop1_data()
    data["unit"].update(short_name="Dispora", name="Dinas Pemuda dan Olahraga")
    return data


def _everything():
    return (Unit.objects.count(), Role.objects.count(), Sop.objects.count(), Step.objects.count())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["steps"][0].update(standard="lima menit"), "bukan waktu yang dikenali"),
        (lambda d: d["steps"][0].update(standard=""), "wajib diisi"),
        (lambda d: d["steps"][0].update(standard="-5 menit"), "tidak boleh negatif"),
        (lambda d: d["steps"][0].update(standard="3 minggu"), "Satuan waktu"),
        (lambda d: d["steps"][3].update(kind="start"), "tepat satu langkah Mulai"),
        (lambda d: d["steps"][3].update(kind="end"), "tepat satu langkah Selesai"),
        (lambda d: d["steps"][5].update(number=17), "berurutan"),
        (lambda d: d["steps"][1].pop("return_to"), "tujuan pengembalian"),
        (lambda d: d["steps"][1].update(return_to=3), "langkah sebelumnya"),
        (lambda d: d["steps"][2].update(roles=["Lurah"]), "tidak ada di daftar jabatan"),
        (lambda d: d["steps"][2].update(roles=[]), "belum memiliki pelaksana"),
    ],
)
def test_loader_refuses_a_broken_sop_with_a_clear_message(db, change, message):
    data = _new_unit_sop_data()
    data["sop"]["version"] = 2
    change(data)
    before = _everything()
    with pytest.raises(SopFileError, match=message):
        load_sop(data)
    assert _everything() == before
    assert not Unit.objects.filter(short_name="Dispora").exists()


def test_load_sops_command_reports_the_file_and_the_reason(db, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    data = _new_unit_sop_data()
    data["steps"][0]["standard"] = "lima menit"
    path = tmp_path / "sop-broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = _everything()
    with pytest.raises(CommandError, match="sop-broken.json: Langkah 1"):
        call_command("load_sops", str(path))
    assert _everything() == before
    assert not Unit.objects.filter(short_name="Dispora").exists()


def _inline(prefix, rows, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def _new_sop_post(unit, steps):
    post = {
        "unit": str(unit.pk),
        "section_name": "Seksi Uji",
        "number": "001/UJI/2026",
        "name": "SOP Uji",
        "version": "1",
        "status": "draft",
        "approver_nip": "19640606 198503 1 015",
    }
    post.update(_inline("sop_items", []))
    post.update(_inline("steps", steps))
    return post


def _step(number, kind, role, standard="15 menit", return_number=""):
    return {
        "number": str(number),
        "kind": kind,
        "roles": [str(role.pk)],
        "activity": f"Aktivitas {number}",
        "standard_text": standard,
        "return_number": str(return_number),
        "requirements": "",
        "output": "",
        "remarks": "",
    }


@pytest.fixture
def admin_client_seeded(client, users):
    client.force_login(users["admin"])
    return client


def test_admin_creates_a_sound_sop_and_links_the_return_target(admin_client_seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    kasi, kepala = (
        Role.objects.get(unit=unit, name="Kasi"),
        Role.objects.get(unit=unit, name="Kepala"),
    )
    steps = [
        _step(1, "start", kasi),
        _step(2, "decision", kepala, "1 Hari", return_number=1),
        _step(3, "end", kasi, "2\tjam"),
    ]
    response = admin_client_seeded.post("/admin/activities/sop/add/", _new_sop_post(unit, steps))
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    sop = Sop.objects.get(name="SOP Uji")
    assert sop.approver_nip == "196406061985031015"
    step2 = sop.steps.get(number=2)
    assert step2.return_to.number == 1 and step2.standard_minutes == 450
    assert sop.standard_total_display() == "1 hari 2 jam 15 menit"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            lambda r: [_step(1, "start", r[0]), _step(2, "start", r[0]), _step(3, "end", r[0])],
            "tepat satu langkah Mulai",
        ),
        (lambda r: [_step(1, "start", r[0]), _step(3, "end", r[0])], "berurutan"),
        (
            lambda r: [_step(1, "start", r[0]), _step(2, "decision", r[0]), _step(3, "end", r[0])],
            "tujuan pengembalian",
        ),
        (lambda r: [_step(1, "start", r[0]), _step(2, "end", r[1])], "unit kerja SOP ini"),
        (
            lambda r: [_step(1, "start", r[0], "lima menit"), _step(2, "end", r[0])],
            "bukan waktu yang dikenali",
        ),
    ],
)
def test_admin_refuses_a_broken_step_table(admin_client_seeded, steps, message):
    unit = Unit.objects.get(short_name="Kesbangpol")
    roles = [Role.objects.get(unit=unit, name="Kasi"), Role.objects.get(name="Tim")]
    response = admin_client_seeded.post(
        "/admin/activities/sop/add/", _new_sop_post(unit, steps(roles))
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Sop.objects.filter(name="SOP Uji").exists()


def test_a_sop_with_runs_is_frozen_in_the_admin(admin_client_seeded, sop1, users):
    import datetime

    from activities.core import workflow

    workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Uji",
        scheduled_on=datetime.date(2026, 11, 30),
        place="Aula",
    )
    response = admin_client_seeded.get(f"/admin/activities/sop/{sop1.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "tidak dapat diubah" in html
    assert 'name="steps-0-activity"' not in html  # steps are shown, not editable
    assert "Rekomendasi dari Kepala kantor mengenai persetujuan kegiatan" in html


def test_revision_copies_the_sop_as_a_new_draft_version(admin_client_seeded, sop1):
    response = admin_client_seeded.post(
        "/admin/activities/sop/",
        {"action": "make_revision", "_selected_action": [str(sop1.pk)]},
    )
    assert response.status_code == 302
    revision = Sop.objects.get(name=sop1.name, version=2)
    assert revision.status == Sop.Status.DRAFT and revision.previous == sop1
    assert revision.steps.count() == 15
    assert revision.standard_total_display() == "5 hari 4 jam 45 menit"
    assert revision.steps.get(number=14).return_to.number == 12
    assert revision.steps.get(number=14).return_to.sop == revision


@pytest.mark.parametrize("username", ["kasi", "kepala", "outsider"])
def test_admin_is_for_administrators_only(client, users, username):
    client.force_login(users[username])
    response = client.get("/admin/activities/sop/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_lists_every_model(admin_client_seeded):
    for model in ["unit", "role", "sop", "run", "event", "attachment", "archivedreport"]:
        assert admin_client_seeded.get(f"/admin/activities/{model}/").status_code == 200


def test_fixture_files_are_untouched_by_loading():
    before = copy.deepcopy(read_sop_file(SOP2_FILE))
    assert before["steps"][6]["roles"] == ["Tim", "Kernet/Supir"]


def test_user_admin_shows_and_edits_held_roles(admin_client_seeded, users):
    response = admin_client_seeded.get(f"/admin/auth/user/{users['kasi'].pk}/change/")
    assert response.status_code == 200
    assert "jabatan yang dipegang" in response.content.decode().lower()
    listing = admin_client_seeded.get("/admin/auth/user/").content.decode()
    assert "Kasi (Kesbangpol)" in listing


def test_a_frozen_sop_can_still_be_retired_from_its_change_form(admin_client_seeded, sop1, users):
    import datetime
    import re

    from activities.core import workflow

    workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Uji",
        scheduled_on=datetime.date(2026, 11, 30),
        place="Aula",
    )
    url = f"/admin/activities/sop/{sop1.pk}/change/"
    html = admin_client_seeded.get(url).content.decode()
    # Everything the browser would send back: the hidden inputs (management forms, ids).
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    data.update({"status": "retired", "_save": "Simpan"})
    response = admin_client_seeded.post(url, data)
    assert response.status_code == 302
    sop1.refresh_from_db()
    assert sop1.status == Sop.Status.RETIRED
    assert sop1.steps.count() == 15


def test_check_steps_reports_every_broken_rule_at_once_on_its_row_and_cell():
    from activities.authoring.definitions import StepSpec, check_steps

    specs = [
        StepSpec(
            number=1,
            kind="process",
            role_unit_ids=(1,),
            return_to=None,
            standard="15 menit",
            row="a",
        ),
        StepSpec(
            number=2, kind="decision", role_unit_ids=(), return_to=None, standard="lima", row="b"
        ),
        StepSpec(
            number=2, kind="decision", role_unit_ids=(9,), return_to=5, standard="1 jam", row="c"
        ),
        StepSpec(number=4, kind="end", role_unit_ids=(1,), return_to=3, standard="", row="d"),
    ]
    errors = {(error.row, error.field) for error in check_steps(1, specs)}
    assert errors == {
        (None, None),  # no Mulai at all
        ("b", "roles"),
        ("b", "return_to"),
        ("b", "standard"),
        ("c", "number"),
        ("c", "roles"),
        ("c", "return_to"),
        ("d", "return_to"),
        ("d", "standard"),
    }


def test_admin_shows_the_table_rules_while_a_waktu_is_still_wrong(admin_client_seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    kasi = Role.objects.get(unit=unit, name="Kasi")
    steps = [
        _step(1, "start", kasi, "lima menit"),
        _step(2, "decision", kasi),
        _step(3, "process", kasi),
    ]
    response = admin_client_seeded.post("/admin/activities/sop/add/", _new_sop_post(unit, steps))
    page = response.content.decode()
    assert "bukan waktu yang dikenali" in page
    assert "tujuan pengembalian" in page and "tepat satu langkah Selesai" in page
