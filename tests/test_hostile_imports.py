"""Hostile and malformed import files: each is refused with a message before it costs the server
memory, and never answers 500. The files are built here, not kept as blobs."""

import io
import json
import re
import zipfile
from unittest import mock

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.authoring import definitions, importers
from activities.authoring.forms import NewSopForm
from activities.authoring.importers import common
from activities.models import ReviewNote, Role, Sop, SopItem, Step, Unit
from activities.text import ControlCharacterValidator


def _counts():
    return (
        Sop.objects.count(),
        Step.objects.count(),
        Role.objects.count(),
        SopItem.objects.count(),
        ReviewNote.objects.count(),
    )


def _post(client, name, content):
    upload = io.BytesIO(content)
    upload.name = name
    unit = Unit.objects.get(short_name="Kesbangpol")
    return client.post("/sop/impor/", {"unit": unit.pk, "file": upload})


def _refused_on_the_page(client_for, name, content, message):
    before = _counts()
    response = _post(client_for("kasubag_tu"), name, content)
    assert response.status_code == 200
    page = response.content.decode()
    assert "SOP tidak diimpor" in page and message in page
    assert _counts() == before


def _refused_by_the_command(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 files refused"):
        call_command("import_sops", str(tmp_path), unit="Kesbangpol", stdout=out, no_progress=True)
    assert f"refused       {name}: " in out.getvalue() and message in out.getvalue()


def _rezip(data, change):
    """The package `data` with each part's bytes passed through `change(name, bytes)`; a part
    for which it returns None is left out."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info))
            if content is not None:
                target.writestr(info.filename, content)
    return buffer.getvalue()


def _workbook(*cells):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for coordinate, value in cells:
        sheet[coordinate] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _official_sheet(*extra):
    """A sheet in the official matrix layout, three steps, with `extra` cells written over it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "SOP"
    sheet.append(["Nama SOP", "Uji"])
    sheet.append(["NO", "Aktivitas", "Pelaksana", "", "Mutu Baku", "", ""])
    sheet.append(["", "", "Kasi", "Staf seksi", "Kelengkapan", "Waktu", "Output"])
    sheet.append([1, "Mulai", "○", "", "", "5 menit", "Surat"])
    sheet.append([2, "Mengetik", "", "□", "ATK", "10 menit", "Konsep"])
    sheet.append([3, "Selesai", "○", "", "", "5 menit", "Arsip"])
    for coordinate, value in extra:
        sheet[coordinate] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _never(*args, **kwargs):
    raise AssertionError("the whole document was loaded")


# Item: imports that would take a worker to gigabytes ------------------------------------------

XFD = [("A1", "NO"), ("B1", "Aktivitas"), ("XFD1048576", "x")]


def test_a_cell_at_xfd1048576_is_refused_before_a_row_is_read(client_for):
    data = _workbook(*XFD)
    assert len(data) < 10_000
    # Neither the full loader nor a row of the read-only one is ever reached.
    with (
        mock.patch("openpyxl.worksheet._reader.WorksheetReader.bind_all", _never),
        mock.patch("openpyxl.worksheet._read_only.ReadOnlyWorksheet._cells_by_row", _never),
    ):
        with pytest.raises(importers.ImportRefused, match="lebih besar dari tabel SOP"):
            importers.read_xlsx(data)
        _refused_on_the_page(client_for, "besar.xlsx", data, "lebih besar dari tabel SOP")


def test_a_sheet_without_a_declared_size_is_read_only_within_the_bounds(seeded):
    """The dimension element removed, a stray cell at XFD1048576 shows only while reading: the
    read stops one row past an SOP table and cuts each row one column past, and the table
    within is imported."""
    data = _rezip(
        _official_sheet(("XFD1048576", "x"), ("XFD2", "y")),
        lambda name, content: (
            re.sub(rb"<dimension[^>]*/>", b"", content)
            if name.startswith("xl/worksheets/")
            else content
        ),
    )
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    real, widths = ReadOnlyWorksheet._cells_by_row, []

    def counted(self, *args, **kwargs):
        for row in real(self, *args, **kwargs):
            widths.append(len(row))
            yield row

    unit = Unit.objects.get(short_name="Kesbangpol")
    with mock.patch.object(ReadOnlyWorksheet, "_cells_by_row", counted):
        imported = importers.read_xlsx(data, list(unit.roles.all()))
    assert [step.activity for step in imported.steps] == ["Mulai", "Mengetik", "Selesai"]
    assert widths and len(widths) <= 2 * (common.MAX_SHEET_ROWS + 1)  # values, then formulas
    assert max(widths) <= common.MAX_SHEET_COLUMNS + 1


def test_import_sops_refuses_the_xfd_workbook_and_goes_on(seeded, tmp_path):
    _refused_by_the_command(tmp_path, "besar.xlsx", _workbook(*XFD), "lebih besar dari tabel SOP")


def _docx_of_empty_paragraphs(count):
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)

    def body(name, content):
        if name != "word/document.xml":
            return content
        return re.sub(
            rb"<w:body>.*</w:body>",
            b"<w:body>" + b"<w:p/>" * count + b"</w:body>",
            content,
            flags=re.S,
        )

    return _rezip(buffer.getvalue(), body)


