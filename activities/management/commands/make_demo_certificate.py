import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Unmistakably not an office's certificate: whoever opens the signature panel reads this.
DEMO_NAME = "sopflow DEMO - BUKAN SERTIFIKAT RESMI"
DEMO_ORGANISATION = "sopflow (sertifikat demo, tidak sah untuk dokumen dinas)"


class Command(BaseCommand):
    help = (
        "Make a self-signed DEMO signing certificate as a PKCS#12 file (for `make run` and "
        "tests). It is marked as a demo in its name; never use it for real documents. Leaves "
        "an existing file alone unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            default=str(settings.SOPFLOW_SIGNING_PKCS12 or "var/demo-signer.p12"),
            help="where to write the .p12 file (default: SOPFLOW_SIGNING_PKCS12)",
        )
        parser.add_argument(
            "--password",
            default=settings.SOPFLOW_SIGNING_PASSWORD or "sopflow-demo",
            help="password of the .p12 file (default: SOPFLOW_SIGNING_PASSWORD)",
        )
        parser.add_argument("--force", action="store_true", help="replace an existing file")

    def handle(self, *args, output, password, force, **options):
        path = Path(output)
        if path.exists() and not force:
            self.stdout.write(f"{path} exists; left as it is (--force replaces it)")
            return
        if not password:
            raise CommandError("a password is required")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(demo_pkcs12(password.encode()))
        path.chmod(0o600)
        self.stdout.write(f"demo signing certificate written to {path} (CN={DEMO_NAME})")


def demo_pkcs12(password, *, days=3 * 365):
    """PKCS#12 bytes of a new self-signed demo key and certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEMO_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANISATION),
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
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"sopflow-demo",
        key,
        certificate,
        None,
        serialization.BestAvailableEncryption(password),
    )
