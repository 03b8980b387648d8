"""Import of the SOP documents offices already have: pasted text, DOCX, XLSX, sopflow's JSON.

One module per format reads its source into rows of cells (`text`, `docx`, `xlsx`); one parser
(`common.parse_rows`) reads the official layout from them; `drafts` picks the reader for an
upload and writes the result as a new draft with its review notes. The XLSX template
(`xlsx.template_xlsx`) has its own plain sheets and its own reader.
"""

from activities.authoring.importers.common import (
    MAX_BYTES,
    MAX_STEPS,
    MAX_TEXT_CHARS,
    ImportedSop,
    ImportedStep,
    ImportRefused,
    check_size,
    mentioned_role,
    near_roles,
    parse_rows,
)
from activities.authoring.importers.docx import read_docx, write_docx
from activities.authoring.importers.drafts import (
    DraftExists,
    ImportResult,
    create_draft,
    import_source,
    open_draft,
    read_upload,
    replace_draft,
)
from activities.authoring.importers.text import read_text
from activities.authoring.importers.xlsx import read_xlsx, template_xlsx

__all__ = [
    "MAX_BYTES",
    "MAX_STEPS",
    "MAX_TEXT_CHARS",
    "ImportRefused",
    "ImportResult",
    "ImportedSop",
    "ImportedStep",
    "DraftExists",
    "check_size",
    "create_draft",
    "import_source",
    "mentioned_role",
    "near_roles",
    "open_draft",
    "parse_rows",
    "read_docx",
    "read_text",
    "read_upload",
    "read_xlsx",
    "replace_draft",
    "template_xlsx",
    "write_docx",
]
