"""Import of the SOP documents offices already have: pasted text, DOCX, XLSX.

Every reader turns its source into rows of cells, and one parser (`parse_rows`) reads the
official layout from them: the identity block (label, value), the identity sections in pairs
under their headings, and the step table (NO, Aktivitas, one column per pelaksana with the
symbol in the performer's column, Kelengkapan, Waktu, Output, Keterangan). The XLSX template
(`template_xlsx`) has its own plain sheets and its own reader.

The result is an `ImportedSop`: the values as written, plus a note on every cell a person must
decide (a role proposed because the symbol was lost, a kind read from the text, a return target,
a waktu that does not parse or that the document's own total contradicts). `create_draft`
writes it as a new draft version with those notes as `ReviewNote`s; nothing is activated.
A source that cannot be read raises `ImportRefused` with a message for the user and writes
nothing.
"""

import html
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from activities import durations, uploads
from activities.definitions import (
    EXPORT_FORMAT,
    SopFileError,
    StepSpec,
    check_steps,
    load_sop,
    standard_error,
)
from activities.models import ReviewNote, Role, Sop, SopItem, Step

MAX_BYTES = 5 * 1024 * 1024
# Uncompressed size of a DOCX/XLSX: a zip bomb is refused before it is opened.
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_TEXT_CHARS = 500_000
MAX_STEPS = 100

TERMINATOR, PROCESS_MARK, DECISION_MARK, ANY_MARK = "○", "□", "◇", "■"
SYMBOLS = {
    **dict.fromkeys("○◯●⬭⬬⊂Oo", TERMINATOR),
    **dict.fromkeys("□■▭▯☐◻◼▢", PROCESS_MARK),
    **dict.fromkeys("◇◆⬦♢◊⯁", DECISION_MARK),
}
# Activities that are a superior's act: a decision, or a step whose symbol needs checking.
APPROVAL_WORDS = re.compile(
    r"\b(paraf|memaraf|diparaf|tanda\s*tangan|menandatangani|ditandatangani|persetujuan|"
    r"menyetujui|disetujui|rekomendasi|disposisi|mengoreksi|koreksi|menentukan|mentukan|"
    r"pengesahan|mengesahkan|verifikasi|memverifikasi|melaporkan\s+kepada)\b",
    re.IGNORECASE,
)
HEAD_WORDS = re.compile(
    r"\b(tanda\s*tangan|menandatangani|persetujuan|menyetujui|rekomendasi|disposisi|"
    r"menentukan|mentukan|mengesahkan|menerima\s+laporan|melaporkan\s+kepada)\b",
    re.IGNORECASE,
)
RANK_WORDS = re.compile(
    r"\b(pembina|penata|pengatur|juru)\b|\b(I|II|III|IV)/[a-e]\b", re.IGNORECASE
)
UNIT_WORD = re.compile(r"^(menit|mnt|jam|hari|hr)\.?$", re.IGNORECASE)

IDENTITY_LABELS = {
    "nomor": "number",
    "nomor sop": "number",
    "no sop": "number",
    "no. sop": "number",
    "tanggal pembuatan": "made_on",
    "tgl pembuatan": "made_on",
    "tgl. pembuatan": "made_on",
    "tanggal revisi": "revised_on",
    "tgl revisi": "revised_on",
    "tgl. revisi": "revised_on",
    "tanggal efektif": "effective_on",
    "tgl efektif": "effective_on",
    "tanggal pengesahan": "effective_on",
    "tgl pengesahan": "effective_on",
    "tgl. pengesahan": "effective_on",
    "disahkan oleh": "approver",
    "nama sop": "name",
}
SECTION_HEADINGS = (
    ("dasar hukum", SopItem.Section.LEGAL_BASIS),
    ("kualifikasi pelaksana", SopItem.Section.QUALIFICATION),
    ("keterkaitan", SopItem.Section.RELATED),
    ("peralatan", SopItem.Section.EQUIPMENT),
    ("peringatan", SopItem.Section.WARNING),
    ("pencatatan", SopItem.Section.RECORDS),
)
KIND_WORDS = {
    "mulai": Step.Kind.START,
    "start": Step.Kind.START,
    "proses": Step.Kind.PROCESS,
    "process": Step.Kind.PROCESS,
    "keputusan": Step.Kind.DECISION,
    "keputusan/persetujuan": Step.Kind.DECISION,
    "persetujuan": Step.Kind.DECISION,
    "decision": Step.Kind.DECISION,
    "selesai": Step.Kind.END,
    "end": Step.Kind.END,
}


