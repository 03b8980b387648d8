"""The SOP editor: who may edit, every rule shown at once on its cell, rearranging rows without
JavaScript, the live preview, saving a draft and clearing review notes."""

import pytest

from activities.authoring import editor, importers
from activities.authoring.forms import IDENTITY_FIELDS, SECTION_FIELDS
from activities.models import ReviewNote, Role, Sop, Step
from tests.test_importers import _seed_text


@pytest.fixture
def draft(sop1):
    return importers.import_source(sop1.unit, text=_seed_text("Kesbangpol")).sop


def _post(sop, rows=None, **extra):
    rows = editor.initial_rows(sop) if rows is None else rows
    data = {name: getattr(sop, name) for name in IDENTITY_FIELDS}
    for name, section, _label in SECTION_FIELDS:
        data[name] = "\n".join(sop.items(section))
    data.update(
        {
            "steps-TOTAL_FORMS": str(len(rows)),
            "steps-INITIAL_FORMS": str(len(rows)),
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "100",
        }
    )
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key == "roles":
                data[f"steps-{index}-roles"] = [str(pk) for pk in value]
            elif value is not None and value is not False:
                data[f"steps-{index}-{key}"] = "on" if value is True else str(value)
    data.update(extra)
    return data


def _sound_rows(sop):
    """The imported draft's rows with the person decisions of the fixture taken."""
    roles = {role.name: role.pk for role in sop.unit.roles.all()}
    rows = editor.initial_rows(sop)
    decided = {
        2: ("Kepala", "decision", 1),
        5: ("Kasi", "decision", 4),
        6: ("Kepala", "decision", 4),
        7: ("Kasubag TU", "process", None),
        12: ("Staf seksi", "process", None),
        13: ("Kasi", "decision", 12),
        14: ("Kepala", "decision", 12),
        15: ("Pengelola Administrasi Umum", "end", None),
    }
    for row in rows:
        if row["number"] in decided:
            role, kind, back = decided[row["number"]]
            row.update(roles=[roles[role]], kind=kind, return_number=back)
        elif row["number"] in (8, 10):
            row["roles"] = [roles["Staf seksi"]]
        elif row["number"] == 9:
            row["roles"] = [roles["Pengelola Administrasi Umum"]]
        elif row["number"] == 11:
            row["roles"] = [roles["Kasi"], roles["Staf seksi"]]
    rows[11]["standard_text"] = "2\thari"
    return rows


def test_editor_is_for_the_units_records_role_and_drafts_only(client_for, draft, sop1):
    url = f"/sop/{draft.pk}/ubah/"
    assert client_for("kasi").get(url).status_code == 403
    assert client_for("tim").get(url).status_code == 404
    assert client_for("outsider").get(url).status_code == 404
    page = client_for("kasubag_tu").get(url)
    assert page.status_code == 200 and "Tabel langkah" in page.content.decode()
    response = client_for("kasubag_tu").get(f"/sop/{sop1.pk}/ubah/")
    assert response.status_code == 302 and response["Location"] == sop1.get_absolute_url()
    assert client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/pratinjau/", {}).status_code == 400
    assert client_for("kasi").post(f"/sop/{draft.pk}/ubah/pratinjau/", {}).status_code == 403


def test_every_broken_rule_is_shown_at_once_on_its_row_and_cell(client_for, draft):
    rows = _sound_rows(draft)
    rows[1]["return_number"] = None  # decision 2 without a return target
    rows[3]["roles"] = []  # step 4 without a pelaksana
    rows[5]["standard_text"] = "sepuluh menit"  # waktu that does not parse
    rows[6]["kind"] = "start"  # a second Mulai
    rows[13]["return_number"] = 15  # a return forward
    before = [(s.number, s.kind, s.standard_text) for s in draft.steps.all()]
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    assert response.status_code == 200
    forms = response.context["steps"].forms
    errors = {(i, name) for i, form in enumerate(forms) for name in form.errors}
    assert errors == {
        (1, "return_number"),
        (3, "roles"),
        (5, "standard_text"),
        (0, "kind"),
        (6, "kind"),
        (13, "return_number"),
    }
    page = response.content.decode()
    assert "Draf belum disimpan" in page and "bukan waktu yang dikenali" in page
    assert "tujuan pengembalian" in page and "belum memiliki pelaksana" in page
    assert [(s.number, s.kind, s.standard_text) for s in draft.steps.all()] == before


