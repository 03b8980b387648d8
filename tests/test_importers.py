"""Import of SOP documents (pasted text, DOCX, XLSX, JSON) and the portable JSON format."""

import datetime
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from activities.authoring import definitions, importers, sopdoc
from activities.core import workflow
from activities.models import ReviewNote, Role, Sop, SopItem, Step, Unit

SEEDS = Path("/work/shared/seeds")
ROOT = Path(__file__).resolve().parent.parent
SEED_TEXTS = {
    "Kesbangpol": ("000_a0ad7d7594363d18.txt", "sop-kesbangpol-sosialisasi.json"),
    "Diskominfo": ("002_89da76ed8ceb7793.txt", "sop-diskominfo-wawaran.json"),
}
# Fields a person never has to decide: the importer copies them as written.
VERBATIM = ("activity", "requirements", "output")
# What a lost symbol or an unstated return target leaves to a person.
DECISIONS = ("roles", "kind", "return_to")


def _seed_text(unit):
    path = SEEDS / SEED_TEXTS[unit][0]
    if not path.exists():
        path = ROOT / "tests" / "data" / SEED_TEXTS[unit][0]
    return path.read_text(encoding="utf-8")


def _fixture(unit):
    return json.loads((ROOT / "fixtures" / SEED_TEXTS[unit][1]).read_text(encoding="utf-8"))


def _counts():
    return (
        Sop.objects.count(),
        Step.objects.count(),
        Role.objects.count(),
        SopItem.objects.count(),
        ReviewNote.objects.count(),
    )


@pytest.mark.parametrize("unit_name", ["Kesbangpol", "Diskominfo"])
def test_seed_text_imports_the_fixture_steps_with_only_person_decisions_marked(seeded, unit_name):
    unit = Unit.objects.get(short_name=unit_name)
    fixture = _fixture(unit_name)
    imported = importers.read_text(_seed_text(unit_name), list(unit.roles.all()))
    assert imported.fields["name"] == fixture["sop"]["name"]
    assert imported.fields["number"] == fixture["sop"]["number"]
    assert imported.fields["approver_name"] == fixture["sop"]["approver_name"]
    assert imported.columns == [role["name"] for role in fixture["roles"]]
    assert len(imported.steps) == len(fixture["steps"])
    for step, expected in zip(imported.steps, fixture["steps"], strict=True):
        assert step.number == expected["number"]
        for name in VERBATIM:
            assert getattr(step, name) == expected.get(name, ""), (step.number, name)
        if "standard" not in step.notes:
            assert step.standard == expected["standard"], step.number
        assert set(step.notes) <= {"roles", "kind", "return_to", "standard"}, step.number
        got = {"roles": step.roles, "kind": step.kind, "return_to": step.return_to}
        for name in DECISIONS:
            if got[name] != expected.get(name):
                # A return target follows from the kind: a marked kind covers both.
                covered = {name, "kind"} if name == "return_to" else {name}
                assert covered & set(step.notes), (step.number, name, got[name])


