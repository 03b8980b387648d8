"""What every SOP importer shares: the limits, the imported SOP and step, and the one parser
(`parse_rows`) of the official layout read from rows of cells.

It reads the identity block (label, value), the identity sections in pairs under their headings,
and the step table (NO, Aktivitas, one column per pelaksana with the symbol in the performer's
column, Kelengkapan, Waktu, Output, Keterangan). The result is an `ImportedSop`: the values as
written, plus a note on every cell a person must decide (a role proposed because the symbol was
lost, a kind read from the text, a return target, a waktu that does not parse or that the
document's own total contradicts). A source that cannot be read raises `ImportRefused` with a
message for the user and writes nothing."""

import difflib
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from activities.authoring import steps as step_fields
from activities.authoring.definitions import (
    standard_error,
)
from activities.models import Role, SopItem, Step
from activities.text import without_bidi
from activities.time import durations

MAX_BYTES = 5 * 1024 * 1024
# Uncompressed size of a DOCX/XLSX: a zip bomb is refused before it is opened.
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_TEXT_CHARS = 500_000
MAX_STEPS = 100
# The largest table an SOP sheet holds: identity, sections, headings and MAX_STEPS steps of a
# few rows each; a pelaksana column per role. openpyxl pads every row it reads to the sheet's
# width, so an unbounded read of one cell at XFD1048576 costs gigabytes.
MAX_SHEET_ROWS = 1_000
MAX_SHEET_COLUMNS = 100
# XML elements of a whole DOCX or XLSX package: the documents `write_docx` makes have about
# 20,000 (most of them Word's styles), a sheet of 1,000 rows of 30 filled cells 91,000; a
# 100-step table with drawn symbols stays well under the limit. python-docx keeps its tree of
# every element in memory, openpyxl every shared string.
MAX_XML_ELEMENTS = 150_000

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
# Words before a role's name that make it the one acted for or with, not the one acting
# ("briefing dengan tim", "disposisi pada tim", "laporan kepada Kepala").
RECIPIENT_WORDS = {"dengan", "pada", "kepada", "kpd", "ke", "untuk", "bersama", "dari", "bagi"}
RANK_WORDS = re.compile(
    r"\b(pembina|penata|pengatur|juru)\b|\b(I|II|III|IV)/[a-e]\b", re.IGNORECASE
)
# A step marked in several pelaksana columns that its text says they do together: every one of
# them must complete it ("bersama", not "bersamaan", which is about time).
TOGETHER_WORDS = re.compile(
    r"\b(bersama|bersama-sama|secara\s+bersama|semua\s+pelaksana|seluruh\s+pelaksana)\b",
    re.IGNORECASE,
)
# A step whose keterangan says it runs at the same time as another: "paralel dengan langkah 4",
# "bersamaan dengan langkah 3", "serentak dengan langkah 5".
PARALLEL_WORDS = re.compile(
    r"\b(?:paralel|bersamaan|serentak|sejalan)\s+dengan\s+langkah\s+(?:no\.?\s*)?(\d+)\b",
    re.IGNORECASE,
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
    # None: what the symbol means (a decision approves), as `steps.FIELDS` derives it.
    action: str | None = None
    roles: list = field(default_factory=list)
    requirements: str = ""
    standard: str = ""
    output: str = ""
    remarks: str = ""
    return_to: int | None = None
    # Who must complete the step (`Step.Completion`; None: the default, any one pelaksana)
    # and the parallel group it runs in (None: on its own).
    completion: str | None = None
    quorum: int | None = None
    parallel: int | None = None
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


def _role_words(name):
    """The ways an activity may name role `name`: the name, each part of a name with a slash
    ("Kernet/Supir"), and a closing abbreviation in capitals ("TU" of "Kasubag TU")."""
    words = {" ".join(name.split())}
    words.update(part.strip() for part in name.split("/") if len(part.strip()) > 2)
    last = name.split()[-1] if name.split() else ""
    if len(name.split()) > 1 and len(last) > 1 and last.isupper() and last.isalpha():
        words.add(last)
    return words


def role_key(name):
    """A role's name compared without case, spacing or dots ("KASUBAG  TU." ~ "Kasubag TU")."""
    return " ".join(re.sub(r"[.,;:]", " ", name).casefold().split())


def near_roles(name, roles):
    """Those of `roles` whose name is near `name` without being it: one's words all among
    the other's ("STAF" ~ "Staf seksi"), the same first word ("KASUBAG UMUM" ~ "Kasubag
    TU"), one the initials of the other, or a close spelling."""
    key = role_key(name)
    words = key.split()
    found = []
    for role in roles:
        other = role_key(role.name)
        other_words = other.split()
        if not words or not other_words or other == key:
            continue
        if (
            set(words) <= set(other_words)
            or set(other_words) <= set(words)
            or (words[0] == other_words[0] and len(words[0]) > 3)
            or "".join(w[0] for w in other_words) == key.replace(" ", "")
            or "".join(w[0] for w in words) == other.replace(" ", "")
            or difflib.SequenceMatcher(None, key, other).ratio() >= 0.8
        ):
            found.append(role)
    return found


def mentioned_role(activity, columns):
    """The first of `columns` the activity names as its actor: a role's name (or a word of
    `_role_words`) that no recipient word ("dengan", "pada", "kepada" …) comes just before;
    None when it names none."""
    found = []
    for name in columns:
        for word in _role_words(name):
            for match in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", activity, re.IGNORECASE):
                before = activity[: match.start()].split()
                if before and before[-1].lower().strip(",.:;") in RECIPIENT_WORDS:
                    continue
                found.append((match.start(), name))
    return min(found)[1] if found else None


def _propose(imported, unit_roles):
    """Kinds, roles and return targets where the document does not say them for sure."""
    steps = imported.steps
    kinds = {role.name: role.kind for role in unit_roles}
    heads = [n for n in imported.columns if kinds.get(n) == Role.Kind.HEAD] or imported.columns[:1]
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
            mentioned = mentioned_role(step.activity, imported.columns)
            if named:
                step.roles = named[:1]
            elif mentioned:
                step.roles = [mentioned]
            elif HEAD_WORDS.search(step.activity):
                step.roles = heads[:1]
            else:
                # Nothing says who: left empty, a reviewer must choose (the draft cannot be
                # put in force without a pelaksana).
                step.roles = []
            if step.roles:
                step.notes["roles"] = _(
                    "Simbol pelaksana tidak terbaca; pelaksana diusulkan dari teks aktivitas, "
                    "periksa kolomnya."
                )
            else:
                step.notes["roles"] = _(
                    "Simbol pelaksana tidak terbaca dan teks aktivitas tidak menyebut "
                    "pelaksananya: pilih pelaksana langkah ini."
                )
        # Marked in several columns, the text decides whether all of them must complete it;
        # without such words one of them does, as before.
        if len(step.marks) > 1 and TOGETHER_WORDS.search(f"{step.activity}\n{step.remarks}"):
            step.completion = Step.Completion.ALL

        step.action = Step.default_action(step.kind)
        if step.action == Step.Action.APPROVAL:
            earlier = [s for s in steps[:index] if s.action != Step.Action.APPROVAL]
            step.return_to = earlier[-1].number if earlier else None
            step.notes["return_to"] = _(
                "Dokumen tidak menyebut langkah yang diulang bila dikembalikan; "
                "tujuan pengembalian diusulkan."
            )


def check_standards(imported, total):
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


def renumber(imported):
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
    rows, cleaned = strip_bidi(rows, lambda r, c: _("baris %(r)s kolom %(c)s") % {"r": r, "c": c})
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
    note_cells(imported, "bidi", cleaned)
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
    limit_steps(imported)
    renumber(imported)
    _propose(imported, unit_roles)
    _read_completion(imported)
    _read_parallel(imported)
    check_standards(imported, total)
    return imported


def _read_completion(imported):
    """The completion rule a printed SOP states in the keterangan ("Dikerjakan bersama oleh
    semua pelaksana.", "Cukup 2 pelaksana."): the step's rule, taken out of its remarks."""
    for step in imported.steps:
        completion, quorum, rest = step_fields.read_completion_note(step.remarks)
        if completion is not None:
            step.completion, step.quorum, step.remarks = completion, quorum, rest


def _read_parallel(imported):
    """Parallel groups from the keterangan ("paralel dengan langkah 4"); a step said to run
    beside a step that is not its neighbour, or a start or end step, is a structure the step
    table cannot hold: the source is refused."""
    by_number = {step.number: step for step in imported.steps}
    for step in imported.steps:
        match = PARALLEL_WORDS.search(step.remarks or "")
        if match is None:
            continue
        other = by_number.get(int(match.group(1)))
        ends = (Step.Kind.START, Step.Kind.END)
        if (
            other is None
            or abs(other.number - step.number) != 1
            or {
                step.kind,
                other.kind,
            }
            & set(ends)
        ):
            raise ImportRefused(
                _(
                    "Struktur langkah %(n)s tidak dikenal: langkah yang berjalan bersamaan harus "
                    "langkah proses yang berurutan (keterangan: “%(text)s”)."
                )
                % {"n": step.number, "text": match.group(0)}
            )
        first = min(step, other, key=lambda s: s.number)
        group = first.parallel or other.parallel or step.parallel or first.number
        step.parallel = other.parallel = first.parallel = group


def limit_steps(imported):
    if not imported.steps:
        raise ImportRefused(_("Tabel langkah tidak berisi satu langkah pun."))
    if len(imported.steps) > MAX_STEPS:
        raise ImportRefused(
            _("Tabel berisi %(n)s langkah; satu SOP paling banyak %(max)s langkah.")
            % {"n": len(imported.steps), "max": MAX_STEPS}
        )
    if not imported.fields.get("name"):
        imported.notes["name"] = _("Nama SOP tidak ditemukan di dokumen; isi namanya.")


# Bidirectional controls reorder what a name shows (a right-to-left override makes "exe.pdf"
# of "fdp.exe"). An imported cell loses them with a note, rather than the whole file being
# refused: a document copied from a web page carries stray marks its author never saw, and
# Indonesian text loses nothing without them. Where a name is typed, the form refuses them.
CELL_NOTES = {
    "bidi": gettext_noop(
        "Karakter pengatur arah tulisan yang tidak terlihat dihapus dari sel %(cells)s; "
        "periksa teksnya."
    ),
    "formula": gettext_noop(
        "Sel %(cells)s berisi rumus Excel tanpa nilai tersimpan, sehingga dibiarkan kosong: "
        "isi selnya, atau buka berkas di Excel, simpan, lalu impor lagi."
    ),
}


def strip_bidi(rows, name):
    """(rows without bidirectional controls, the names of the cells that held any);
    `name(row, column)` names a cell, both counted from 1."""
    cleaned, places = [], []
    for r, row in enumerate(rows, start=1):
        out = []
        for c, cell in enumerate(row, start=1):
            text, found = without_bidi(cell)
            if found:
                places.append(name(r, c))
            out.append(text)
        cleaned.append(out)
    return cleaned, places


def note_cells(imported, kind, cells):
    """A note on the SOP naming the `cells` (the first few) that `CELL_NOTES[kind]` is about."""
    if not cells:
        return
    shown = ", ".join(cells[:5]) + (
        _(" dan %(n)s lainnya") % {"n": len(cells) - 5} if len(cells) > 5 else ""
    )
    imported.notes[kind] = _(CELL_NOTES[kind]) % {"cells": shown}


# Readers --------------------------------------------------------------------------------------


def check_size(size):
    """Refuses an upload of `size` bytes over the limit, before it is read."""
    if size > MAX_BYTES:
        raise ImportRefused(_("Berkas lebih dari 5 MB."))


def open_zip(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportRefused(_("Berkas rusak: isinya tidak dapat dibuka.")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportRefused(_("Berkas terlalu besar setelah dibuka."))


def count_elements(data, damaged):
    """Refuses a package with more XML elements than an SOP document has, counting them in a
    stream (memory stays flat) before a library builds its tree of every part. Every part that
    is XML is counted, whatever its name: the main part is found through relationships.
    `damaged` is the message for a package that cannot be read."""
    count = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                with archive.open(info) as part:
                    if part.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":
                        continue
                with archive.open(info) as part:
                    for _event, element in ElementTree.iterparse(part, events=("end",)):
                        element.clear()
                        count += 1
                        if count > MAX_XML_ELEMENTS:
                            raise ImportRefused(
                                _(
                                    "Berkas ini berisi lebih dari %(n)s unsur; berkas SOP jauh "
                                    "lebih kecil. Hapus paragraf, baris dan objek kosong lalu "
                                    "unggah lagi."
                                )
                                % {"n": f"{MAX_XML_ELEMENTS:,}".replace(",", ".")}
                            )
    except ImportRefused:
        raise
    except Exception:  # a damaged zip or XML raises many kinds
        raise ImportRefused(damaged) from None
    return count
