"""Excel workbooks: the official table as a sheet, and sopflow's own template with its reader."""

import io
import re

from django.utils.translation import gettext as _

from activities.authoring.importers.common import (
    KIND_WORDS,
    ImportedSop,
    ImportedStep,
    ImportRefused,
    check_standards,
    limit_steps,
    open_zip,
    parse_rows,
    renumber,
    split_items,
)
from activities.models import SopItem, Step


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data, unit_roles=()):
    """The sopflow template (sheets Identitas, Bagian, Langkah), or a sheet laid out like the
    official table."""
    import openpyxl

    open_zip(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged package
        raise ImportRefused(_("Berkas XLSX rusak atau bukan buku kerja Excel.")) from None
    try:
        sheets = {sheet.title.lower(): sheet for sheet in workbook.worksheets}
        if "langkah" in sheets:
            return _read_template(sheets, unit_roles)
        first = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in first.iter_rows(values_only=True)]
        return parse_rows(rows, unit_roles)
    finally:
        workbook.close()


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
    for role in unit.roles.all():
        roles.append([role.name])
    roles.column_dimensions["A"].width = 40
    # Several pelaksana go in one cell separated by commas, so the list only advises.
    names = DataValidation(
        type="list",
        formula1=f"=Jabatan!$A$2:$A${max(unit.roles.count() + 1, 2)}",
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
        for row in sheets["identitas"].iter_rows(min_row=2, values_only=True):
            if not row or row[0] is None:
                continue
            key = labels.get(str(row[0]).strip().lower())
            if key and len(row) > 1:
                imported.fields[key] = _cell_text(row[1]).strip()
    if "bagian" in sheets:
        section_rows = list(sheets["bagian"].iter_rows(values_only=True))
        keys = list(SopItem.Section.values)
        for row in section_rows[1:]:
            for index, value in enumerate(row[: len(keys)]):
                text = _cell_text(value).strip()
                if text:
                    imported.sections.setdefault(keys[index], []).extend(split_items(text))
    known = {role.name.lower(): role.name for role in unit_roles}
    imported.columns = [role.name for role in unit_roles]
    step_rows = list(sheets["langkah"].iter_rows(min_row=2, values_only=True))
    for row in step_rows:
        cells = [_cell_text(v).strip() for v in (row or ())] + [""] * len(TEMPLATE_STEP_COLUMNS)
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
