"""Uploads that would act on their own when opened are refused: PDFs with scripts or automatic
actions, Office files with macros under any part name, ActiveX, or a template fetched from
elsewhere."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from activities.core import uploads
from tests.test_reports import tiny_pdf
from tests.test_uploads import docx, refusal

pytestmark = pytest.mark.django_db


def pdf(build=None):
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if build:
        build(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile("undangan.pdf", buffer.getvalue())


def action(kind, **entries):
    fields = {NameObject("/S"): NameObject(kind)}
    for key, value in entries.items():
        fields[NameObject(f"/{key}")] = TextStringObject(value)
    return DictionaryObject(fields)


def document_script(writer):
    names = DictionaryObject(
        {
            NameObject("/Names"): ArrayObject(
                [
                    TextStringObject("x"),
                    writer._add_object(action("/JavaScript", JS="app.alert(1)")),
                ]
            )
        }
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(names)}
    )


def open_action(writer):
    writer._root_object[NameObject("/OpenAction")] = action("/JavaScript", JS="app.alert(1)")


def page_action(writer):
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): action("/Launch", F="cmd.exe")}
    )


@pytest.mark.parametrize(
    "build",
    [document_script, open_action, page_action],
    ids=["document JavaScript", "open action", "page action launching a program"],
)
def test_pdfs_with_active_content_are_refused(build):
    message = refusal([pdf(build)])
    assert "konten aktif" in message


def test_an_escaped_name_does_not_hide_a_script():
    data = (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /S /JavaScript /J#53 (app.alert(1)) >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    assert "konten aktif" in refusal([SimpleUploadedFile("a.pdf", data)])


def test_plain_pdfs_are_accepted():
    assert len(uploads.validate_uploads([pdf(), tiny_pdf()])) == 2


def office(parts, name="undangan.docx"):
    base = docx()
    base.seek(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, parts.pop(item.filename, data))
        for part, data in parts.items():
            target.writestr(part, data)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_a_macro_part_under_another_name_is_refused():
    content_types = (
        b'<Types><Override PartName="/word/data.bin" '
        b'ContentType="application/vnd.ms-office.vbaProject"/></Types>'
    )
    upload = office({"[Content_Types].xml": content_types, "word/data.bin": b"\xd0\xcf\x11\xe0"})
    assert "makro" in refusal([upload])


def test_a_remote_template_is_refused():
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/attachedTemplate" Target="http://contoh.invalid/t.dotm" '
        b'TargetMode="External"/></Relationships>'
    )
    upload = office({"word/_rels/settings.xml.rels": rels})
    assert "templat dari luar" in refusal([upload])


def test_an_external_hyperlink_is_fine():
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/hyperlink" Target="https://tangerangkota.go.id" '
        b'TargetMode="External"/></Relationships>'
    )
    assert uploads.validate_uploads([office({"word/_rels/extra.xml.rels": rels})])
