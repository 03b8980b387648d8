"""The officials' own TTE: the BSrE Esign Client adapter against the fake Esign Client, the
local PKCS#12 adapter, and the verification of several signatures (a forged update refused)."""

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from weasyprint import HTML

from activities.documents import signing, tte
from activities.documents.demo_certificates import DemoCa
from activities.documents.esign_fake import FakeEsign

NIK = "3671010101800001"
NIP = "198001012005011001"
PASSPHRASE = "rahasia-kabid"


@pytest.fixture(scope="module")
def demo_ca():
    return DemoCa.new()


@pytest.fixture
def folder(tmp_path, demo_ca, settings):
    (tmp_path / "ca.pem").write_bytes(demo_ca.certificate_pem)
    p12 = demo_ca.person_pkcs12(
        name="Rina Marlina, S.Kom., M.Si.",
        nip=NIP,
        title="Kepala Bidang DIKP",
        passphrase=PASSPHRASE,
    )
    (tmp_path / f"{NIK}.p12").write_bytes(p12)
    (tmp_path / f"{NIP}.p12").write_bytes(p12)
    settings.SOPFLOW_TTE_SERVICE = "pkcs12"
    settings.SOPFLOW_TTE_PKCS12_DIR = str(tmp_path)
    return tmp_path


@pytest.fixture
def fake(folder):
    server = FakeEsign(folder)
    base_url = server.start()
    server.base_url = base_url
    yield server
    server.stop()


@pytest.fixture(scope="module")
def document():
    return HTML(string="<h1>Laporan Kegiatan</h1><p>Wawaran keliling</p>").write_pdf()


PERSON = tte.Person(name="Rina Marlina, S.Kom., M.Si.", nip=NIP, nik=NIK)
APPEARANCE = tte.Appearance(reason="Laporan kegiatan 1", location="Diskominfo", field="TTE-1")


def client(fake, timeout=10.0):
    return tte.EsignClient(fake.base_url, fake.username, fake.password, timeout)


def test_esign_client_signs_through_the_fake_service(fake, document):
    signed = client(fake).sign_pdf(
        document,
        person=PERSON,
        credential=tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE),
        appearance=APPEARANCE,
    )
    check = tte.check_signed(document, signed, signatures=1)
    assert check.ok and check.trusted
    (info,) = check.signatures
    assert info.common_name == "Rina Marlina, S.Kom., M.Si."
    assert info.serial_number == NIP
    assert info.title == "Kepala Bidang DIKP"
    assert info.demo
    assert fake.calls == [("/api/v2/sign/pdf", NIK)]


def test_wrong_passphrase_is_refused_and_nothing_is_signed(fake, document):
    with pytest.raises(tte.WrongCredential):
        client(fake).sign_pdf(
            document,
            person=PERSON,
            credential=tte.Credential(tte.Credential.PASSPHRASE, "salah"),
            appearance=APPEARANCE,
        )


def test_a_timeout_after_sending_is_not_retried(fake, document):
    fake.delay = 1.5
    with pytest.raises(tte.OutcomeUnknown):
        client(fake, timeout=0.3).sign_pdf(
            document,
            person=PERSON,
            credential=tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE),
            appearance=APPEARANCE,
        )
    # One request reached the service; the adapter never sent it again.
    assert fake.calls == [("/api/v2/sign/pdf", NIK)]


def test_an_unreachable_service_is_unavailable_not_unknown(document):
    dead = tte.EsignClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(tte.ServiceUnavailable):
        dead.sign_pdf(
            document,
            person=PERSON,
            credential=tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE),
            appearance=APPEARANCE,
        )


def test_the_credential_never_prints():
    credential = tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE)
    assert PASSPHRASE not in repr(credential) and PASSPHRASE not in str(credential)


def _personal_then_seal(folder, document):
    personal = tte.Pkcs12Signing(folder).sign_pdf(
        document,
        person=PERSON,
        credential=tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE),
        appearance=APPEARANCE,
    )
    seal = signing.configured_signer()
    return personal, seal.sign(personal, reason="Segel", location="Tangerang")


def test_two_signatures_verify_with_the_whole_file_covered(folder, document):
    _personal, sealed = _personal_then_seal(folder, document)
    check = signing.verify_signature(sealed)
    assert check.ok, check.problem
    assert check.trusted
    assert [info.field for info in check.signatures] == ["TTE-1", signing.FIELD_NAME]
    assert check.signatures[0].common_name == "Rina Marlina, S.Kom., M.Si."
    assert check.signatures[0].modification in ("FORM_FILLING", "LTA_UPDATES", "NONE")
    assert check.signatures[1].whole_file


def _with_added_content(data):
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 50 50 Td (PALSU) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_content_added_after_the_last_signature_is_refused(folder, document):
    _personal, sealed = _personal_then_seal(folder, document)
    check = signing.verify_signature(_with_added_content(sealed))
    assert not check.ok
    assert not check.whole_file


def test_content_added_between_two_signatures_is_refused(folder, document):
    personal, _sealed = _personal_then_seal(folder, document)
    forged = _with_added_content(personal)
    sealed = signing.configured_signer().sign(forged, reason="Segel", location="Tangerang")
    check = signing.verify_signature(sealed)
    # The seal itself is sound and covers the file, but the earlier signature was followed by
    # new content: the document is refused.
    assert check.signatures[1].ok and check.signatures[1].whole_file
    assert check.signatures[0].problem
    assert not check.ok


def test_bytes_after_the_last_signature_are_refused(folder, document):
    _personal, sealed = _personal_then_seal(folder, document)
    assert not signing.verify_signature(sealed + b"\n%% tambahan\n").ok


def test_the_returned_document_must_be_the_one_sent(folder, document):
    other = HTML(string="<p>Dokumen lain</p>").write_pdf()
    signed = tte.Pkcs12Signing(folder).sign_pdf(
        other,
        person=PERSON,
        credential=tte.Credential(tte.Credential.PASSPHRASE, PASSPHRASE),
        appearance=APPEARANCE,
    )
    with pytest.raises(tte.ServiceRefused):
        tte.check_signed(document, signed, signatures=1)
