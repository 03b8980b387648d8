"""The official SOP document (Permenpan RB 35/2012) as plain data, for the page and the PDF.

`build()` turns an SOP and its steps into a `Document`: the pelaksana columns, one row per step
with the flowchart symbol in each performer's column, the arrows between steps, the return
("Tidak") lines of decisions and, for print, the steps chunked into A4 landscape pages with
off-page connectors where the table breaks. Templates only print what is here.

Each role cell of a row holds its own small SVG, all of a row's SVGs as tall as the row is
expected to be. A row can still turn out taller than estimated (a browser with other fonts), so
every line that must reach the bottom of a cell is also painted as the cell's background, which
stretches with the cell; the SVG paints white over its own area and draws the exact lines there.

Geometry is in CSS pixels (1/96 inch). Numbers reach the templates as strings, so that the
Indonesian locale never turns 1.5 into "1,5" inside an SVG.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.authoring import steps as step_fields
from activities.models import parallel_stages

# A4 landscape (297 × 210 mm) less the @page margins of sopdoc.css (14 mm top and bottom,
# 10 mm left and right): 277 × 182 mm, 1046 px wide. The step table's columns get 1045 px: its
# collapsed outer borders (half a pixel each side) come on top, and the identity block's tables
# are given that whole width (`SopDocument.outer_width`), so both end at the same line.
PAGE_WIDTH = 1045
PAGE_HEIGHT = 687
# Height left unused at the foot of every page, because row heights are estimates.
PAGE_SLACK = 30

FONT_PX = 8 * 96 / 72  # 8pt, as in sopdoc.css
LINE_PX = FONT_PX * 1.25
HEADER_FONT_PX = 7.5 * 96 / 72
HEADER_LINE_PX = HEADER_FONT_PX * 1.2
PAD_X = 4
PAD_Y = 3

TEXT_COLUMNS = {
    "number": 28,
    "activity": 196,
    "requirements": 128,
    "time": 58,
    "output": 128,
    "remarks": 92,
}
ROLE_MAX_WIDTH = 120
ROLE_MIN_WIDTH = 72
# With many roles the text columns give up width, down to these.
TEXT_MIN_WIDTHS = {"activity": 140, "requirements": 96, "output": 96}

LABEL_PX = 7
SVG_FONT = "Liberation Sans, Arial, DejaVu Sans, sans-serif"
FONT_FILES = {
    False: ("LiberationSans-Regular.ttf", "Arial.ttf", "DejaVuSans.ttf"),
    True: ("LiberationSans-Bold.ttf", "Arial_Bold.ttf", "DejaVuSans-Bold.ttf"),
}
FONT_DIRS = (
    "/usr/share/fonts/truetype/liberation",
    "/usr/share/fonts/truetype/liberation2",
    "/usr/share/fonts/liberation-sans",
    "/usr/share/fonts/truetype/msttcorefonts",
    "/usr/share/fonts/truetype/dejavu",
    "/Library/Fonts",
)
# Average advance of a character when no font file can be read: generous for Arial-like faces.
FALLBACK_EM = 0.58

SECTION_ROWS = (
    (
        ("legal_basis", gettext_lazy("Dasar Hukum")),
        ("qualification", gettext_lazy("Kualifikasi Pelaksana")),
    ),
    (
        ("related", gettext_lazy("Keterkaitan")),
        ("equipment", gettext_lazy("Peralatan/Perlengkapan")),
    ),
    (
        ("warning", gettext_lazy("Peringatan")),
        ("records", gettext_lazy("Pencatatan dan Pendataan")),
    ),
)

START, PROCESS, DECISION, END = "start", "process", "decision", "end"
# The step's action (`Step.Action`) whose "Tidak" line goes back to its return target.
APPROVAL = "approval"
SYMBOL_LABELS = {
    START: gettext_lazy("Mulai"),
    PROCESS: gettext_lazy("Proses"),
    DECISION: gettext_lazy("Keputusan/persetujuan"),
    END: gettext_lazy("Selesai"),
}
SYMBOL_HEIGHT = {START: 22, PROCESS: 22, DECISION: 30, END: 22}
CONNECT_Y = 8  # where the line from the previous step turns towards this step's column
ARROW = 5
PENTAGON_W = 18
PENTAGON_H = 16
LANE_INSET = 7  # a return line runs this far inside the right edge of its target's column


# Text measurement -----------------------------------------------------------------------------


@functools.cache
def _advances(bold):
    """Advance widths in em per character of the face the stylesheet asks for, if installed."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return {}
    for directory in FONT_DIRS:
        for name in FONT_FILES[bold]:
            path = Path(directory) / name
            if not path.is_file():
                continue
            try:
                font = TTFont(path, lazy=True)
                metrics = font["hmtx"]
                per_em = font["head"].unitsPerEm
                return {
                    chr(code): metrics[glyph][0] / per_em
                    for code, glyph in font.getBestCmap().items()
                }
            except Exception:  # a damaged font file only costs precision
                continue
    return {}


