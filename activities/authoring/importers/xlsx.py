"""Excel workbooks: the official table as a sheet, and sopflow's own template with its reader."""

import io
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from activities.authoring.importers.common import (
    KIND_WORDS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    ImportedSop,
    ImportedStep,
    ImportRefused,
    check_standards,
    count_elements,
    limit_steps,
    note_cells,
    open_zip,
    parse_rows,
    renumber,
    split_items,
    strip_bidi,
)
from activities.models import SopItem, Step

DAMAGED = gettext_noop("Berkas XLSX rusak atau bukan buku kerja Excel.")


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell_name(title, row, column):
    from openpyxl.utils import get_column_letter

    return f"{title}!{get_column_letter(column)}{row}"


def _too_big(title):
    return ImportRefused(
        _(
            "Lembar “%(sheet)s” lebih besar dari tabel SOP mana pun (paling banyak %(rows)s "
            "baris dan %(columns)s kolom). Hapus baris dan kolom di luar tabel lalu unggah lagi."
        )
        % {"sheet": title, "rows": MAX_SHEET_ROWS, "columns": MAX_SHEET_COLUMNS}
    )


class _Workbook:
    """The sheets of an uploaded workbook as rows of cell text, read within the bounds of an
    SOP table. Each cell holds its value, or a formula's value as Excel last saved it; the
    cells that needed a person (a formula never calculated, bidirectional controls removed)
    are collected for the draft's notes."""

    def __init__(self, data):
        import openpyxl

        try:
            self.values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            # The same cells again, with formulas as their text: a formula cell whose value
            # was never calculated reads as None above, and only here shows it is a formula.
            self.formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged package
            raise ImportRefused(_(DAMAGED)) from None
        self.titles = {title.lower(): title for title in self.values.sheetnames}
        self.cells = {"formula": [], "bidi": []}

    def close(self):
        self.values.close()
        self.formulas.close()

    def rows(self, title):
        try:
            values = self._bounded(self.values[title])
            formulas = self._bounded(self.formulas[title])
        except ImportRefused:
            raise
        except Exception:  # openpyxl parses a sheet lazily, as its rows are read
            raise ImportRefused(_(DAMAGED)) from None
        if len(values) > MAX_SHEET_ROWS or any(len(row) > MAX_SHEET_COLUMNS for row in values):
            raise _too_big(title)
        for r, formula_row in enumerate(formulas, start=1):
            row = values[r - 1] if r <= len(values) else []
            for c, formula in enumerate(formula_row, start=1):
                if formula is not None and (c > len(row) or row[c - 1] is None):
                    self.cells["formula"].append(_cell_name(title, r, c))
        text, cleaned = strip_bidi(
            [[_cell_text(value) for value in row] for row in values],
            lambda r, c: _cell_name(title, r, c),
        )
        self.cells["bidi"] += cleaned
        return text

    @staticmethod
    def _bounded(sheet):
        """The sheet's values up to one row and one column past the bounds, trailing empty
        cells dropped; a sheet whose declared size is past them is not read at all."""
        if not hasattr(sheet, "iter_rows"):
            raise ImportRefused(
                _("Lembar “%(sheet)s” bukan lembar tabel.") % {"sheet": sheet.title}
            )
        if (sheet.max_row or 0) > MAX_SHEET_ROWS or (sheet.max_column or 0) > MAX_SHEET_COLUMNS:
            raise _too_big(sheet.title)
        rows = []
        for row in sheet.iter_rows(
            max_row=MAX_SHEET_ROWS + 1, max_col=MAX_SHEET_COLUMNS + 1, values_only=True
        ):
            row = list(row)
            while row and row[-1] is None:
                row.pop()
            rows.append(row)
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def note(self, imported):
        for kind, cells in self.cells.items():
            note_cells(imported, kind, cells)


def read_xlsx(data, unit_roles=()):
    """The sopflow template (sheets Identitas, Bagian, Langkah), or a sheet laid out like the
    official table."""
    open_zip(data)
    count_elements(data, _(DAMAGED))
    book = _Workbook(data)
    try:
        if not book.titles:
            raise ImportRefused(_("Buku kerja ini tidak berisi satu lembar pun."))
        if "langkah" in book.titles:
            sheets = {
                name: book.rows(book.titles[name])
                for name in ("identitas", "bagian", "langkah")
                if name in book.titles
            }
            imported = _read_template(sheets, unit_roles)
        else:
            imported = parse_rows(book.rows(book.values.sheetnames[0]), unit_roles)
        book.note(imported)
        return imported
    finally:
        book.close()


# The XLSX template ----------------------------------------------------------------------------

TEMPLATE_IDENTITY = (
    ("name", "Nama SOP"),
    ("number", "Nomor SOP"),
    ("section_name", "Bidang/Seksi"),
    ("made_on", "Tanggal pembuatan"),
    ("revised_on", "Tanggal revisi"),
    ("effective_on", "Tanggal efektif"),
    ("approver_title", "Disahkan oleh (jabatan)"),
    ("approver_name", "Disahkan oleh (nama)"),
    ("approver_rank", "Pangkat/golongan"),
    ("approver_nip", "NIP"),
)
TEMPLATE_STEP_COLUMNS = (
    "No",
    "Aktivitas",
    "Pelaksana",
    "Simbol",
    "Kembali ke langkah",
    "Kelengkapan",
    "Waktu",
    "Output",
    "Keterangan",
)