class ImportRefused(Exception):
    """The source cannot be imported; the message tells the user why. Nothing was written."""


@dataclass
class ImportedStep:
    number: int
    activity: str = ""
    kind: str = Step.Kind.PROCESS
    roles: list = field(default_factory=list)
    requirements: str = ""
    standard: str = ""
    output: str = ""
    remarks: str = ""
    return_to: int | None = None
    # field → why a person must check it
    notes: dict = field(default_factory=dict)
    # pelaksana column name → the symbol found in it
    marks: dict = field(default_factory=dict)


@dataclass
class ImportedSop:
    fields: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)
    columns: list = field(default_factory=list)  # the pelaksana column names, in order
    steps: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)  # SOP-level field → why

    @property
    def note_count(self):
        return len(self.notes) + sum(len(step.notes) for step in self.steps)


# Cell text ------------------------------------------------------------------------------------


def clean(text):
    """A cell's text without markup, entities or repeated blanks (line breaks kept)."""
    text = re.sub(r"<br\s*/?>", "\n", text or "", flags=re.IGNORECASE)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _label(text):
    text = clean(text).lower().replace(" / ", "/").rstrip(":").strip()
    return " ".join(text.split())


def _enumerated(line):
    return re.match(r"^\s*\d{1,2}[.)]?\s+(?=\S)", line)


def split_items(text):
    """The items of one section cell: one per line, or "1 … 2 … 3 …" run together."""
    items = []
    for line in clean(text).splitlines():
        if re.match(r"^1[.)]?\s", line):
            parts, start, number = [], 0, 2
            while True:
                found = re.search(rf"\s{number}[.)]?\s+(?=[A-Z])", line[start:])
                if not found:
                    break
                parts.append(line[start : start + found.start()])
                start += found.start() + 1
                number += 1
            parts.append(line[start:])
            items.extend(parts)
        else:
            items.append(line)
    stripped = []
    for item in items:
        match = _enumerated(item)
        stripped.append((item[match.end() :] if match else item).strip())
    return [item for item in stripped if item]


def parse_total(text):
    """(days, minutes) of a "Jumlah waktu" cell such as "5 hr 4 jam 45 Menit", or None."""
    days = minutes = 0
    found = False
    for amount, word in re.findall(r"(\d+)\s*([^\W\d_]+)", text or ""):
        unit = word.lower().rstrip(".")
        if unit in ("hari", "hr"):
            days += int(amount)
        elif unit == "jam":
            minutes += int(amount) * 60
        elif unit in ("menit", "mnt"):
            minutes += int(amount)
        else:
            return None
        found = True
    return (days, minutes) if found else None


def split_approver(raw):
    """(title, name, rank, nip) of a "Disahkan oleh" cell, as far as its markup tells."""
    nip_match = re.search(r"NIP\.?\s*:?\s*([\d ]{18,})", clean(raw), re.IGNORECASE)
    nip = nip_match.group(1).strip() if nip_match else ""
    underlined = re.search(r"<u>(.*?)</u>", raw or "", re.IGNORECASE | re.DOTALL)
    text = clean(raw).replace("\n", " ")
    before_nip = re.split(r"NIP\.?\s*:?", text, flags=re.IGNORECASE)[0].strip()
    if underlined:
        name = clean(underlined.group(1))
        title, _sep, rank = before_nip.partition(name)
        return title.strip(" ,"), name, rank.strip(" ,"), nip
    lines = [line for line in clean(raw).splitlines() if not line.upper().startswith("NIP")]
    if "<" not in (raw or "") and len(lines) >= 2:
        # One line each, as the official block prints them: jabatan…, nama, pangkat.
        rank = lines[-1] if RANK_WORDS.search(lines[-1]) else ""
        rest = lines[:-1] if rank else lines
        return " ".join(rest[:-1]), rest[-1], rank, nip
    bold = [clean(part) for part in re.findall(r"<b>(.*?)</b>", raw or "", re.IGNORECASE)]
    bold = [part for part in bold if part and not part.upper().startswith("NIP")]
    if len(bold) >= 2:
        return " ".join(bold[:-1]), bold[-1], "", nip
    return before_nip, "", "", nip