def text_width(text, font_px, bold=False):
    advances = _advances(bold)
    return font_px * sum(advances.get(char, FALLBACK_EM) for char in text)


def count_lines(text, width, font_px=FONT_PX, bold=False):
    """Lines a greedy word wrap needs for `text` in `width` pixels (at least one)."""
    # Renderers shape and kern differently; a narrower measure makes the estimate err long.
    width = max(width * 0.95, 1.0)
    space = text_width(" ", font_px, bold)
    lines = 0
    for paragraph in (text or "").splitlines() or [""]:
        lines += 1
        used = 0.0
        for word in paragraph.split():
            word_width = text_width(word, font_px, bold)
            if used and used + space + word_width <= width:
                used += space + word_width
                continue
            if used:
                lines += 1
            # A word wider than the column breaks inside (overflow-wrap: break-word).
            extra, used = divmod(word_width, width)
            lines += int(extra)
    return lines


def text_height(text, width, font_px=FONT_PX, line_px=LINE_PX, bold=False):
    return count_lines(text, width - 2 * PAD_X, font_px, bold) * line_px + 2 * PAD_Y + 1


# The document ---------------------------------------------------------------------------------


@dataclass
class Shape:
    """One SVG element: tag, attributes as (name, string) pairs, and text content."""

    tag: str
    attrs: list
    text: str = ""


@dataclass
class Cell:
    """One pelaksana cell of a row: its SVG and the lines that continue below it."""

    role: str
    width: int
    symbol: str = ""
    symbol_label: str = ""
    shapes: list = field(default_factory=list)
    stretch: set = field(default_factory=set)

    @property
    def background(self):
        """Inline CSS painting each continuing line as a 1px stripe down the whole cell.

        WeasyPrint ignores background-size on gradients, so the stripes are hard stops of one
        gradient across the cell, placed in percent of its width.
        """
        if not self.stretch:
            return ""
        stops = []
        for x in sorted(self.stretch):
            left = _num((x - 0.5) / self.width * 100)
            right = _num((x + 0.5) / self.width * 100)
            stops.append(f"transparent {left}%, #000 {left}%, #000 {right}%, transparent {right}%")
        return f"background-image: linear-gradient(to right, {', '.join(stops)})"


@dataclass
class Row:
    number: int
    kind: str
    activity: str
    requirements: str
    time: str
    output: str
    remarks: str
    height: str
    cells: list


@dataclass
class Page:
    rows: list
    is_last: bool


@dataclass
class Column:
    role_id: int
    name: str


@dataclass
class Document:
    columns: list
    pages: list
    total: str
    sections: list
    widths: dict
    role_width: int
    width: int = PAGE_WIDTH

    @property
    def outer_width(self):
        """The step table's width with its outer borders: what the identity block is given."""
        return self.width + 1

    @property
    def total_label_colspan(self):
        """NO, Kegiatan, the pelaksana columns and Kelengkapan: the cells left of Waktu."""
        return 3 + len(self.columns)


def _num(value):
    return f"{value:.2f}".rstrip("0").rstrip(".")