def test_saving_a_sound_table_writes_the_draft_and_clears_the_checked_notes(client_for, draft):
    rows = _sound_rows(draft)
    note = draft.review_notes.get(field="section:records")
    for row in rows:
        row["reviewed"] = True
    data = _post(draft, rows, confirm_note=[str(note.pk)], section_equipment="ATK\nKomputer")
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    draft.refresh_from_db()
    assert draft.standard_total_display() == "5 hari 4 jam 45 menit"
    assert draft.steps.get(number=13).return_to.number == 12
    assert draft.items("equipment") == ["ATK", "Komputer"]
    assert not ReviewNote.objects.filter(sop=draft).exists()
    assert draft.status == Sop.Status.DRAFT


def test_changing_a_cell_clears_only_that_cells_note(client_for, draft):
    rows = _sound_rows(draft)
    rows[11]["standard_text"] = "2\tMenit"  # step 12 as the document wrote it
    rows[5]["roles"] = [Role.objects.get(unit=draft.unit, name="Kepala").pk]  # unchanged
    client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    left = {(n.step.number, n.field) for n in draft.review_notes.exclude(step=None)}
    assert (12, "standard") in left and (6, "roles") in left
    assert (5, "roles") not in left  # chosen: the importer had left it empty
    assert (2, "kind") not in left  # step 2 became a decision: its kind was decided


def test_rows_are_added_and_moved_without_saving_and_return_targets_follow(client_for, draft):
    client = client_for("kasubag_tu")
    rows = _sound_rows(draft)
    response = client.post(f"/sop/{draft.pk}/ubah/", _post(draft, rows, action="down-3"))
    moved = response.context["steps"].initial
    assert [r["number"] for r in moved] == list(range(1, 16))
    assert moved[4]["activity"].startswith("Membuat Jadwal")  # old step 4 is now 5
    assert moved[5]["return_number"] == 5  # step 6 returned to old 4, now 5
    response = client.post(f"/sop/{draft.pk}/ubah/", _post(draft, rows, action="add-0"))
    added = response.context["steps"].initial
    assert len(added) == 16 and not added[1].get("activity") and added[2]["number"] == 3
    assert draft.steps.count() == 15 and draft.steps.get(number=5).activity.startswith("Mengoreksi")


def test_a_role_of_the_unit_is_added_from_the_editor_keeping_the_input(client_for, draft):
    rows = _sound_rows(draft)
    rows[0]["activity"] = "Diubah, belum disimpan"
    data = _post(
        draft, rows, action="tambah-jabatan", new_role_name="Bendahara", new_role_kind="member"
    )
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", data)
    assert Role.objects.filter(unit=draft.unit, name="Bendahara").exists()
    page = response.content.decode()
    assert "Diubah, belum disimpan" in page and "Bendahara" in page
    again = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", data)
    assert "sudah ada" in again.content.decode()


def test_a_role_of_another_unit_is_refused_on_its_cell(client_for, draft):
    rows = _sound_rows(draft)
    rows[2]["roles"] = [Role.objects.get(name="Tim").pk]
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    assert response.status_code == 200
    assert "roles" in response.context["steps"].forms[2].errors


def test_the_preview_draws_the_input_as_it_stands(client_for, draft):
    rows = _sound_rows(draft)
    rows[0]["roles"] = [Role.objects.get(unit=draft.unit, name="Kepala").pk]
    rows[2]["standard_text"] = "tiga puluh"
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/pratinjau/", _post(draft, rows))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-symbol="decision"' in page and "Pengelola Administrasi Umum" in page
    assert "<html" not in page  # a fragment for htmx


def test_new_sop_starts_as_an_empty_draft(client_for, sop1):
    client = client_for("kasubag_tu")
    response = client.post("/sop/baru/", {"unit": sop1.unit_id, "name": "SOP Baru Uji"})
    sop = Sop.objects.get(name="SOP Baru Uji")
    assert response["Location"] == f"/sop/{sop.pk}/ubah/"
    assert (sop.status, sop.version, sop.approver_name) == ("draft", 1, sop1.unit.head_name)
    page = client.get(response["Location"]).content.decode()
    assert page.count('name="steps-0-activity"') == 1 and 'name="steps-1-activity"' in page
    clash = client.post("/sop/baru/", {"unit": sop1.unit_id, "name": sop1.name})
    assert clash.status_code == 200 and "sudah ada" in clash.content.decode()
    assert client_for("kasi").get("/sop/baru/").status_code == 403