# The official layout --------------------------------------------------------------------------


def _is_step_header(labels):
    return any(label in ("no", "no.", "nomor") for label in labels) and any(
        label.startswith(("aktivitas", "kegiatan", "uraian")) for label in labels
    )


def _section_heading(label):
    for prefix, section in SECTION_HEADINGS:
        if label.startswith(prefix):
            return section
    return None


def _read_identity(rows, imported):
    """Identity labels and sections from the rows above the step table."""
    headings = {}
    for cells in rows:
        labels = [_label(cell) for cell in cells]
        found = {i: _section_heading(label) for i, label in enumerate(labels) if label}
        if found and all(found.values()):
            headings = found
            for section in found.values():
                imported.sections.setdefault(section, [])
            continue
        if any(label in IDENTITY_LABELS for label in labels):
            for index, label in enumerate(labels):
                key = IDENTITY_LABELS.get(label)
                if key is None:
                    continue
                raw = cells[index + 1] if index + 1 < len(cells) else ""
                if key == "approver":
                    title, name, rank, nip = split_approver(raw)
                    imported.fields.update(
                        approver_title=title,
                        approver_name=name,
                        approver_rank=rank,
                        approver_nip=nip,
                    )
                    if raw.strip() and not name:
                        imported.notes["approver_name"] = _(
                            "Nama pejabat yang mengesahkan tidak dapat dipisahkan dari jabatannya."
                        )
                else:
                    imported.fields[key] = clean(raw).replace("\n", " ")
            headings = {}
            continue
        for index, section in headings.items():
            if index < len(cells) and clean(cells[index]):
                text = cells[index]
                items = split_items(text)
                imported.sections[section].extend(items)
                plain = clean(text)
                if "\n" not in plain and not _enumerated(plain) and len(plain.split()) >= 4:
                    imported.notes[f"section:{section}"] = _(
                        "Butir-butir bagian ini mungkin tergabung dalam satu baris; pisahkan "
                        "bila perlu."
                    )


def _column_map(header, subheader):
    """{"number": i, "activity": i, "roles": [i…], "requirements": [i…], …} of the table."""
    width = max(len(header), len(subheader))
    labels = []
    for index in range(width):
        below = _label(subheader[index]) if index < len(subheader) else ""
        above = _label(header[index]) if index < len(header) else ""
        labels.append(below or above)
    columns = {"roles": [], "requirements": [], "standard": [], "output": [], "remarks": []}
    names = []
    for index, label in enumerate(labels):
        if label in ("no", "no.", "nomor") and "number" not in columns:
            columns["number"] = index
        elif label.startswith(("aktivitas", "kegiatan", "uraian")) and "activity" not in columns:
            columns["activity"] = index
        elif label.startswith("kelengkapan"):
            columns["requirements"].append(index)
        elif label.startswith("waktu"):
            columns["standard"].append(index)
        elif label.startswith("output"):
            columns["output"].append(index)
        elif label.startswith("keterangan"):
            columns["remarks"].append(index)
        elif "activity" in columns and not columns["requirements"] and label:
            if label not in ("pelaksana", "pelaksanaan", "mutu baku"):
                columns["roles"].append(index)
                source = subheader[index] if index < len(subheader) and subheader[index] else ""
                names.append(clean(source or header[index]).replace("\n", " "))
    if "number" not in columns or "activity" not in columns:
        raise ImportRefused(_("Tabel langkah tidak memiliki kolom NO dan Aktivitas."))
    if not columns["roles"]:
        raise ImportRefused(
            _("Tabel langkah tidak memiliki kolom pelaksana di antara Aktivitas dan Kelengkapan.")
        )
    if not columns["standard"]:
        raise ImportRefused(_("Tabel langkah tidak memiliki kolom Waktu."))
    return columns, names


def _is_standard(text):
    return bool(text.strip()) and not standard_error(text)


