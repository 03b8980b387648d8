"""CSV and XLSX downloads of tables, safe to open in a spreadsheet.

Text that a spreadsheet would run as a formula (CSV/formula injection) is prefixed with an
apostrophe, and only such text: a document number such as "-----/----- -Kesbangpol / 2018" is
shown as written. CSV starts with a byte order mark so that Excel reads it as UTF-8, and is streamed.
"""

import csv
import datetime
import re

from django.http import HttpResponse, StreamingHttpResponse

from activities.text import xml_safe

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# What a spreadsheet evaluates: "=" or "@" first, or a sign (a run of them, spaces between)
# before a number, a bracket, "=" or "@", a cell reference (A1, $B$2) or a function or DDE
# call (SUM(, cmd|). A tab or carriage return first hides any of these behind it.
FORMULA_START = re.compile(
    r"""[=@\t\r]
    | [+-][\s+-]*(?: [\d.(=@] | \$?[A-Za-z]{1,3}\$?\d | [A-Za-z_][\w.]*\s*[(|!] )""",
    re.VERBOSE,
)


def safe_cell(value):
    """Text that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def _csv_text(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return safe_cell(value)


def csv_response(header, rows, filename, *, cells_safe=False):
    """A streamed CSV download of `header` and the (lazily produced) `rows`. `cells_safe`:
    the rows' texts went through `safe_cell` already and their values need no conversion
    (an export of many thousand rows escapes each repeated text once)."""

    def lines():
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header)
        if cells_safe:
            # Pieces of about a thousand rows: fewer, larger writes to the client.
            piece = []
            for row in rows:
                piece.append(writer.writerow(row))
                if len(piece) == 1000:
                    yield "".join(piece)
                    piece = []
            yield "".join(piece)
            return
        for row in rows:
            yield writer.writerow([_csv_text(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(header, rows, filename, sheet_title):
    """An XLSX download: bold header, dates as dates, text always stored as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    # Excel refuses sheet titles over 31 characters.
    sheet = workbook.create_sheet(sheet_title[:31])
    bold = Font(bold=True)
    header_cells = []
    for title in header:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            # XML cannot hold most control characters; one in a title must not fail the export.
            cell = WriteOnlyCell(sheet, value=xml_safe(value))
            if isinstance(value, str):
                # openpyxl would store a text starting with "=" as a formula.
                cell.data_type = "s"
            elif isinstance(value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    response = HttpResponse(content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    workbook.save(response)
    return response