def test_a_docx_of_200000_empty_paragraphs_is_refused_before_python_docx_reads_it(client_for):
    data = _docx_of_empty_paragraphs(200_000)
    assert len(data) < common.MAX_BYTES
    with mock.patch("docx.Document", _never):
        with pytest.raises(importers.ImportRefused, match="lebih dari 150.000 unsur"):
            importers.read_docx(data)
        _refused_on_the_page(client_for, "kosong.docx", data, "lebih dari 150.000 unsur")


def test_an_xlsx_of_200000_shared_strings_is_refused_before_openpyxl_opens_it():
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    strings += b"<si><t>x</t></si>" * 200_000 + b"</sst>"
    buffer = io.BytesIO(_official_sheet())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/sharedStrings.xml", strings)
    data = buffer.getvalue()
    with mock.patch("openpyxl.load_workbook", _never):
        with pytest.raises(importers.ImportRefused, match="lebih dari 150.000 unsur"):
            importers.read_xlsx(data)


def test_a_docx_of_an_sop_is_well_within_the_element_limit(seeded):
    data = definitions.export_sop(Sop.objects.get(unit__short_name="Kesbangpol", version=1))
    assert common.count_elements(importers.write_docx(data), "") < common.MAX_XML_ELEMENTS / 5


# Item: malformed files that answered 500 --------------------------------------------------------