def _find_standard(cells, columns):
    """(first, last) index of the row's waktu cell(s), found from the right.

    Pasted text loses cells: an empty pelaksana cell where the symbol was, and it splits a
    waktu into "10" and "Menit". The cells after Aktivitas are therefore placed from the right
    end of the row, where Output and Keterangan follow Waktu, not by the header's positions.
    """
    low = columns["activity"] + 1
    for index in range(len(cells) - 1, low - 1, -1):
        text = cells[index].strip()
        if UNIT_WORD.match(text) and index > low and cells[index - 1].strip().isdigit():
            return index - 1, index
        if _is_standard(text):
            return index, index
    return None


def _align(cells, columns, width):
    """{field: text} and the pelaksana cells of one step row, placed under their columns."""
    values = {}
    roles = columns["roles"]
    padded = cells + [""] * (width - len(cells))
    by_header = "\t".join(padded[i].strip() for i in columns["standard"] if padded[i].strip())
    found = None
    if len(cells) != width or not _is_standard(by_header):
        found = _find_standard(cells, columns)
    if found is None:
        cells = padded
        for key in ("requirements", "output", "remarks"):
            values[key] = "\n".join(cells[i].strip() for i in columns[key] if cells[i].strip())
        values["standard"] = "\t".join(
            cells[i].strip() for i in columns["standard"] if cells[i].strip()
        )
        return values, [cells[i] for i in roles], True
    first, last = found
    values["standard"] = "\t".join(cells[i].strip() for i in range(first, last + 1))
    after = [key for key in ("output", "remarks") if columns[key]]
    after.sort(key=lambda key: columns[key][0])
    for offset, key in enumerate(after, start=1):
        index = last + offset
        values[key] = cells[index].strip() if index < len(cells) else ""
    for key in ("output", "remarks"):
        values.setdefault(key, "")
    role_end = first - 1 if columns["requirements"] else first
    values["requirements"] = cells[role_end].strip() if columns["requirements"] else ""
    role_cells = cells[columns["activity"] + 1 : role_end]
    return values, role_cells, len(role_cells) == len(roles)


def _read_steps(rows, columns, names, imported, width):
    """Step rows up to "Jumlah waktu"; returns the document's own total, if it states one."""
    total = None
    current = None
    for raw in rows:
        cells = list(raw)
        first = next((clean(c) for c in cells if clean(c)), "")
        if first.lower().startswith("jumlah"):
            total = parse_total(" ".join(clean(c) for c in cells[1:]))
            break
        number_text = clean(cells[columns["number"]]) if columns["number"] < len(cells) else ""
        number_text = number_text.rstrip(".")
        activity = cells[columns["activity"]].strip() if columns["activity"] < len(cells) else ""
        if not number_text.isdigit():
            if current is not None and clean(activity):
                # A row without a number continues the step above (a cell broken over lines).
                current.activity = f"{current.activity}\n{activity}"
            continue
        values, role_cells, aligned = _align(cells, columns, width)
        current = ImportedStep(number=int(number_text), activity=activity, **values)
        for position, mark in enumerate(role_cells[: len(names)]):
            mark = mark.strip()
            if mark:
                current.marks[names[position]] = SYMBOLS.get(mark[:1], ANY_MARK)
        if current.marks and not aligned:
            current.notes["roles"] = _(
                "Kolom pelaksana baris ini tidak lengkap di sumbernya; periksa pelaksananya."
            )
        imported.steps.append(current)
    return total


