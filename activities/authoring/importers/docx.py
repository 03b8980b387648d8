"""Word documents: reading the official table (with its drawn symbols) and writing one."""

import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from activities.authoring import steps
from activities.authoring.importers.common import (
    ANY_MARK,
    DECISION_MARK,
    PROCESS_MARK,
    TERMINATOR,
    ImportRefused,
    count_elements,
    open_zip,
    parse_rows,
)
from activities.models import Step
from activities.time import durations

DRAWING_TAGS = ("}drawing", "}pict", "}AlternateContent")
SHAPE_SYMBOLS = {
    "flowChartTerminator": TERMINATOR,
    "ellipse": TERMINATOR,
    "roundRect": TERMINATOR,
    "flowChartAlternateProcess": TERMINATOR,
    "flowChartProcess": PROCESS_MARK,
    "rect": PROCESS_MARK,
    "flowChartDecision": DECISION_MARK,
    "diamond": DECISION_MARK,
}
VML_SYMBOLS = {"oval": TERMINATOR, "roundrect": TERMINATOR, "rect": PROCESS_MARK}
VML_TYPES = {"_x0000_t116": TERMINATOR, "_x0000_t109": PROCESS_MARK, "_x0000_t110": DECISION_MARK}


def _shape_symbol(tc):
    """The flowchart symbol drawn inside a Word table cell, if any (lines are not symbols)."""
    found = ""
    for element in tc.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        local = tag.rsplit("}", 1)[-1]
        if local == "prstGeom":
            symbol = SHAPE_SYMBOLS.get(element.get("prst", ""))
            if symbol:
                return symbol
        elif tag.startswith("urn:schemas-microsoft-com:vml") or "vml" in tag:
            if local in VML_SYMBOLS:
                return VML_SYMBOLS[local]
            if local == "shape":
                kind = (element.get("type") or "").lstrip("#")
                if kind in VML_TYPES:
                    return VML_TYPES[kind]
        if tag.endswith(DRAWING_TAGS) and not found:
            found = ANY_MARK
    return found if found and not _only_lines(tc) else ""


def _only_lines(tc):
    geometries = [
        el.get("prst", "")
        for el in tc.iter()
        if isinstance(el.tag, str) and el.tag.endswith("}prstGeom")
    ]
    return bool(geometries) and all(
        "line" in g.lower() or "connector" in g.lower() for g in geometries
    )


DAMAGED = gettext_noop("Berkas DOCX rusak atau bukan dokumen Word.")


def read_docx(data, unit_roles=()):
    """A Word document in the official layout: paragraphs and tables in document order."""
    import docx

    open_zip(data)
    count_elements(data, _(DAMAGED))
    try:
        document = docx.Document(io.BytesIO(data))
        rows = _document_rows(document)
    except Exception:  # python-docx raises many kinds for a damaged package
        raise ImportRefused(_(DAMAGED)) from None
    return parse_rows(rows, unit_roles)


def _document_rows(document):
    from docx.oxml.ns import qn
    from docx.table import Table

    rows = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            text = "".join(node.text or "" for node in element.iter(qn("w:t")))
            rows.append([text])
        elif element.tag == qn("w:tbl"):
            for row in Table(element, document).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        cells.append("")
                        continue
                    seen.add(id(cell._tc))
                    text = "\n".join(p.text for p in cell.paragraphs).strip()
                    symbol = _shape_symbol(cell._tc)
                    cells.append(f"{symbol}{text}" if symbol and not text else text)
                rows.append(cells)
    return rows


KIND_SYMBOLS = {
    Step.Kind.START: TERMINATOR,
    Step.Kind.PROCESS: PROCESS_MARK,
    Step.Kind.DECISION: DECISION_MARK,
    Step.Kind.END: TERMINATOR,
}


def write_docx(data):
    """A Word document of an exported SOP (`definitions.export_sop`) in the official table
    layout, the symbols as characters in the performers' columns; `read_docx` reads it back."""
    import docx

    document = docx.Document()
    sop, unit = data["sop"], data["unit"]
    document.add_paragraph(f"SOP {sop['name'].upper()}")
    identity = document.add_table(rows=0, cols=3)
    labels = (
        ("Nomor SOP", sop.get("number", "")),
        ("Tanggal Pembuatan", sop.get("made_on", "")),
        ("Tanggal Revisi", sop.get("revised_on", "")),
        ("Tanggal Efektif", sop.get("effective_on", "")),
        (
            "Disahkan Oleh",
            "\n".join(
                part
                for part in (
                    sop.get("approver_title", ""),
                    sop.get("approver_name", ""),
                    sop.get("approver_rank", ""),
                    f"NIP. {sop['approver_nip']}" if sop.get("approver_nip") else "",
                )
                if part
            ),
        ),
        ("Nama SOP", sop["name"]),
    )
    left = [unit.get("parent_name", "").upper(), unit.get("name", "").upper()]
    for index, (label, value) in enumerate(labels):
        cells = identity.add_row().cells
        cells[0].text = left[index] if index < len(left) else ""
        cells[1].text, cells[2].text = label, value
    sections = document.add_table(rows=0, cols=2)
    titles = dict(SECTION_TITLES)
    for pair in SECTION_PAIRS:
        heading = sections.add_row().cells
        heading[0].text, heading[1].text = titles[pair[0]], titles[pair[1]]
        items = sections.add_row().cells
        for cell, key in zip(items, pair, strict=True):
            lines = data["sections"].get(key, [])
            cell.text = "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
    roles = [role["name"] for role in data["roles"]]
    width = 2 + len(roles) + 5
    table = document.add_table(rows=2, cols=width)
    top, names = table.rows[0].cells, table.rows[1].cells
    top[0].text, top[1].text = "NO", "Aktivitas"
    top[2].merge(top[1 + len(roles)]).text = "Pelaksana"
    mutu = 2 + len(roles)
    top[mutu].merge(top[mutu + 3]).text = "Mutu Baku"
    top[width - 1].text = "Keterangan"
    for offset, name in enumerate(roles):
        names[2 + offset].text = name
    names[mutu].text = "Kelengkapan"
    names[mutu + 1].merge(names[mutu + 2]).text = "Waktu"
    names[mutu + 3].text = "Output"
    for step in data["steps"]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = str(step["number"]), step["activity"]
        for offset, name in enumerate(roles):
            if name in step["roles"]:
                cells[2 + offset].text = KIND_SYMBOLS[step["kind"]]
        amount, _space, word = " ".join(step["standard"].split()).partition(" ")
        cells[mutu].text = step.get("requirements", "")
        cells[mutu + 1].text, cells[mutu + 2].text = amount, word
        cells[mutu + 3].text = step.get("output", "")
        cells[width - 1].text = steps.printed_remarks(
            step.get("remarks", ""), step.get("completion"), step.get("quorum")
        )
    standards = [durations.parse(step["standard"]) for step in data["steps"]]
    total = table.add_row().cells
    total[0].merge(total[mutu]).text = "Jumlah waktu"
    total[mutu + 1].merge(total[mutu + 2]).text = durations.format_total(
        *durations.total(standards)
    )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


SECTION_PAIRS = (("legal_basis", "qualification"), ("related", "equipment"), ("warning", "records"))
SECTION_TITLES = (
    ("legal_basis", "DASAR HUKUM"),
    ("qualification", "KUALIFIKASI PELAKSANA"),
    ("related", "KETERKAITAN"),
    ("equipment", "PERALATAN/PERLENGKAPAN"),
    ("warning", "PERINGATAN"),
    ("records", "PENCATATAN DAN PENDATAAN"),
)
