"""The demo certificates, all made by one builder: the demo signer of archived laporan
(`make_demo_certificate`) and the officials' demo TTE under a demo CA (`make_demo_signers`).
Each says in its name that it is a demo; the files are written once and kept."""

import io
import stat

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from django.core.management import call_command

from activities.documents import signing
from activities.documents.demo_certificates import DemoCa
from activities.models import Pegawai


def constraints(certificate):
    return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value


def usage(certificate):
    return certificate.extensions.get_extension_for_class(x509.KeyUsage).value


def demo(certificate):
    """As the verification page reads it (pyHanko's asn1crypto certificate)."""
    der = certificate.public_bytes(Encoding.DER)
    return signing.is_demo_certificate(asn1_x509.Certificate.load(der))


def test_the_demo_signer_is_self_signed_marked_as_a_demo_and_kept(tmp_path):
    path = tmp_path / "var" / "demo-signer.p12"
    out = io.StringIO()
    call_command("make_demo_certificate", output=str(path), password="rahasia", stdout=out)
    assert "BUKAN SERTIFIKAT RESMI" in out.getvalue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = pkcs12.load_pkcs12(path.read_bytes(), b"rahasia")
    certificate = loaded.cert.certificate
    assert loaded.cert.friendly_name == b"sopflow-demo"
    assert loaded.additional_certs == []
    assert certificate.subject == certificate.issuer
    assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == (
        "sopflow DEMO - BUKAN SERTIFIKAT RESMI"
    )
    assert demo(certificate)
    assert constraints(certificate) == x509.BasicConstraints(ca=True, path_length=None)
    assert usage(certificate).key_cert_sign and usage(certificate).content_commitment
    span = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert span.days == 3 * 365 + 1

    # Run again: the file is left as it is, unless --force.
    before = path.read_bytes()
    call_command("make_demo_certificate", output=str(path), password="x", stdout=io.StringIO())
    assert path.read_bytes() == before
    call_command(
        "make_demo_certificate", output=str(path), password="x", force=True, stdout=io.StringIO()
    )
    assert path.read_bytes() != before
    assert pkcs12.load_pkcs12(path.read_bytes(), b"x").cert is not None


def test_the_officials_demo_tte_are_issued_by_a_demo_ca_that_signs_no_further_ca(seeded, tmp_path):
    folder = tmp_path / "tte"
    call_command("make_demo_signers", folder=str(folder), passphrase="kunci", stdout=io.StringIO())
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    assert stat.S_IMODE((folder / "ca-key.pem").stat().st_mode) == 0o600
    assert ca.subject == ca.issuer
    assert demo(ca)
    assert constraints(ca) == x509.BasicConstraints(ca=True, path_length=0)
    assert usage(ca).key_cert_sign

    kasi = Pegawai.objects.get(user__username="kasi")
    path = folder / f"{kasi.nip}.p12"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = pkcs12.load_pkcs12(path.read_bytes(), b"kunci")
    certificate = loaded.cert.certificate
    assert certificate.issuer == ca.subject
    assert [extra.certificate for extra in loaded.additional_certs] == [ca]
    assert demo(certificate)
    assert certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value == (
        kasi.nip
    )
    assert constraints(certificate) == x509.BasicConstraints(ca=False, path_length=None)
    assert not usage(certificate).key_cert_sign and usage(certificate).content_commitment

    # Again: the CA and the officials' files stay.
    before = path.read_bytes(), (folder / "ca.pem").read_bytes()
    call_command("make_demo_signers", folder=str(folder), passphrase="kunci", stdout=io.StringIO())
    assert (path.read_bytes(), (folder / "ca.pem").read_bytes()) == before


def test_a_loaded_demo_ca_issues_as_the_new_one_did():
    ca = DemoCa.new()
    again = DemoCa.load(ca.key_pem, ca.certificate_pem)
    data = again.person_pkcs12(name="Dewi Lestari", nip="", title="", passphrase="p")
    certificate = pkcs12.load_pkcs12(data, b"p").cert.certificate
    assert certificate.issuer == ca.certificate.subject
    assert not certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