def test_a_revision_of_the_version_in_force_opens_in_the_editor(client_for, sop1):
    client = client_for("kasubag_tu")
    response = client.post(f"/sop/{sop1.pk}/revisi/")
    revision = Sop.objects.get(unit=sop1.unit, name=sop1.name, version=2)
    assert response["Location"] == f"/sop/{revision.pk}/ubah/"
    assert client.post(f"/sop/{sop1.pk}/revisi/")["Location"] == response["Location"]
    assert client_for("kasi").post(f"/sop/{sop1.pk}/revisi/").status_code == 403
    assert Step.objects.filter(sop=revision).count() == 15


HUGE = "9" * 30


@pytest.mark.parametrize(
    "change",
    [
        {"steps-TOTAL_FORMS": HUGE},
        {"steps-TOTAL_FORMS": "abc"},
        {"steps-0-number": HUGE},
        {"steps-0-id": HUGE},
        {"steps-0-roles": ["abc", HUGE]},
        {"steps-0-return_number": "-1"},
        {"steps-0-activity": "a\x00b"},
        {"steps-0-kind": "<script>"},
        {"action": "up-" + HUGE},
        {"action": "add-" + HUGE},
        {"action": "nonsense"},
        {"confirm_note": [HUGE, "abc"]},
        {"name": "x" * 5000},
    ],
)
def test_hostile_editor_input_is_refused_without_a_500(client_for, draft, change):
    before = sorted(draft.steps.values_list("number", "activity", "kind", "standard_text"))
    client = client_for("kasubag_tu")
    data = _post(draft, _sound_rows(draft))
    data.update(change)
    for url in (f"/sop/{draft.pk}/ubah/", f"/sop/{draft.pk}/ubah/pratinjau/"):
        response = client.post(url, data)
        assert response.status_code in (200, 302, 400), url
    after = sorted(draft.steps.values_list("number", "activity", "kind", "standard_text"))
    if "action" not in change and "confirm_note" not in change and "steps-0-id" not in change:
        assert after == before


def _saved_table(draft):
    return [(s.number, s.activity) for s in draft.steps.order_by("number")]


def test_a_row_ticked_hapus_is_dropped_and_the_rest_renumbered_on_save(client_for, draft):
    rows = _sound_rows(draft)
    before = _saved_table(draft)
    rows[2]["DELETE"] = True  # step 3; steps 5 and 6 return to step 4, which becomes 3
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    assert response.status_code == 302, response.context["errors"]
    kept = before[:2] + before[3:]
    assert _saved_table(draft) == [(n, text) for n, (_old, text) in enumerate(kept, start=1)]
    assert draft.steps.get(number=4).return_to.number == 3
    assert draft.steps.get(number=12).return_to.number == 11


def test_a_return_to_a_deleted_step_asks_for_a_new_target(client_for, draft):
    rows = _sound_rows(draft)
    rows[3]["DELETE"] = True  # step 4, the target of steps 5 and 6
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    assert response.status_code == 200
    forms = response.context["steps"].forms
    assert len(forms) == 14 and "return_number" in forms[3].errors
    assert draft.steps.count() == 15


def test_a_new_row_posted_after_selesai_is_saved_before_it(client_for, draft):
    rows = _sound_rows(draft)
    staf = Role.objects.get(unit=draft.unit, name="Staf seksi").pk
    rows.append(
        {
            "number": 16,
            "activity": "Mengarsipkan laporan",
            "roles": [staf],
            "kind": "process",
            "standard_text": "15 menit",
        }
    )
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ubah/", _post(draft, rows))
    assert response.status_code == 302, response.context["errors"]
    assert _saved_table(draft)[14] == (15, "Mengarsipkan laporan")
    assert draft.steps.get(number=16).kind == "end"


def test_tambah_langkah_adds_the_row_above_selesai(client_for, draft):
    rows = _sound_rows(draft)
    response = client_for("kasubag_tu").post(
        f"/sop/{draft.pk}/ubah/", _post(draft, rows, action="add")
    )
    added = response.context["steps"].initial
    assert [r["number"] for r in added] == list(range(1, 17))
    assert not added[14].get("activity") and added[15]["kind"] == "end"