def _propose(imported, unit_roles):
    """Kinds, roles and return targets where the document does not say them for sure."""
    steps = imported.steps
    kinds = {role.name: role.kind for role in unit_roles}
    heads = [n for n in imported.columns if kinds.get(n) == Role.Kind.HEAD] or imported.columns[:1]
    previous_roles = []
    for index, step in enumerate(steps):
        first, last = index == 0, index == len(steps) - 1
        symbols = set(step.marks.values())
        approval = bool(APPROVAL_WORDS.search(step.activity))
        if first:
            step.kind = Step.Kind.START
        elif last:
            step.kind = Step.Kind.END
        elif DECISION_MARK in symbols:
            step.kind = Step.Kind.DECISION
        elif PROCESS_MARK in symbols:
            step.kind = Step.Kind.PROCESS
            if approval:
                step.notes["kind"] = _(
                    "Simbolnya proses, tetapi aktivitasnya menyebut persetujuan atau koreksi: "
                    "periksa apakah ini langkah keputusan."
                )
        else:
            step.kind = Step.Kind.DECISION if approval else Step.Kind.PROCESS
            step.notes["kind"] = _(
                "Simbol langkah ini tidak terbaca; jenisnya diusulkan dari teks aktivitas."
            )
        if TERMINATOR in symbols and not (first or last):
            step.notes["kind"] = _("Simbol awal/akhir di tengah tabel: periksa jenis langkah.")

        if step.marks:
            step.roles = [name for name in imported.columns if name in step.marks]
        else:
            named = [
                name
                for name in imported.columns
                if re.match(rf"^{re.escape(name)}\b", step.activity, re.IGNORECASE)
            ]
            if named:
                step.roles = named[:1]
            elif HEAD_WORDS.search(step.activity):
                step.roles = heads[:1]
            else:
                step.roles = previous_roles[:1] or imported.columns[:1]
            step.notes["roles"] = _(
                "Simbol pelaksana tidak terbaca; pelaksana diusulkan, periksa kolomnya."
            )
        previous_roles = step.roles

        if step.kind == Step.Kind.DECISION:
            earlier = [s for s in steps[:index] if s.kind != Step.Kind.DECISION]
            step.return_to = earlier[-1].number if earlier else None
            step.notes["return_to"] = _(
                "Dokumen tidak menyebut langkah yang diulang bila dikembalikan; "
                "tujuan pengembalian diusulkan."
            )


def _check_standards(imported, total):
    """Waktu that do not parse, and one that the document's own total shows to be wrong."""
    standards = {}
    for step in imported.steps:
        message = standard_error(step.standard)
        if message:
            step.notes["standard"] = message
        else:
            standards[step.number] = durations.parse(step.standard)
    if total is None or len(standards) != len(imported.steps):
        return
    if durations.total(standards.values()) == total:
        return
    stated = durations.format_total(*total)
    for step in imported.steps:
        written = standards[step.number]
        for unit in durations.Unit:
            if unit is written.unit:
                continue
            changed = dict(standards)
            changed[step.number] = durations.Standard(written.amount, unit)
            if durations.total(changed.values()) == total:
                step.notes["standard"] = _(
                    "Jumlah waktu dokumen (%(total)s) hanya cocok bila langkah ini "
                    "%(amount)s %(unit)s, bukan “%(written)s”."
                ) % {
                    "total": stated,
                    "amount": written.amount,
                    "unit": unit.value,
                    "written": " ".join(step.standard.split()),
                }
                return
    imported.notes["total"] = _(
        "Jumlah waktu dokumen (%(stated)s) tidak sama dengan jumlah waktu langkah (%(sum)s)."
    ) % {"stated": stated, "sum": durations.format_total(*durations.total(standards.values()))}


def _renumber(imported):
    """Numbers 1…n in table order; a document's own numbering that differs is noted."""
    by_old = {}
    for position, step in enumerate(imported.steps, start=1):
        if step.number != position:
            step.notes["number"] = _(
                "Dokumen menomori langkah ini %(old)s; nomornya disusun ulang menjadi %(new)s."
            ) % {"old": step.number, "new": position}
        by_old.setdefault(step.number, position)
        step.number = position
    return by_old


def parse_rows(rows, unit_roles=()):
    """An `ImportedSop` from the rows of cells of a document in the official layout."""
    rows = [[cell if isinstance(cell, str) else "" for cell in row] for row in rows]
    header_at = next(
        (i for i, cells in enumerate(rows) if _is_step_header([_label(c) for c in cells])), None
    )
    if header_at is None:
        raise ImportRefused(
            _(
                "Tabel langkah tidak ditemukan: tidak ada baris judul dengan kolom NO dan "
                "Aktivitas/Kegiatan."
            )
        )
    imported = ImportedSop()
    _read_identity(rows[:header_at], imported)
    header = rows[header_at]
    labels = [_label(c) for c in header]
    if any(label.startswith("kelengkapan") for label in labels):
        subheader, body = [], rows[header_at + 1 :]
    else:
        subheader = rows[header_at + 1] if header_at + 1 < len(rows) else []
        body = rows[header_at + 2 :]
    columns, names = _column_map(header, subheader)
    # The unit's own spelling of a role the document writes in capitals ("SUB KOR DIMC").
    known = {" ".join(role.name.lower().split()): role.name for role in unit_roles}
    imported.columns = [known.get(" ".join(name.lower().split()), name) for name in names]
    width = max(len(header), len(subheader))
    total = _read_steps(body, columns, imported.columns, imported, width)
    _limit_steps(imported)
    _renumber(imported)
    _propose(imported, unit_roles)
    _check_standards(imported, total)
    return imported