def column_widths(role_count):
    """Widths in px of the step table's columns; what the role columns leave goes to text."""
    widths = dict(TEXT_COLUMNS)
    count = max(role_count, 1)
    free = PAGE_WIDTH - sum(widths.values())
    role = min(ROLE_MAX_WIDTH, free // count)
    if role < ROLE_MIN_WIDTH:
        spares = {name: widths[name] - floor for name, floor in TEXT_MIN_WIDTHS.items()}
        spare = sum(spares.values())
        role = min(ROLE_MIN_WIDTH, (free + spare) // count)
        deficit = role * count - free
        taken = 0
        for name in ("requirements", "output"):
            take = deficit * spares[name] // spare
            widths[name] -= take
            taken += take
        widths["activity"] -= deficit - taken
        free = role * count
    left = free - role * count
    widths["activity"] += left // 2
    widths["requirements"] += left // 4
    widths["output"] += left - left // 2 - left // 4
    widths["role"] = role
    return widths


def header_height(columns, widths):
    names = max(
        (count_lines(c.name, widths["role"] - 2 * PAD_X, HEADER_FONT_PX, True) for c in columns),
        default=1,
    )
    return (1 + names) * HEADER_LINE_PX + 4 * PAD_Y + 3


def total_row_height():
    return LINE_PX + 2 * PAD_Y + 2


def section_rows(sop):
    """The identity sections as the document pairs them, each a (label, items) tuple."""
    return [[(label, sop.items(key)) for key, label in pair] for pair in SECTION_ROWS]


def waktu(step):
    """The standard time as written, without the tab some documents put in it."""
    return step.standard_display


# Flow routing ---------------------------------------------------------------------------------


def _route(performers):
    """For every step, the performer column the flow enters and the one it leaves from.

    A step with one performer enters and leaves in that column. A shared step (Kasi and Staf
    together) is entered in the performer column nearest the previous step and left from the
    one nearest the next step, so lines stay short.
    """
    entries, exits = [], []
    for index, columns in enumerate(performers):
        if index == 0:
            entry = columns[0]
        else:
            entry = min(columns, key=lambda c: (abs(c - exits[-1]), c))
        if index + 1 < len(performers):
            following = performers[index + 1]
            leave = min(
                columns,
                key=lambda c: (min(abs(c - q) for q in following), abs(c - entry), c),
            )
        else:
            leave = entry
        entries.append(entry)
        exits.append(leave)
    return entries, exits


@dataclass
class _Frame:
    """Vertical layout of one row's flow cells."""

    height: float
    cy: float
    incoming: bool  # a line from the previous step on the same page
    continued_in: bool  # the page starts with this row: connector from the previous page
    outgoing: bool
    continued_out: bool


def _frame(kind, text_px, incoming, continued_in, outgoing, continued_out):
    top = 8
    if incoming:
        top = CONNECT_Y + 14
    if continued_in:
        top = 4 + PENTAGON_H + 10
    labelled = kind == DECISION
    bottom = 8
    if outgoing:
        bottom = 16 if labelled else 12
    if continued_out:
        bottom = (12 if labelled else 8) + PENTAGON_H + 4
    symbol = SYMBOL_HEIGHT.get(kind, SYMBOL_HEIGHT[PROCESS])
    height = max(top + symbol + bottom, text_px)
    cy = top + (height - top - symbol - bottom) / 2 + symbol / 2
    return _Frame(height, cy, incoming, continued_in, outgoing, continued_out)


class _Painter:
    """Collects the SVG shapes and continuing lines of one row, cell by cell."""

    def __init__(self, columns, width, frame):
        self.w = width
        self.frame = frame
        self.cx = width / 2
        self.cells = [Cell(role=column.name, width=width) for column in columns]
        self.shape_w = max(min(width - 28, 64), 24)
        self.diamond_w = max(min(width - 40, 48), 24)

    def _add(self, col, tag, text="", **attrs):
        pairs = [
            (name.replace("_", "-"), _num(value) if isinstance(value, float | int) else value)
            for name, value in attrs.items()
        ]
        self.cells[col].shapes.append(Shape(tag, pairs, text))

    def half_width(self, kind):
        return self.diamond_w / 2 if kind == DECISION else self.shape_w / 2

    def line(self, col, x1, y1, x2, y2):
        if (x1, y1) != (x2, y2):
            self._add(col, "line", x1=x1, y1=y1, x2=x2, y2=y2, stroke="#000")

    def line_down(self, col, x, y):
        """A line from y to the foot of the cell, however tall the row turns out."""
        self.line(col, x, y, x, self.frame.height)
        self.cells[col].stretch.add(x)

    def across(self, y, from_col, from_x, to_col, to_x):
        """A horizontal line that may cross several cells."""
        if from_col == to_col:
            self.line(from_col, from_x, y, to_x, y)
            return
        step = 1 if to_col > from_col else -1
        near, far = (self.w, 0) if step == 1 else (0, self.w)
        self.line(from_col, from_x, y, near, y)
        for col in range(from_col + step, to_col, step):
            self.line(col, far, y, near, y)
        self.line(to_col, far, y, to_x, y)

    def arrow(self, col, x, y, direction):
        """An arrowhead whose tip touches (x, y); the line ends ARROW px before it."""
        half = ARROW * 0.65
        back = {"down": (0, -1), "left": (1, 0), "right": (-1, 0)}[direction]
        bx, by = x + back[0] * ARROW, y + back[1] * ARROW
        if back[0] == 0:
            points = [(bx - half, by), (bx + half, by), (x, y)]
        else:
            points = [(bx, by - half), (bx, by + half), (x, y)]
        self._add(col, "polygon", points=" ".join(f"{_num(px)},{_num(py)}" for px, py in points))

    def label(self, col, x, y, text, anchor="start", size=LABEL_PX, bold=False):
        attrs = {"x": x, "y": y, "font_size": size, "font_family": SVG_FONT}
        if anchor != "start":
            attrs["text_anchor"] = anchor
        if bold:
            attrs["font_weight"] = "bold"
        self._add(col, "text", text=str(text), **attrs)

    def symbol(self, col, kind):
        cy, cx = self.frame.cy, self.cx
        height = SYMBOL_HEIGHT.get(kind, SYMBOL_HEIGHT[PROCESS])
        top = cy - height / 2
        common = {"fill": "#fff", "stroke": "#000", "data_symbol": kind}
        if kind == DECISION:
            half = self.diamond_w / 2
            points = [(cx, top), (cx + half, cy), (cx, top + height), (cx - half, cy)]
            self._add(
                col,
                "polygon",
                points=" ".join(f"{_num(x)},{_num(y)}" for x, y in points),
                **common,
            )
        else:
            radius = height / 2 if kind in (START, END) else 0
            self._add(
                col,
                "rect",
                x=cx - self.shape_w / 2,
                y=top,
                width=self.shape_w,
                height=height,
                rx=radius,
                **common,
            )
        self.cells[col].symbol = kind
        self.cells[col].symbol_label = SYMBOL_LABELS.get(kind, "")

    def pentagon(self, col, top, number):
        """The off-page connector: a pentagon pointing down, with the step it leads to."""
        cx, half = self.cx, PENTAGON_W / 2
        shoulder = top + PENTAGON_H - 6
        points = [
            (cx - half, top),
            (cx + half, top),
            (cx + half, shoulder),
            (cx, top + PENTAGON_H),
            (cx - half, shoulder),
        ]
        self._add(
            col,
            "polygon",
            points=" ".join(f"{_num(x)},{_num(y)}" for x, y in points),
            fill="#fff",
            stroke="#000",
            data_symbol="connector",
        )
        self.label(col, cx, top + 8, number, anchor="middle", size=7, bold=True)


def _paint(columns, width, frame, kind, performers, entry, exit_, previous_exit, numbers):
    """Shapes of one row: incoming line, symbol(s), outgoing line. Returns the painter."""
    number, next_number = numbers
    painter = _Painter(columns, width, frame)
    height = SYMBOL_HEIGHT.get(kind, SYMBOL_HEIGHT[PROCESS])
    top, bottom = frame.cy - height / 2, frame.cy + height / 2
    cx = painter.cx

    if frame.incoming:
        if previous_exit != entry:
            painter.line(previous_exit, cx, 0, cx, CONNECT_Y)
            painter.across(CONNECT_Y, previous_exit, cx, entry, cx)
            painter.line(entry, cx, CONNECT_Y, cx, top - ARROW)
        else:
            painter.line(entry, cx, 0, cx, top - ARROW)
        painter.arrow(entry, cx, top, "down")
    elif frame.continued_in:
        painter.pentagon(entry, 4, number)
        painter.line(entry, cx, 4 + PENTAGON_H, cx, top - ARROW)
        painter.arrow(entry, cx, top, "down")

    for col in performers:
        painter.symbol(col, kind)
    half = painter.half_width(kind)
    for left, right in zip(performers, performers[1:], strict=False):
        painter.across(frame.cy, left, cx + half, right, cx - half)

    if frame.outgoing or frame.continued_out:
        if kind == DECISION:
            painter.label(exit_, cx + 3, bottom + 9, _("Ya"))
        if frame.outgoing:
            painter.line_down(exit_, cx, bottom)
        else:
            pentagon_top = frame.height - 4 - PENTAGON_H
            painter.line(exit_, cx, bottom, cx, pentagon_top - ARROW)
            painter.arrow(exit_, cx, pentagon_top, "down")
            painter.pentagon(exit_, pentagon_top, next_number)
    return painter


def _paint_return(painters, frames, kind_of, entries, decision, target, lane_col, width):
    """The "Tidak" line of an approval back up to the step it returns to, on the same page."""
    lane_x = width - LANE_INSET
    source = painters[decision]
    cy = frames[decision].cy
    col = entries[decision]
    cx = source.cx
    half = source.half_width(kind_of[decision])
    if lane_col >= col:
        source.across(cy, col, cx + half, lane_col, lane_x)
        edge = lane_x - 2 if lane_col == col else width - 2
        source.label(col, edge, cy - 7, _("Tidak"), anchor="end")
    else:
        source.across(cy, col, cx - half, lane_col, lane_x)
        source.label(col, 2, cy - 7, _("Tidak"))
    source.line(lane_col, lane_x, cy, lane_x, 0)
    for index in range(target + 1, decision):
        painters[index].line_down(lane_col, lane_x, 0)
    painter = painters[target]
    target_cy = frames[target].cy
    tip = painter.cx + painter.half_width(kind_of[target])
    painter.line_down(lane_col, lane_x, target_cy)
    painter.line(lane_col, lane_x, target_cy, tip + ARROW, target_cy)
    painter.arrow(lane_col, tip, target_cy, "left")


def _paint_return_stub(painter, frame, kind, col, toward_left, target_number, width):
    """An approval whose return target is on an earlier page: a short labelled arrow."""
    cy, cx, half = frame.cy, painter.cx, painter.half_width(kind)
    if toward_left:
        painter.line(col, cx - half, cy, 2 + ARROW, cy)
        painter.arrow(col, 2, cy, "left")
        painter.label(col, 2, cy - 7, _("Tidak"))
        painter.label(col, 2, cy + 10, f"→ {target_number}")
    else:
        painter.line(col, cx + half, cy, width - 2 - ARROW, cy)
        painter.arrow(col, width - 2, cy, "right")
        painter.label(col, width - 2, cy - 7, _("Tidak"), anchor="end")
        painter.label(col, width - 2, cy + 10, f"→ {target_number}", anchor="end")


def _bar(painter, cols, y, name):
    """A synchronisation bar (the thick line of a fork or a join) across the centres of the
    columns `cols`, with a little overhang."""
    lo, hi = min(cols), max(cols)
    overhang = painter.shape_w / 2
    for col in range(lo, hi + 1):
        x1 = painter.cx - overhang if col == lo else 0
        x2 = painter.cx + overhang if col == hi else painter.w
        painter._add(
            col, "line", x1=x1, y1=y, x2=x2, y2=y, stroke="#000", stroke_width=4, data_symbol=name
        )


def _paint_parallel(painters, frames, steps, performers, width):
    """Steps side by side (a parallel group): a fork bar above the group's first row, from
    which a line leads down into every branch's column, and a join bar under its last row,
    into which every branch leads; the flow goes on from the join."""
    index_of = {step.pk: index for index, step in enumerate(steps)}
    for stage in parallel_stages(steps):
        if len(stage) < 2:
            continue
        first, last = index_of[stage[0].pk], index_of[stage[-1].pk]
        cols = sorted({col for index in range(first, last + 1) for col in performers[index]})
        fork = painters[first]
        fork_y = 3
        _bar(fork, cols, fork_y, "fork")
        fork.label(min(cols), 2, fork_y + 10, _("Paralel"))
        join = painters[last]
        join_y = frames[last].height - 3
        _bar(join, cols, join_y, "join")
        # Each branch's lane from the fork down to its own row, and from its row to the join.
        for index in range(first, last + 1):
            for col in performers[index]:
                for between in range(first, index):
                    painters[between].line_down(col, painters[between].cx - 6, 0)
                for below in range(index + 1, last + 1):
                    painters[below].line_down(col, painters[below].cx + 6, 0)


def keterangan(step):
    """The Keterangan cell: the step's remarks and, for a joint step, who completes it."""
    return step_fields.printed_remarks(step.remarks, step.completion, step.quorum)


def _text_px(step, widths):
    return max(
        text_height(str(step.number), widths["number"]),
        text_height(step.activity, widths["activity"]),
        text_height(step.requirements, widths["requirements"]),
        text_height(waktu(step), widths["time"]),
        text_height(step.output, widths["output"]),
        text_height(keterangan(step), widths["remarks"]),
    )


def _paginate(count, frame_for, budget, total_px):
    """Chunks of step indexes, each filling at most `budget` px of a page.

    A row's own height depends on where the page breaks (connectors above and below), so each
    candidate end of page is measured as the page's last row.
    """
    pages, start = [], 0
    while start < count:
        end = start
        while end + 1 < count:
            candidate = end + 1
            used = sum(
                frame_for(index, index == start and start > 0, index == candidate).height
                for index in range(start, candidate + 1)
            )
            if candidate == count - 1:
                used += total_px
            if used > budget:
                break
            end = candidate
        # The table's last row must share its page with the Jumlah waktu row.
        if end == count - 1 and end > start:
            used = sum(
                frame_for(index, index == start and start > 0, index == end).height
                for index in range(start, end + 1)
            )
            if used + total_px > budget:
                end -= 1
        pages.append(list(range(start, end + 1)))
        start = end + 1
    return pages


def build(sop, steps=None, *, paged=False):
    """The document of `sop`: everything the templates print, computed without queries.

    `steps` are the SOP's steps with their roles prefetched (the default reads
    `sop.steps.all()`, prefetched by `access.sop_queryset`). With `paged`, the steps are
    chunked into A4 landscape pages joined by off-page connectors; otherwise one page.
    """
    steps = sorted(sop.steps.all() if steps is None else steps, key=lambda step: step.number)
    roles = sop.columns(steps)
    columns = [Column(role.pk, sop.role_name(role)) for role in roles]
    index_of = {role.pk: index for index, role in enumerate(roles)}
    widths = column_widths(len(columns))
    width = widths["role"]
    # A draft may have a step without a pelaksana yet: it is drawn in the first column.
    performers = [sorted(index_of[role.pk] for role in step.roles.all()) or [0] for step in steps]
    if not columns:
        columns = [Column(None, "")]
    entries, exits = _route(performers)
    count = len(steps)
    text_px = [_text_px(step, widths) for step in steps]

    def frame_for(index, first_on_page, last_on_page):
        last_step = index == count - 1
        return _frame(
            steps[index].kind,
            text_px[index],
            incoming=index > 0 and not first_on_page,
            continued_in=index > 0 and first_on_page,
            outgoing=not last_step and not last_on_page,
            continued_out=not last_step and last_on_page,
        )

    if paged:
        budget = PAGE_HEIGHT - PAGE_SLACK - header_height(columns, widths)
        chunks = _paginate(count, frame_for, budget, total_row_height()) or [[]]
    else:
        chunks = [list(range(count))]

    page_of, frames = {}, [None] * count
    for page_number, chunk in enumerate(chunks):
        for index in chunk:
            page_of[index] = page_number
            frames[index] = frame_for(index, index == chunk[0], index == chunk[-1])

    painters = [
        _paint(
            columns,
            width,
            frames[index],
            step.kind,
            performers[index],
            entries[index],
            exits[index],
            exits[index - 1] if index else None,
            (step.number, steps[index + 1].number if index + 1 < count else None),
        )
        for index, step in enumerate(steps)
    ]

    position = {step.pk: index for index, step in enumerate(steps)}
    kinds = [step.kind for step in steps]
    for index, step in enumerate(steps):
        if step.action != APPROVAL or step.return_to_id not in position:
            continue
        target = position[step.return_to_id]
        if target >= index:
            continue
        lane_col = entries[target]
        if page_of[target] == page_of[index]:
            _paint_return(painters, frames, kinds, entries, index, target, lane_col, width)
        else:
            _paint_return_stub(
                painters[index],
                frames[index],
                step.kind,
                entries[index],
                lane_col < entries[index],
                steps[target].number,
                width,
            )

    _paint_parallel(painters, frames, steps, performers, width)

    rows = [
        Row(
            number=step.number,
            kind=step.kind,
            activity=step.activity,
            requirements=step.requirements,
            time=waktu(step),
            output=step.output,
            remarks=keterangan(step),
            height=_num(frames[index].height),
            cells=painters[index].cells,
        )
        for index, step in enumerate(steps)
    ]
    pages = [
        Page(rows=[rows[index] for index in chunk], is_last=number == len(chunks) - 1)
        for number, chunk in enumerate(chunks)
    ]
    return Document(
        columns=columns,
        pages=pages,
        total=sop.standard_total_display(steps),
        sections=section_rows(sop),
        widths={name: str(value) for name, value in widths.items()},
        role_width=width,
    )
