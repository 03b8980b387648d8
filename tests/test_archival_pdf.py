"""The archived laporan lasts: PDF/A-3b, tagged, signed with a trusted timestamp from a local
RFC 3161 authority and the validation data of the chain (PAdES B-T; B-LT where revocation data
can be had), still PDF/A after the signature's incremental updates.

veraPDF is not installable on this machine (no Java package of it in the registries here), so
the PDF/A properties are asserted from the file itself with pypdf: the XMP identification
(pdfaid:part 3, conformance B), the output intent with its ICC profile, every font embedded,
the structure tree (tags) and the document language."""

import io
import re
import subprocess

import pytest
from django.core.management import call_command
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from activities.documents import laporan, signing
from tests.test_reports import open_run, walk, wib
from tests.tsa import LocalTsa


@pytest.fixture(scope="module")
def tsa():
    authority = LocalTsa().start()
    yield authority
    authority.stop()


@pytest.fixture
def timestamped(settings, tsa, tmp_path):
    root = tmp_path / "tsa-root.pem"
    root.write_bytes(tsa.root_pem)
    settings.SOPFLOW_TSA_URL = tsa.url
    settings.SOPFLOW_TSA_TRUST_ROOTS = [str(root)]
    return tsa


def archived_bytes(sop, users, start):
    run = walk(open_run(sop, users, start=start), users, start=start)
    report = laporan.ensure_archived(run.pk)
    with report.file.open("rb") as handle:
        return report, handle.read()


def fonts_of(reader):
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            yield font
            for descendant in font.get("/DescendantFonts") or []:
                yield descendant.get_object()


def assert_pdfa_3b(data):
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp), xmp[:500]
    assert re.search(r"pdfaid:conformance(>|=\")B", xmp)
    intents = root["/OutputIntents"]
    assert any(i.get_object()["/S"] == "/GTS_PDFA1" for i in intents)
    assert all("/DestOutputProfile" in i.get_object() for i in intents)
    fonts = list(fonts_of(reader))
    assert fonts
    for font in fonts:
        descriptor = font.get("/FontDescriptor")
        if descriptor is None:  # a Type0 font: its descendant carries the descriptor
            continue
        descriptor = descriptor.get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font
    # Tagged: a structure tree, marked content, and the language of the text.
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert str(root["/Lang"]).startswith("id")


def test_the_archived_laporan_is_pdfa_3b_and_tagged_after_signing(users, sop1, timestamped):
    _report, data = archived_bytes(sop1, users, wib(10, 5, 8))
    assert_pdfa_3b(data)
    # The signature only appended to the PDF/A file: its first revision is the rendered one.
    assert data.count(b"%%EOF") >= 2


def test_the_signature_carries_a_trusted_timestamp(users, sop2, timestamped, settings, tmp_path):
    report, data = archived_bytes(sop2, users, wib(10, 7, 9))
    assert timestamped.requests >= 1
    # The demo certificate names no CRL or OCSP responder: B-T, with the chain in the DSS.
    assert report.signature_level == signing.pades_level(data) == "B-T"
    reader = PdfFileReader(io.BytesIO(data))
    assert "/DSS" in reader.root
    tsa_roots = list(load_certs_from_pemder(settings.SOPFLOW_TSA_TRUST_ROOTS))
    context = ValidationContext(trust_roots=signing.trust_roots() + tsa_roots)
    status = validate_pdf_signature(reader.embedded_signatures[0], context)
    assert status.intact and status.valid
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert signing.verify_signature(data).ok
    path = tmp_path / "laporan.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, check=True).stdout.decode()
    assert "Signature is Valid" in out
    assert "ETSI.CAdES.detached" in out


def test_without_a_timestamp_authority_the_signature_is_b_b(users, sop2, settings):
    settings.SOPFLOW_TSA_URL = ""
    report, data = archived_bytes(sop2, users, wib(10, 7, 9))
    assert report.signature_level == signing.pades_level(data) == "B-B"


def test_with_revocation_data_the_signature_is_b_lt(users, sop2, timestamped, settings, tmp_path):
    """A signer whose certificate names its CRL: the CRL is fetched and embedded in the DSS."""
    signing._load.cache_clear()
    signer = tmp_path / "signer.p12"
    signer.write_bytes(timestamped.issue_signer(b"rahasia"))
    settings.SOPFLOW_SIGNING_PKCS12 = str(signer)
    settings.SOPFLOW_SIGNING_PASSWORD = "rahasia"
    settings.SOPFLOW_SIGNING_TRUST_ROOTS = settings.SOPFLOW_TSA_TRUST_ROOTS
    settings.SOPFLOW_SIGNING_FETCH_REVOCATION = True
    try:
        report, data = archived_bytes(sop2, users, wib(10, 7, 9))
    finally:
        signing._load.cache_clear()
    assert timestamped.crl_requests >= 1
    assert report.signature_level == signing.pades_level(data) == "B-LT"
    dss = PdfFileReader(io.BytesIO(data)).root["/DSS"]
    assert len(dss["/CRLs"]) >= 1
    assert_pdfa_3b(data)


def test_the_demo_timestamp_authority_keeps_its_root_and_timestamps_the_seal(
    settings, tmp_path, users, sop2
):
    """`make run`'s authority: made once in its folder, the same root the next time, and the
    archived laporan's seal carries its timestamp (PAdES B-T) which pyHanko trusts under it."""
    from activities.documents import demo_tsa

    folder = tmp_path / "demo-tsa"
    call_command("demo_tsa", folder=str(folder), init_only=True, stdout=io.StringIO())
    root = (folder / "root.pem").read_bytes()
    authority = demo_tsa.Authority.in_folder(folder)
    assert authority.root_pem == root
    assert "BUKAN TSA RESMI" in authority.tsa.subject.rfc4514_string()
    server = demo_tsa.Server(authority).start()
    try:
        settings.SOPFLOW_TSA_URL = server.url
        settings.SOPFLOW_TSA_TRUST_ROOTS = [str(folder / "root.pem")]
        report, data = archived_bytes(sop2, users, wib(10, 7, 9))
    finally:
        server.stop()
    assert server.requests >= 1
    assert report.signature_level in ("B-T", "B-LT")
    assert signing.pades_level(data) == report.signature_level
    reader = PdfFileReader(io.BytesIO(data))
    context = ValidationContext(
        trust_roots=signing.trust_roots() + list(load_certs_from_pemder([str(folder / "root.pem")]))
    )
    status = validate_pdf_signature(reader.embedded_signatures[-1], context)
    assert status.intact and status.valid
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
