"""Demo certificates of officials (for `make run`, the fake Esign Client and the tests).

Each is issued by a demo CA and says in its name that it is a test certificate
(`signing.DEMO_MARKERS`): the verification page shows it as "sertifikat uji, bukan TTE resmi".
The subject carries the official's name (CN), jabatan (title) and NIP (serialNumber), as a
personal certificate names its holder.
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


@dataclass
class DemoCa:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def new(cls, *, days: int = 3 * 365) -> DemoCa:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, DEMO_CA_NAME),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sopflow (demo)"),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .sign(key, hashes.SHA256())
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
        self, *, name: str, nip: str, title: str, passphrase: str, days: int = 3 * 365
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
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return pkcs12.serialize_key_and_certificates(
            name.encode()[:64],
            key,
            certificate,
            [self.certificate],
            serialization.BestAvailableEncryption(passphrase.encode()),
        )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
