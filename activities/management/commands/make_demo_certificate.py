from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activities.documents.demo_certificates import DEMO_SIGNER_NAME, demo_signer_pkcs12


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
        path.write_bytes(demo_signer_pkcs12(password.encode()))
        path.chmod(0o600)
        self.stdout.write(f"demo signing certificate written to {path} (CN={DEMO_SIGNER_NAME})")