def template_xlsx(unit):
    """The blank template for `unit`: its roles listed, symbols offered as a list."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = openpyxl.Workbook()
    bold = Font(bold=True)
    identity = workbook.active
    identity.title = "Identitas"
    identity.append(["Isian", "Nilai"])
    for _key, label in TEMPLATE_IDENTITY:
        identity.append([label, ""])
    identity.column_dimensions["A"].width = 26
    identity.column_dimensions["B"].width = 70

    sections = workbook.create_sheet("Bagian")
    sections.append([str(label) for _value, label in SopItem.Section.choices])
    for column in "ABCDEF":
        sections.column_dimensions[column].width = 40

    steps = workbook.create_sheet("Langkah")
    steps.append(list(TEMPLATE_STEP_COLUMNS))
    for column, width in zip("ABCDEFGHI", (5, 50, 28, 14, 10, 30, 12, 30, 24), strict=True):
        steps.column_dimensions[column].width = width
    kinds = DataValidation(type="list", formula1='"Mulai,Proses,Keputusan,Selesai"')
    kinds.add("D2:D101")
    steps.add_data_validation(kinds)

    roles = workbook.create_sheet("Jabatan")
    roles.append([f"Jabatan {unit.short_name}"])
    live = list(unit.roles.live())
    for role in live:
        roles.append([role.name])
    roles.column_dimensions["A"].width = 40
    # Several pelaksana go in one cell separated by commas, so the list only advises.
    names = DataValidation(
        type="list",
        formula1=f"=Jabatan!$A$2:$A${max(len(live) + 1, 2)}",
        showErrorMessage=False,
    )
    names.add("C2:C101")
    steps.add_data_validation(names)
    for sheet in (identity, sections, steps, roles):
        for cell in sheet[1]:
            cell.font = bold
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _read_template(sheets, unit_roles):
    imported = ImportedSop()
    labels = {label.lower(): key for key, label in TEMPLATE_IDENTITY}
    if "identitas" in sheets:
        for row in sheets["identitas"][1:]:
            if not row or not row[0]:
                continue
            key = labels.get(row[0].strip().lower())
            if key and len(row) > 1:
                imported.fields[key] = row[1].strip()
    if "bagian" in sheets:
        keys = list(SopItem.Section.values)
        for row in sheets["bagian"][1:]:
            for index, value in enumerate(row[: len(keys)]):
                text = value.strip()
                if text:
                    imported.sections.setdefault(keys[index], []).extend(split_items(text))
    known = {role.name.lower(): role.name for role in unit_roles}
    imported.columns = [role.name for role in unit_roles]
    for row in sheets["langkah"][1:]:
        cells = [v.strip() for v in row] + [""] * len(TEMPLATE_STEP_COLUMNS)
        if not any(cells[:9]):
            continue
        number, activity, performers, kind, back, needs, standard, output, remarks = cells[:9]
        step = ImportedStep(
            number=int(number) if number.isdigit() else len(imported.steps) + 1,
            activity=activity,
            requirements=needs,
            standard=standard,
            output=output,
            remarks=remarks,
        )
        names = [name.strip() for name in re.split(r"[,;\n]", performers) if name.strip()]
        step.roles = [known[name.lower()] for name in names if name.lower() in known]
        unknown = [name for name in names if name.lower() not in known]
        if unknown:
            step.notes["roles"] = _("Jabatan %(names)s tidak ada di unit kerja ini.") % {
                "names": ", ".join(unknown)
            }
        elif not step.roles:
            step.notes["roles"] = _("Langkah ini belum memiliki pelaksana.")
        step.kind = KIND_WORDS.get(kind.lower(), "")
        if back.isdigit():
            step.return_to = int(back)
        imported.steps.append(step)
    limit_steps(imported)
    by_old = renumber(imported)
    count = len(imported.steps)
    for index, step in enumerate(imported.steps):
        if step.return_to is not None:
            step.return_to = by_old.get(step.return_to, step.return_to)
        if not step.kind:
            step.kind = (
                Step.Kind.START
                if index == 0
                else Step.Kind.END
                if index == count - 1
                else Step.Kind.PROCESS
            )
            step.notes["kind"] = _("Simbol tidak diisi; jenis langkah diusulkan dari urutannya.")
        step.action = Step.default_action(step.kind)
        if step.action == Step.Action.APPROVAL and step.return_to is None:
            earlier = [s for s in imported.steps[:index] if s.action != Step.Action.APPROVAL]
            step.return_to = earlier[-1].number if earlier else None
            step.notes["return_to"] = _(
                "Langkah keputusan tanpa tujuan pengembalian; tujuan diusulkan."
            )
    check_standards(imported, None)
    return imported


# Upload dispatch and the draft ----------------------------------------------------------------