def _limit_steps(imported):
    if not imported.steps:
        raise ImportRefused(_("Tabel langkah tidak berisi satu langkah pun."))
    if len(imported.steps) > MAX_STEPS:
        raise ImportRefused(
            _("Tabel berisi %(n)s langkah; satu SOP paling banyak %(max)s langkah.")
            % {"n": len(imported.steps), "max": MAX_STEPS}
        )
    if not imported.fields.get("name"):
        imported.notes["name"] = _("Nama SOP tidak ditemukan di dokumen; isi namanya.")


# Readers --------------------------------------------------------------------------------------


def read_text(text, unit_roles=()):
    """Pasted text: one table row per line, cells separated by tabs."""
    if not text or not text.strip():
        raise ImportRefused(_("Teks yang ditempel kosong."))
    if len(text) > MAX_TEXT_CHARS:
        raise ImportRefused(
            _("Teks terlalu panjang (lebih dari %(n)s karakter).") % {"n": MAX_TEXT_CHARS}
        )
    text = text.replace("\x00", "").replace("\r\n", "\n")
    rows = [line.split("\t") for line in text.split("\n")]
    return parse_rows(rows, unit_roles)


def _open_zip(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportRefused(_("Berkas rusak: isinya tidak dapat dibuka.")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportRefused(_("Berkas terlalu besar setelah dibuka."))


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


def read_docx(data, unit_roles=()):
    """A Word document in the official layout: paragraphs and tables in document order."""
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table

    _open_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many kinds for a damaged package
        raise ImportRefused(_("Berkas DOCX rusak atau bukan dokumen Word.")) from None
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
    return parse_rows(rows, unit_roles)


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

    _open_zip(data)
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
    _limit_steps(imported)
    by_old = _renumber(imported)
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
        if step.kind == Step.Kind.DECISION and step.return_to is None:
            earlier = [s for s in imported.steps[:index] if s.kind != Step.Kind.DECISION]
            step.return_to = earlier[-1].number if earlier else None
            step.notes["return_to"] = _(
                "Langkah keputusan tanpa tujuan pengembalian; tujuan diusulkan."
            )
    _check_standards(imported, None)
    return imported


# Upload dispatch and the draft ----------------------------------------------------------------


def read_upload(data, unit_roles=()):
    """An uploaded DOCX or XLSX, its type read from its content, never from its name."""
    if not data:
        raise ImportRefused(_("Berkas kosong."))
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("Berkas lebih dari 5 MB."))
    try:
        kind = uploads.sniff(data)
    except uploads.Refused as error:
        raise ImportRefused(str(error)) from None
    if kind is uploads.DOCX:
        return read_docx(data, unit_roles)
    if kind is uploads.XLSX:
        return read_xlsx(data, unit_roles)
    if data.startswith(b"PK"):
        raise ImportRefused(_("Berkas rusak: isinya bukan dokumen DOCX atau XLSX yang utuh."))
    raise ImportRefused(
        _("Jenis berkas tidak didukung: unggah DOCX atau XLSX, atau tempel teks tabelnya.")
    )


@transaction.atomic
def create_draft(imported, unit):
    """A new draft version of the imported SOP in `unit`, with its notes; returns
    (sop, new role names). Roles named by the document's columns that the unit lacks are
    added to the unit. Nothing is activated."""
    roles = {role.name.lower(): role for role in unit.roles.all()}
    new_roles = []
    position = max((role.position for role in roles.values()), default=0)
    for name in imported.columns:
        if name and name.lower() not in roles:
            position += 1
            roles[name.lower()] = Role.objects.create(unit=unit, name=name, position=position)
            new_roles.append(name)
    name = (imported.fields.get("name") or "").strip() or _("SOP hasil impor")
    name = name[: Sop._meta.get_field("name").max_length]
    latest = Sop.objects.filter(unit=unit, name=name).order_by("-version").first()
    fields = {}
    for key, value in imported.fields.items():
        if key == "name":
            continue
        limit = Sop._meta.get_field(key).max_length
        fields[key] = str(value)[:limit] if limit else value
    sop = Sop(
        unit=unit,
        name=name,
        version=latest.version + 1 if latest else 1,
        status=Sop.Status.DRAFT,
        previous=Sop.objects.filter(unit=unit, name=name, status=Sop.Status.ACTIVE).first(),
        **fields,
    )
    sop.clean()
    sop.save()
    SopItem.objects.bulk_create(
        SopItem(sop=sop, section=section, position=position, text=text)
        for section, items in imported.sections.items()
        for position, text in enumerate(items, start=1)
    )
    steps = {}
    standard_limit = Step._meta.get_field("standard_text").max_length
    for item in imported.steps:
        standard = item.standard[:standard_limit]
        if standard_error(standard):
            # A waktu that does not parse is kept in the note; the cell waits for a person.
            item.notes.setdefault("standard", standard_error(standard))
            item.notes["standard"] = f"{item.notes['standard']} ({_('tertulis')}: “{standard}”)"
            standard = "1 menit"
        step = Step.objects.create(
            sop=sop,
            number=item.number,
            activity=item.activity,
            kind=item.kind,
            requirements=item.requirements,
            standard_text=standard,
            output=item.output,
            remarks=item.remarks,
        )
        step.roles.set([roles[n.lower()] for n in item.roles if n.lower() in roles])
        steps[item.number] = step
    for item in imported.steps:
        target = steps.get(item.return_to)
        if target is not None and item.return_to < item.number:
            steps[item.number].return_to = target
            steps[item.number].save(update_fields=["return_to"])
        elif item.return_to is not None:
            item.notes.setdefault("return_to", _("Tujuan pengembalian tidak sah."))
    notes = [
        ReviewNote(sop=sop, step=None, field=key, message=message)
        for key, message in imported.notes.items()
    ]
    notes += [
        ReviewNote(sop=sop, step=steps[item.number], field=key, message=message)
        for item in imported.steps
        for key, message in item.notes.items()
    ]
    notes += _rule_notes(sop, steps, {(n.step_id, n.field) for n in notes})
    ReviewNote.objects.bulk_create(notes)
    return sop, new_roles


def _rule_notes(sop, steps, noted):
    """The step-table rules the draft still breaks, as notes on their cells."""
    specs = [
        StepSpec(
            number=step.number,
            kind=step.kind,
            role_unit_ids=tuple(role.unit_id for role in step.roles.all()),
            return_to=step.return_to.number if step.return_to_id else None,
            row=step,
        )
        for step in steps.values()
    ]
    notes = []
    for error in check_steps(sop.unit_id, specs):
        step = error.row
        key = (step.pk if step else None, error.field or "steps")
        if key in noted:
            continue
        noted.add(key)
        notes.append(
            ReviewNote(sop=sop, step=step, field=error.field or "steps", message=error.message)
        )
    return notes


def _read_json(data, unit):
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(_("Berkas JSON tidak sah: %(msg)s") % {"msg": error}) from None
    if "\\u0000" in json.dumps(parsed):
        raise ImportRefused(_("Berkas JSON berisi karakter NUL."))
    if not isinstance(parsed, dict) or parsed.get("format") != EXPORT_FORMAT:
        raise ImportRefused(_("Berkas JSON ini bukan ekspor SOP sopflow."))
    try:
        sop, _created = load_sop(parsed, unit=unit, as_draft=True)
    except SopFileError as error:
        raise ImportRefused(str(error)) from None
    return sop


@dataclass
class ImportResult:
    sop: Sop
    new_roles: list
    notes: int


def import_source(unit, *, data=None, text=None):
    """Import one upload (bytes) or pasted text into `unit` as a new draft; all or nothing."""
    if text is not None:
        imported = read_text(text, list(unit.roles.all()))
    elif data and data.lstrip()[:1] == b"{":
        if len(data) > MAX_BYTES:
            raise ImportRefused(_("Berkas lebih dari 5 MB."))
        sop = _read_json(data, unit)
        return ImportResult(sop, [], 0)
    else:
        imported = read_upload(data, list(unit.roles.all()))
    sop, new_roles = create_draft(imported, unit)
    return ImportResult(sop, new_roles, sop.review_notes.count())


# Writing the official layout ------------------------------------------------------------------

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
        cells[width - 1].text = step.get("remarks", "")
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