def test_sop1_step_12_waktu_is_marked_because_the_documents_total_needs_2_hari(seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    imported = importers.read_text(_seed_text("Kesbangpol"), list(unit.roles.all()))
    marked = {
        step.number: step.notes["standard"] for step in imported.steps if "standard" in step.notes
    }
    assert list(marked) == [12]
    assert "2 hari" in marked[12] and "5 hari 4 jam 45 menit" in marked[12]
    # Where the symbol survived, the performer is read from its column and not marked.
    first = imported.steps[0]
    assert first.roles == ["Kasi"] and "roles" not in first.notes


def test_importing_a_seed_text_makes_a_draft_revision_and_activates_nothing(seeded, sop1):
    result = importers.import_source(sop1.unit, text=_seed_text("Kesbangpol"))
    draft = result.sop
    assert (draft.status, draft.version, draft.previous) == (Sop.Status.DRAFT, 2, sop1)
    sop1.refresh_from_db()
    assert sop1.status == Sop.Status.ACTIVE
    assert draft.steps.count() == 15 and result.new_roles == []
    notes = {(n.step.number if n.step else None, n.field) for n in draft.review_notes.all()}
    assert (12, "standard") in notes and (5, "roles") in notes
    assert (1, "roles") not in notes
    assert draft.items("legal_basis") == sop1.items("legal_basis")


def _export(unit_name):
    sop = Sop.objects.get(unit__short_name=unit_name, version=1)
    return definitions.export_sop(sop)


@pytest.mark.parametrize("unit_name", ["Kesbangpol", "Diskominfo"])
def test_generated_docx_in_the_official_layout_imports_correctly(seeded, unit_name):
    data = _export(unit_name)
    unit = Unit.objects.get(short_name=unit_name)
    imported = importers.read_docx(importers.write_docx(data), list(unit.roles.all()))
    for key in ("name", "number", "approver_title", "approver_name", "approver_rank"):
        assert imported.fields[key] == data["sop"][key], key
    assert imported.sections == {k: v for k, v in data["sections"].items()}
    for step, expected in zip(imported.steps, data["steps"], strict=True):
        assert step.roles == expected["roles"] and step.kind == expected["kind"]
        assert " ".join(step.standard.split()) == " ".join(expected["standard"].split())
        for name in (*VERBATIM, "remarks"):
            assert getattr(step, name) == expected[name]
        assert step.return_to == expected.get("return_to")
        assert step.completion == expected.get("completion")
        # The layout has no column for the return target: it is the one thing marked.
        assert set(step.notes) == ({"return_to"} if expected["kind"] == "decision" else set())


@pytest.mark.parametrize(("completion", "quorum"), [("all", None), ("quorum", 2)])
def test_a_docx_export_keeps_who_completes_a_joint_step(seeded, completion, quorum):
    """The layout has no column for the rule: the Keterangan states it and is read back."""
    data = _export("Diskominfo")
    joint = next(step for step in data["steps"] if step.get("completion"))
    joint.update(completion=completion, remarks="Membawa pengeras suara.")
    if quorum:
        joint["quorum"] = quorum
    unit = Unit.objects.get(short_name="Diskominfo")
    imported = importers.read_docx(importers.write_docx(data), list(unit.roles.all()))
    by_number = {step.number: step for step in imported.steps}
    step = by_number[joint["number"]]
    assert (step.completion, step.quorum) == (completion, quorum)
    assert step.remarks == "Membawa pengeras suara."
    others = [s for s in imported.steps if s.number != joint["number"]]
    assert all(s.completion is None and s.quorum is None for s in others)


def test_the_printed_sop_states_who_completes_a_joint_step(seeded):
    sop = Sop.objects.get(unit__short_name="Diskominfo", version=1)
    rows = {row.number: row for page in sopdoc.build(sop, paged=True).pages for row in page.rows}
    assert rows[7].remarks.endswith("Dikerjakan bersama oleh semua pelaksana.")
    assert "pelaksana" not in rows[6].remarks
    Step.objects.filter(sop=sop, number=7).update(completion="quorum", quorum=2)
    rows = {row.number: row for page in sopdoc.build(sop, paged=True).pages for row in page.rows}
    assert rows[7].remarks.endswith("Cukup 2 pelaksana.")


def _template(unit, steps, identity=None):
    workbook = openpyxl.load_workbook(io.BytesIO(importers.template_xlsx(unit)))
    sheet = workbook["Identitas"]
    values = {"Nama SOP": "Pelayanan Surat Keterangan", "Nomor SOP": "005/SK/2026"}
    values.update(identity or {})
    for row in sheet.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    workbook["Bagian"].append(["Perwal No. 1 Tahun 2026", "S1", "", "Komputer\nPrinter"])
    for step in steps:
        workbook["Langkah"].append(step)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SIX_STEPS = [
    [1, "Menerima permohonan", "Kasi", "Mulai", None, "Formulir", "15 menit", "Berkas", ""],
    [2, "Memeriksa berkas", "Staf seksi", "Proses", None, "Berkas", "30 menit", "Catatan", ""],
    [3, "Menyusun konsep surat", "Staf seksi", "Proses", None, "Catatan", "1 jam", "Konsep", ""],
    [4, "Menandatangani surat", "Kepala", "Keputusan", 3, "Konsep", "10 menit", "Surat", ""],
    [5, "Penomoran surat", "Kasubag TU", "Proses", None, "Surat", "10 menit", "Nomor", ""],
    [6, "Menyerahkan surat", "Kasi", "Selesai", None, "Surat", "1 hari", "Tanda terima", ""],
]


def test_filled_xlsx_template_imports_correctly(seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    imported = importers.read_xlsx(_template(unit, SIX_STEPS), list(unit.roles.all()))
    assert imported.fields["name"] == "Pelayanan Surat Keterangan"
    assert imported.sections["legal_basis"] == ["Perwal No. 1 Tahun 2026"]
    assert imported.sections["equipment"] == ["Komputer", "Printer"]
    assert [s.kind for s in imported.steps] == [
        "start",
        "process",
        "process",
        "decision",
        "process",
        "end",
    ]
    assert imported.steps[3].return_to == 3 and imported.steps[3].roles == ["Kepala"]
    assert imported.steps[5].standard == "1 hari"
    assert imported.note_count == 0


def test_xlsx_template_marks_the_doubtful_cells_and_the_draft_keeps_them(seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    steps = [list(row) for row in SIX_STEPS]
    steps[1][2] = ""  # no pelaksana
    steps[2][6] = "sejam"  # a waktu that does not parse
    steps[3][4] = None  # a decision without a return target
    result = importers.import_source(unit, data=_template(unit, steps))
    notes = {(n.step.number, n.field) for n in result.sop.review_notes.select_related("step")}
    assert notes == {(2, "roles"), (3, "standard"), (4, "return_to")}
    assert result.sop.status == Sop.Status.DRAFT
    assert result.sop.steps.get(number=4).return_to.number == 3


def test_xlsx_sheet_in_the_official_matrix_layout_imports(seeded):
    unit = Unit.objects.get(short_name="Diskominfo")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Nama SOP", "Uji Matriks"])
    sheet.append(["NO", "KEGIATAN", "PELAKSANA", None, "MUTU BAKU", None, None])
    sheet.append([None, None, "Sub Kor DIMC", "Tim", "KELENGKAPAN", "WAKTU", "OUTPUT"])
    sheet.append([1, "Mengumpulkan data", "○", None, "Data", "20 Menit", "Data"])
    sheet.append([2, "Membuat narasi", None, "□", "Data", 5, "Narasi"])
    sheet.append([3, "Menyerahkan narasi", "○", None, "Narasi", "1 jam", "Laporan"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = importers.read_xlsx(buffer.getvalue(), list(unit.roles.all()))
    assert [s.roles for s in imported.steps] == [["Sub Kor DIMC"], ["Tim"], ["Sub Kor DIMC"]]
    assert [s.kind for s in imported.steps] == ["start", "process", "end"]
    assert imported.steps[1].notes.keys() == {"standard"}  # "5" has no unit


def _steps_text(count):
    header = "NO\tAktivitas\tPelaksana\t\tMutu Baku\t\t\n\t\tKasi\tStaf seksi\tKelengkapan\tWaktu\tOutput"
    rows = [f"{n}\tLangkah {n}\t\t□\tATK\t5 menit\tHasil {n}" for n in range(1, count + 1)]
    return "Nama SOP\tUji\n" + header + "\n" + "\n".join(rows)


def _docx_without_steps():
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=5)
    for cell, text in zip(
        table.rows[0].cells, ["NO", "Aktivitas", "Pelaksana", "Mutu Baku", ""], strict=True
    ):
        cell.text = text
    for cell, text in zip(
        table.rows[1].cells, ["", "", "Kasi", "Kelengkapan", "Waktu"], strict=True
    ):
        cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


REFUSED = [
    ("broken.docx", lambda: b"PK\x03\x04" + b"\x00" * 200, "rusak"),
    ("empty.xlsx", lambda: b"", None),
    ("zero.docx", _docx_without_steps, "tidak berisi satu langkah pun"),
    ("photo.png", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "Jenis berkas tidak didukung"),
    ("notes.pdf", lambda: b"%PDF-1.4 hello", "Jenis berkas tidak didukung"),
    ("other.json", lambda: b'{"hello": 1}', "bukan ekspor SOP sopflow"),
    ("bad.json", lambda: b"{not json", "JSON tidak sah"),
]


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_file_that_cannot_be_imported_gets_a_clear_message_and_creates_nothing(
    client_for, name, content, message
):
    client = client_for("kasubag_tu")
    unit = Unit.objects.get(short_name="Kesbangpol")
    before = _counts()
    upload = io.BytesIO(content())
    upload.name = name
    response = client.post("/sop/impor/", {"unit": unit.pk, "file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "SOP tidak diimpor" in page or "kosong" in page
    if message:
        assert message in page
    assert _counts() == before


@pytest.mark.parametrize(
    ("count", "message"), [(0, "tidak berisi satu langkah pun"), (300, "paling banyak 100 langkah")]
)
def test_pasted_text_with_0_or_300_steps_is_refused(client_for, count, message):
    client = client_for("kasubag_tu")
    unit = Unit.objects.get(short_name="Kesbangpol")
    before = _counts()
    response = client.post("/sop/impor/", {"unit": unit.pk, "text": _steps_text(count)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _counts() == before


def test_import_page_is_for_the_units_records_role(client_for, users):
    assert client_for("kasi").get("/sop/impor/").status_code == 403
    assert client_for("outsider").get("/sop/impor/").status_code == 403
    page = client_for("kasubag_tu").get("/sop/impor/")
    assert page.status_code == 200 and "template.xlsx" in page.content.decode()
    # Another unit's template is not his to download.
    other = Unit.objects.get(short_name="Diskominfo")
    assert (
        client_for("kasubag_tu").get(f"/sop/impor/template.xlsx?unit={other.pk}").status_code == 404
    )
    response = client_for("kasubag_tu").get("/sop/impor/template.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    roles = [row[0].value for row in workbook["Jabatan"].iter_rows(min_row=2)]
    assert "Kasubag TU" in roles and "Tim" not in roles


def test_a_unit_from_another_unit_cannot_be_chosen(client_for):
    other = Unit.objects.get(short_name="Diskominfo")
    before = _counts()
    response = client_for("kasubag_tu").post(
        "/sop/impor/", {"unit": other.pk, "text": _seed_text("Diskominfo")}
    )
    assert response.status_code == 200 and _counts() == before


def test_import_through_the_page_opens_the_draft(client_for, sop1):
    response = client_for("kasubag_tu").post(
        "/sop/impor/", {"unit": sop1.unit_id, "text": _seed_text("Kesbangpol")}
    )
    draft = Sop.objects.get(unit=sop1.unit, name=sop1.name, version=2)
    assert response.status_code == 302 and response["Location"] == f"/sop/{draft.pk}/ubah/"


# Portable definitions -------------------------------------------------------------------------


@pytest.mark.parametrize("unit_name", ["Kesbangpol", "Diskominfo"])
def test_json_export_round_trips_into_another_installation(seeded, unit_name):
    data = _export(unit_name)
    text = json.dumps(data)
    assert '"id"' not in text and '"pk"' not in text
    # Another installation: the same document lands in a unit that does not exist there yet.
    moved = json.loads(text)
    moved["unit"]["short_name"] = f"{unit_name}-B"
    sop, created = definitions.load_sop(moved)
    assert created and sop.unit.short_name == f"{unit_name}-B"
    again = definitions.export_sop(sop)
    again["unit"]["short_name"] = unit_name
    assert again == data


def test_json_export_of_a_version_with_runs_carries_no_database_ids(sop1, users):
    workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Sosialisasi",
        scheduled_on=datetime.date(2026, 12, 10),
        place="Aula",
    )
    sop1.refresh_from_db()
    assert sop1.role_names  # the version keeps its pelaksana names, by role id
    data = definitions.export_sop(sop1)
    assert "role_names" not in data["sop"]


def test_json_export_download_and_import_as_a_draft(client_for, sop1):
    response = client_for("kepala").get(f"/sop/{sop1.pk}/json/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert client_for("tim").get(f"/sop/{sop1.pk}/json/").status_code == 404
    upload = io.BytesIO(response.content)
    upload.name = "sop1.json"
    client = client_for("kasubag_tu")
    response = client.post("/sop/impor/", {"unit": sop1.unit_id, "file": upload})
    assert response.status_code == 302
    draft = Sop.objects.get(unit=sop1.unit, name=sop1.name, version=2)
    assert draft.status == Sop.Status.DRAFT and draft.previous == sop1
    assert definitions.export_sop(draft)["steps"] == definitions.export_sop(sop1)["steps"]


# Bulk onboarding ------------------------------------------------------------------------------


def test_import_sops_command_imports_a_folder_and_summarises(seeded, tmp_path):
    for unit_name in ("Kesbangpol", "Diskominfo"):
        data = _export(unit_name)
        data["roles"] = [{"name": r["name"], "kind": r["kind"]} for r in data["roles"]]
        (tmp_path / f"{unit_name}.docx").write_bytes(importers.write_docx(data))
    (tmp_path / "rusak.docx").write_bytes(b"PK\x03\x04 broken")
    (tmp_path / "catatan.md").write_text("ignored")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 files refused"):
        call_command("import_sops", str(tmp_path), unit="Kesbangpol", stdout=out)
    report = out.getvalue()
    assert "3 files: 0 imported, 2 need review, 1 refused" in report
    assert "refused       rusak.docx" in report
    unit = Unit.objects.get(short_name="Kesbangpol")
    # Diskominfo's columns became roles of Kesbangpol; nothing was activated.
    assert unit.roles.filter(name="Sub Kor DIMC").exists()
    assert not unit.sops.filter(status=Sop.Status.ACTIVE, version__gt=1).exists()
    with pytest.raises(CommandError, match="not found"):
        call_command("import_sops", str(tmp_path), unit="Nope", stdout=io.StringIO())


@pytest.mark.parametrize(
    "post",
    [
        {"unit": "abc", "text": "x"},
        {"unit": "9" * 30, "text": "x"},
        {"unit": "-1"},
        {"text": "NO\tAktivitas\x00"},
        {"text": "x" * 600_000},
    ],
)
def test_hostile_import_input_gets_a_message_not_a_500(client_for, post):
    before = _counts()
    data = {"unit": str(Unit.objects.get(short_name="Kesbangpol").pk), **post}
    response = client_for("kasubag_tu").post("/sop/impor/", data)
    assert response.status_code == 200
    assert _counts() == before


def test_json_with_nul_characters_is_refused(client_for, sop1):
    data = definitions.export_sop(sop1)
    data["steps"][0]["activity"] = "a\x00b"
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "nul.json"
    response = client_for("kasubag_tu").post("/sop/impor/", {"unit": sop1.unit_id, "file": upload})
    assert "karakter NUL" in response.content.decode()


# Importing the same SOP again -------------------------------------------------------------------


def _import_page(client, unit, text, **answer):
    return client.post("/sop/impor/", {"unit": unit.pk, "text": text, **answer})


def _answer(client, first, choice):
    token = first.context["pending"]
    return client.post("/sop/impor/", {"pending": token, "choice": choice})


def _drafts(unit):
    return list(Sop.objects.filter(unit=unit, status=Sop.Status.DRAFT).order_by("version"))


def test_importing_the_same_file_again_asks_and_replace_keeps_one_draft(client_for, sop1):
    client = client_for("kasubag_tu")
    text = _seed_text("Kesbangpol")
    _import_page(client, sop1.unit, text)
    (draft,) = _drafts(sop1.unit)
    draft.steps.filter(number=1).update(activity="Diubah di editor")
    draft.review_notes.all().delete()
    draft.sop_items.all().delete()
    before = _counts()
    asked = _import_page(client, sop1.unit, text)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f"SOP ini sudah punya draf (versi {draft.version}, diubah" in page
    assert "Simpan sebagai draf baru" in page
    assert _counts() == before
    response = _answer(client, asked, "ganti")
    assert response.status_code == 302 and response["Location"] == f"/sop/{draft.pk}/ubah/"
    (replaced,) = _drafts(sop1.unit)
    assert (replaced.pk, replaced.version) == (draft.pk, draft.version)
    assert replaced.steps.get(number=1).activity != "Diubah di editor"
    assert replaced.sop_items.exists() and replaced.review_notes.exists()
    assert replaced.history.first().history_change_reason == "Diganti dengan isi berkas impor"
    # The kept upload served its answer once.
    assert _answer(client, asked, "ganti").status_code == 200
    assert len(_drafts(sop1.unit)) == 1


def test_saving_as_a_new_draft_adds_the_next_version(client_for, sop1):
    client = client_for("kasubag_tu")
    text = _seed_text("Kesbangpol")
    _import_page(client, sop1.unit, text)
    (draft,) = _drafts(sop1.unit)
    response = _answer(client, _import_page(client, sop1.unit, text), "baru")
    assert response.status_code == 302
    assert [sop.version for sop in _drafts(sop1.unit)] == [draft.version, draft.version + 1]


def test_without_an_answer_nothing_is_written(client_for, sop1):
    client = client_for("kasubag_tu")
    text = _seed_text("Kesbangpol")
    _import_page(client, sop1.unit, text)
    asked = _import_page(client, sop1.unit, text)
    before = _counts()
    response = _answer(client, asked, "")
    assert response.status_code == 200 and "Pilih ganti draf" in response.content.decode()
    forged = client.post("/sop/impor/", {"pending": "x" * 32, "choice": "ganti"})
    assert "sudah tidak tersimpan" in forged.content.decode()
    assert _counts() == before


def test_a_submitted_draft_is_not_offered_for_replacement(client_for, sop1):
    client = client_for("kasubag_tu")
    text = _seed_text("Kesbangpol")
    _import_page(client, sop1.unit, text)
    (draft,) = _drafts(sop1.unit)
    Sop.objects.filter(pk=draft.pk).update(status=Sop.Status.SUBMITTED)
    response = _import_page(client, sop1.unit, text)
    assert response.status_code == 302
    assert Sop.objects.filter(unit=sop1.unit, name=sop1.name).count() == 3
    assert draft.pk not in [sop.pk for sop in Sop.objects.open_drafts()]
    # Returned to its author, it is a draft again, but one the pimpinan has read.
    newest = Sop.objects.filter(unit=sop1.unit, status=Sop.Status.DRAFT).get()
    newest.status = Sop.Status.SUBMITTED
    newest.save()
    newest.status = Sop.Status.DRAFT
    newest.save()
    assert not Sop.objects.open_drafts().filter(pk=newest.pk).exists()


def test_another_units_sop_of_the_same_number_is_not_matched(client_for, sop1):
    other = Unit.objects.get(short_name="Diskominfo")
    theirs = Sop.objects.create(unit=other, name=sop1.name, number=sop1.number, version=7)
    before = Sop.objects.filter(unit=other).count()
    response = _import_page(client_for("kasubag_tu"), sop1.unit, _seed_text("Kesbangpol"))
    assert response.status_code == 302
    assert Sop.objects.filter(unit=other).count() == before
    assert not theirs.steps.exists()


def test_the_question_and_the_answer_are_for_sop_maintainers_only(client_for, sop1):
    text = _seed_text("Kesbangpol")
    client = client_for("kasubag_tu")
    _import_page(client, sop1.unit, text)
    asked = _import_page(client, sop1.unit, text)
    token = asked.context["pending"]
    before = _counts()
    for name in ("kasi", "outsider"):
        response = client_for(name).post("/sop/impor/", {"pending": token, "choice": "ganti"})
        assert response.status_code == 403
    assert _counts() == before


def _json_upload(data, name="sop.json"):
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = name
    return upload


def test_importing_the_same_json_again_asks_and_replace_keeps_one_draft(client_for, sop1):
    client = client_for("kasubag_tu")
    data = definitions.export_sop(sop1)
    client.post("/sop/impor/", {"unit": sop1.unit_id, "file": _json_upload(data)})
    (draft,) = _drafts(sop1.unit)
    data["steps"][0]["activity"] = "Menerima nota dinas (diperbaiki)"
    data["sop"]["approver_name"] = "Nama Baru"
    before = _counts()
    asked = client.post("/sop/impor/", {"unit": sop1.unit_id, "file": _json_upload(data)})
    assert asked.status_code == 200
    assert f"SOP ini sudah punya draf (versi {draft.version}" in asked.content.decode()
    assert _counts() == before
    response = _answer(client, asked, "ganti")
    assert response.status_code == 302 and response["Location"] == f"/sop/{draft.pk}/ubah/"
    (replaced,) = _drafts(sop1.unit)
    assert (replaced.pk, replaced.version, replaced.previous) == (draft.pk, draft.version, sop1)
    assert replaced.steps.get(number=1).activity == "Menerima nota dinas (diperbaiki)"
    assert replaced.approver_name == "Nama Baru"
    assert replaced.steps.count() == sop1.steps.count()
    assert replaced.history.first().history_change_reason == "Diganti dengan isi berkas impor"
    # "Simpan sebagai draf baru" still adds a version.
    asked = client.post("/sop/impor/", {"unit": sop1.unit_id, "file": _json_upload(data)})
    _answer(client, asked, "baru")
    assert [sop.version for sop in _drafts(sop1.unit)] == [draft.version, draft.version + 1]


def test_import_sops_replaces_the_open_draft_of_an_sop_never_in_force(seeded, tmp_path):
    unit = Unit.objects.get(short_name="Kesbangpol")
    (tmp_path / "sop1.txt").write_text(_seed_text("Kesbangpol"), encoding="utf-8")
    data = _export("Kesbangpol")
    data["sop"]["name"], data["sop"]["number"] = "SOP Uji JSON", "800/UJI/2026"
    (tmp_path / "uji.json").write_text(json.dumps(data), encoding="utf-8")
    call_command(
        "import_sops", str(tmp_path), unit="Kesbangpol", no_progress=True, stdout=io.StringIO()
    )
    first = {sop.pk: sop.version for sop in _drafts(unit)}
    assert len(first) == 2
    out = io.StringIO()
    call_command("import_sops", str(tmp_path), unit="Kesbangpol", no_progress=True, stdout=out)
    assert {sop.pk: sop.version for sop in _drafts(unit)} == first
    report = out.getvalue()
    assert report.count("replaced the open draft") == 2
    assert "replaced its open draft version" in report
    # --as-new adds a version of each instead.
    call_command(
        "import_sops",
        str(tmp_path),
        unit="Kesbangpol",
        no_progress=True,
        as_new=True,
        stdout=io.StringIO(),
    )
    assert len(_drafts(unit)) == 4
