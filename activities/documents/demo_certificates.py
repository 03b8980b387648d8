"""Demo certificates (for `make run`, the fake Esign Client and the tests), all made here.

- The demo signer of archived laporan (`manage.py make_demo_certificate`): one self-signed
  certificate named "sopflow DEMO - BUKAN SERTIFIKAT RESMI".
- The officials' demo TTE (`manage.py make_demo_signers`): each issued by a demo CA and saying in
  its name that it is a test certificate (`signing.DEMO_MARKERS`): the verification page shows it
  as "sertifikat uji, bukan TTE resmi". The subject carries the official's name (CN), jabatan
  (title) and NIP (serialNumber), as a personal certificate names its holder.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

DEMO_CA_NAME = "sopflow DEMO CA - SERTIFIKAT UJI"
DEMO_PERSON_OU = "SERTIFIKAT UJI - BUKAN TTE RESMI"
# Unmistakably not an office's certificate: whoever opens the signature panel reads this.
DEMO_SIGNER_NAME = "sopflow DEMO - BUKAN SERTIFIKAT RESMI"
DEMO_SIGNER_ORGANISATION = "sopflow (sertifikat demo, tidak sah untuk dokumen dinas)"
DAYS = 3 * 365


@dataclass
class DemoCa:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def new(
        cls,
        *,
        common_name: str = DEMO_CA_NAME,
        organisation: str = "sopflow (demo)",
        path_length: int | None = 0,
        days: int = DAYS,
    ) -> DemoCa:
        """A new self-signed certificate that may sign others (`path_length` below it)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            ]
        )
        certificate = issue_certificate(
            name,
            key.public_key(),
            issuer=name,
            signer=key,
            ca=True,
            path_length=path_length,
            days=days,
        )
        return cls(key, certificate)

    @classmethod
    def load(cls, key_pem: bytes, certificate_pem: bytes) -> DemoCa:
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return cls(key, x509.load_pem_x509_certificate(certificate_pem))

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def person_pkcs12(
        self, *, name: str, nip: str, title: str, passphrase: str, days: int = DAYS
    ) -> bytes:
        """PKCS#12 bytes of a new key and a certificate for the official, locked by
        `passphrase`."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        attributes = [
            x509.NameAttribute(NameOID.COMMON_NAME, name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_PERSON_OU),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        ]
        if title:
            attributes.append(x509.NameAttribute(NameOID.TITLE, title[:64]))
        if nip:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, nip))
        certificate = issue_certificate(
            x509.Name(attributes),
            key.public_key(),
            issuer=self.certificate.subject,
            signer=self.key,
            ca=False,
            path_length=None,
            days=days,
        )
        return pkcs12.serialize_key_and_certificates(
            name.encode()[:64],
            key,
            certificate,
            [self.certificate],
            serialization.BestAvailableEncryption(passphrase.encode()),
        )

    def own_pkcs12(self, password: bytes, *, friendly_name: bytes = b"sopflow-demo") -> bytes:
        """PKCS#12 bytes of this certificate and its own key, locked by `password`."""
        return pkcs12.serialize_key_and_certificates(
            friendly_name,
            self.key,
            self.certificate,
            None,
            serialization.BestAvailableEncryption(password),
        )


def demo_signer_pkcs12(password: bytes, *, days: int = DAYS) -> bytes:
    """PKCS#12 bytes of a new self-signed demo signer of archived laporan (no length limit on
    a path below it, as `make run` has always made it)."""
    signer = DemoCa.new(
        common_name=DEMO_SIGNER_NAME,
        organisation=DEMO_SIGNER_ORGANISATION,
        path_length=None,
        days=days,
    )
    return signer.own_pkcs12(password)


def issue_certificate(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    *,
    issuer: x509.Name,
    signer: rsa.RSAPrivateKey,
    ca: bool,
    path_length: int | None,
    days: int,
    extended_usage: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    """A demo certificate, valid from yesterday (a clock a little behind still accepts it)
    for `days`; `extended_usage` (critical) for one that may only do that (timeStamping)."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(_usage(ca=ca), critical=True)
    )
    if extended_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=True)
    return builder.sign(signer, hashes.SHA256())


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