DEEP_JSON = b'{"format": "sopflow-sop", "steps": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _truncated_sheet():
    return _rezip(
        _official_sheet(),
        lambda name, content: (
            content[: len(content) // 2] if name == "xl/worksheets/sheet1.xml" else content
        ),
    )


def _no_sheets():
    def without(name, content):
        if name == "xl/workbook.xml":
            return re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", content, flags=re.S)
        return content

    return _rezip(_official_sheet(), without)


MALFORMED = [
    ("dalam.json", lambda: DEEP_JSON, "bersarang terlalu dalam"),
    ("terpotong.xlsx", _truncated_sheet, "Berkas XLSX rusak"),
    ("tanpa-lembar.xlsx", _no_sheets, "tidak berisi satu lembar pun"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED)
def test_a_malformed_file_is_refused_on_the_import_page(client_for, name, content, message):
    _refused_on_the_page(client_for, name, content(), message)


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED)
def test_a_malformed_file_is_refused_by_import_sops(seeded, tmp_path, name, content, message):
    _refused_by_the_command(tmp_path, name, content(), message)


def test_import_sops_goes_on_after_a_bad_file_and_exits_non_zero(sop1, tmp_path):
    (tmp_path / "a-dalam.json").write_bytes(DEEP_JSON)
    (tmp_path / "b-baik.json").write_text(json.dumps(_export(sop1)))
    (tmp_path / "c-terpotong.xlsx").write_bytes(_truncated_sheet())
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 of 3 files refused"):
        call_command("import_sops", str(tmp_path), unit="Kesbangpol", stdout=out, no_progress=True)
    report = out.getvalue()
    assert "3 files: 1 imported, 0 need review, 2 refused" in report
    assert "refused       a-dalam.json: " in report and "refused       c-terpotong.xlsx: " in report
    assert Sop.objects.filter(unit=sop1.unit, name=sop1.name, version=2).exists()


def _export(sop):
    """The export as the download writes it (dates and all as JSON)."""
    return json.loads(json.dumps(definitions.export_sop(sop), cls=DjangoJSONEncoder))


TYPE_MUTATIONS = [
    (("roles", 0, "name"), None, "roles[0].name tidak boleh null"),
    (("roles", 0, "kind"), ["head"], "roles[0].kind harus berupa teks"),
    (("sop", "number"), None, "sop.number tidak boleh null"),
    (("sop", "approver_nip"), 19640606, "sop.approver_nip harus berupa teks"),
    (("sop", "name"), {"a": 1}, "sop.name harus berupa teks"),
    (("sop", "heading"), "x" * 10, None),
    (("sections", "legal_basis"), None, "sections.legal_basis harus berupa daftar teks"),
    (("sections", "legal_basis"), [1], "sections.legal_basis[0] harus berupa teks"),
    (("steps", 1, "standard"), "5 menit" * 100, "steps[1].standard lebih dari 40 karakter"),
    (("steps", 1, "activity"), "Mengetik \u202esurat", "U+202E"),
]


def _mutated(data, path, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"), TYPE_MUTATIONS, ids=[str(m[0]) for m in TYPE_MUTATIONS]
)
def test_a_type_mutated_export_is_refused_naming_the_place(client_for, sop1, path, value, message):
    data = _mutated(_export(sop1), path, value)
    content = json.dumps(data).encode()
    if message is None:  # a control: a valid change still imports
        assert _post(client_for("kasubag_tu"), "sop.json", content).status_code == 302
        return
    _refused_on_the_page(client_for, "sop.json", content, message)


def test_an_export_naming_a_role_twice_is_refused(client_for, sop1):
    data = _export(sop1)
    data["roles"].append(dict(data["roles"][0]))
    _refused_on_the_page(
        client_for, "ganda.json", json.dumps(data).encode(), "tertulis lebih dari sekali"
    )


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


REPLACEMENTS = st.one_of(
    st.none(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers()), max_size=2),
    st.text(max_size=20),
    st.integers(min_value=200, max_value=20_000).map(lambda n: "x" * n),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_mutated_export_never_answers_500_and_creates_nothing_when_refused(
    client_for, sop1, data
):
    export = _export(sop1)
    if data.draw(st.booleans(), label="duplicate a role"):
        export["roles"][-1]["name"] = export["roles"][0]["name"]
    # A part first, then a place in it: the sop's 19 fields are as likely as the steps' 100.
    parts = ["unit", "roles", "sop", "sections", "steps"]
    mutations = []
    for part in data.draw(st.lists(st.sampled_from(parts), min_size=1, max_size=3)):
        paths = [path for path in _paths(export[part], (part,))]
        mutations.append(data.draw(st.sampled_from(paths)))
    for path in mutations:
        try:
            _mutated(export, path, data.draw(REPLACEMENTS, label=str(path)))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation replaced its parent
    # Each example starts from the demo: a draft an earlier example imported would make this one
    # ask whether to replace it instead of importing.
    with transaction.atomic():
        before = _counts()
        response = _post(client_for("kasubag_tu"), "mutasi.json", json.dumps(export).encode())
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert "SOP tidak diimpor" in response.content.decode()
            assert _counts() == before
        transaction.set_rollback(True)


# Item: formula cells and bidirectional controls -----------------------------------------------


def test_a_formula_keeps_its_saved_value_and_one_without_a_value_is_noted(seeded):
    data = _official_sheet(("G4", '=UPPER("surat")'), ("G5", '=UPPER("konsep")'))

    def cache(name, content):
        # Excel saves a formula's value beside it; openpyxl never calculates, so G4 is given one.
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(
                rb'<c r="G4"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
                rb'<c r="G4" t="str"><f>\2</f><v>SURAT</v>',
                content,
            )
        return content

    unit = Unit.objects.get(short_name="Kesbangpol")
    imported = importers.read_xlsx(_rezip(data, cache), list(unit.roles.all()))
    assert [step.output for step in imported.steps] == ["SURAT", "", "Arsip"]
    assert "SOP!G5" in imported.notes["formula"] and "SOP!G4" not in imported.notes["formula"]


def test_an_imported_cell_loses_its_bidi_controls_with_a_note_naming_it(seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    data = _official_sheet(("B5", "Mengetik \u202esurat\u202c"))
    result = importers.import_source(unit, data=data)
    step = result.sop.steps.get(number=2)
    assert step.activity == "Mengetik surat"
    note = result.sop.review_notes.get(field="bidi")
    assert "SOP!B5" in note.message

    pasted = "NO\tAktivitas\tPelaksana\t\tMutu Baku\t\t\n\t\tKasi\tStaf seksi\tKelengkapan\tWaktu\tOutput\n"
    pasted += "1\tMulai\t○\t\t\t5 menit\tA\n2\t\u2067Ketik\u2069\t\t□\t\t5 menit\tB\n3\tSelesai\t○\t\t\t5 menit\tC"
    imported = importers.read_text(pasted, list(unit.roles.all()))
    assert imported.steps[1].activity == "Ketik"
    assert "baris 4 kolom 2" in imported.notes["bidi"]


@pytest.mark.parametrize(
    "character", ["\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
)
def test_a_typed_name_with_a_bidi_control_is_refused(character):
    with pytest.raises(Exception, match="pengatur arah tulisan"):
        ControlCharacterValidator(multiline=True)(f"Surat{character}keluar")


def test_a_form_refuses_a_right_to_left_override_in_a_name(users):
    units = Unit.objects.filter(short_name="Kesbangpol")
    form = NewSopForm({"unit": units[0].pk, "name": "Surat \u202ekeluar"}, units=units)
    assert not form.is_valid()
    assert "pengatur arah tulisan" in str(form.errors["name"])
    assert "U+202E" in str(form.errors["name"])
