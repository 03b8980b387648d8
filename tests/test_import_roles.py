"""Pelaksana of an imported document: roles the unit lacks are only proposed by the draft
(with the unit's roles of a near name as review notes) and made roles of the unit when the
draft is approved; where the symbols are lost, the pelaksana is read from the activity text or
left for the reviewer to choose."""

import pytest

from activities.authoring import definitions, importers, pengesahan
from activities.models import Role, Sop, Unit
from tests.test_importers import _seed_text

pytestmark = pytest.mark.django_db

# The document spells two of the unit's roles its own way and names one it does not have.
RENAMED = {"Kasubag TU": "KASUBAG UMUM", "Staf seksi": "STAF", "Kepala": "SEKRETARIS"}


def _document(sop):
    data = definitions.export_sop(sop)
    data["sop"]["name"] = "Pengelolaan Surat Masuk"
    data["sop"]["number"] = "800/SM/2026"
    for role in data["roles"]:
        role["name"] = RENAMED.get(role["name"], role["name"])
        role.pop("reports_to", None)
    for step in data["steps"]:
        step["roles"] = [RENAMED.get(name, name) for name in step["roles"]]
    return importers.write_docx(data)


def test_an_import_proposes_roles_in_the_draft_and_the_unit_gets_them_on_approval(
    client_for, users, sop1
):
    unit = sop1.unit
    live_before = set(unit.roles.live().values_list("name", flat=True))
    result = importers.import_source(unit, data=_document(sop1))
    draft = result.sop
    assert sorted(result.new_roles) == ["KASUBAG UMUM", "SEKRETARIS", "STAF"]
    proposed = Role.objects.filter(unit=unit, proposed=True)
    assert set(proposed.values_list("name", flat=True)) == set(RENAMED.values())
    # Nothing of the unit offers them yet: its role lists, the delegasi form, the template.
    assert set(unit.roles.live().values_list("name", flat=True)) == live_before
    delegasi = client_for("kepala").get("/delegasi/").content.decode()
    assert "SEKRETARIS" not in delegasi
    # The draft's editor offers them beside the unit's roles.
    editor = client_for("kasubag_tu").get(f"/sop/{draft.pk}/ubah/").content.decode()
    assert "SEKRETARIS" in editor and "Staf seksi" in editor

    (general,) = draft.review_notes.filter(step=None, field="roles")
    assert "STAF (mirip jabatan unit: Staf seksi)" in general.message
    assert "KASUBAG UMUM (mirip jabatan unit: Kasubag TU)" in general.message
    assert "baru dibuat bila draf disahkan" in general.message
    step_notes = draft.review_notes.filter(step__number=4, field="roles")
    assert "mirip jabatan unit Staf seksi" in step_notes.get().message

    # The reviewer settles the notes; the pimpinan approves; the roles become the unit's.
    draft.review_notes.all().delete()
    pengesahan.submit(draft, users["kasubag_tu"])
    pengesahan.approve(draft, users["kepala"])
    assert Sop.objects.get(pk=draft.pk).status == Sop.Status.ACTIVE
    assert not Role.objects.filter(unit=unit, proposed=True).exists()
    assert {"KASUBAG UMUM", "SEKRETARIS", "STAF"} <= set(
        unit.roles.live().values_list("name", flat=True)
    )


def test_a_replaced_draft_takes_its_unused_proposals_away(sop1):
    unit = sop1.unit
    first = importers.import_source(unit, data=_document(sop1)).sop
    assert Role.objects.filter(unit=unit, proposed=True).count() == 3
    # The corrected document uses the unit's own roles.
    data = definitions.export_sop(sop1)
    data["sop"]["name"], data["sop"]["number"] = "Pengelolaan Surat Masuk", "800/SM/2026"
    again = importers.import_source(unit, data=importers.write_docx(data), replace=first.pk)
    assert again.replaced and again.sop.pk == first.pk and again.new_roles == []
    assert not Role.objects.filter(unit=unit, proposed=True).exists()


def test_near_names_are_matched_without_case_spacing_or_abbreviation(seeded):
    roles = list(Unit.objects.get(short_name="Kesbangpol").roles.all())

    def near(name):
        return [role.name for role in importers.near_roles(name, roles)]

    assert near("STAF") == ["Staf seksi"]
    assert near("KASUBAG  UMUM") == ["Kasubag TU"]
    assert near("Pengelola Adm. Umum") == ["Pengelola Administrasi Umum"]
    assert near("PAU") == ["Pengelola Administrasi Umum"]
    assert near("Bendahara") == []


def test_pasted_seed_002_without_symbols_is_not_one_role_for_every_step(seeded):
    unit = Unit.objects.get(short_name="Diskominfo")
    imported = importers.read_text(_seed_text("Diskominfo"), list(unit.roles.all()))
    roles = {step.number: step.roles for step in imported.steps}
    assert len(roles) == 9
    # Was "Kepala Bidang DIKP" for all nine: now only where the activity is the head's act.
    assert [n for n, r in roles.items() if r == ["Kepala Bidang DIKP"]] == [3, 5, 9]
    # Nothing in the text says who does the others: left empty for the reviewer to choose.
    assert all(roles[n] == [] for n in (1, 2, 4, 6, 7, 8))
    for step in imported.steps:
        assert "roles" in step.notes
        if not step.roles:
            assert "pilih pelaksana" in step.notes["roles"]
    # The draft keeps them empty and cannot be submitted until they are chosen.
    result = importers.import_source(unit, text=_seed_text("Diskominfo"))
    assert not result.sop.steps.get(number=1).roles.exists()
    assert any("belum memiliki pelaksana" in p for p in pengesahan.blockers(result.sop))


def test_a_role_named_in_the_activity_is_proposed_unless_it_is_the_recipient(seeded):
    unit = Unit.objects.get(short_name="Diskominfo")
    text = _seed_text("Diskominfo").replace(
        "Membuat narasi wawaran", "Membuat narasi wawaran oleh Tim"
    )
    imported = importers.read_text(text, list(unit.roles.all()))
    roles = {step.number: step.roles for step in imported.steps}
    assert roles[4] == ["Tim"]
    # "Briefing dengan tim": the team is briefed, it does not brief.
    assert roles[2] == []
    assert importers.mentioned_role("Kernet menyiapkan mobil", ["Tim", "Kernet/Supir"]) == (
        "Kernet/Supir"
    )
    assert importers.mentioned_role("Laporan diserahkan kepada TU", ["Kasubag TU"]) is None
    assert importers.mentioned_role("Agenda surat oleh TU", ["Kasi", "Kasubag TU"]) == (
        "Kasubag TU"
    )
