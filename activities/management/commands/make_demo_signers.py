from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from activities.documents.demo_certificates import DemoCa
from activities.models import Pegawai


class Command(BaseCommand):
    help = (
        "Make DEMO personal signing certificates (TTE) for every person with a NIP and an "
        "account: <folder>/<NIP>.p12 (and <NIK>.p12 for the fake Esign Client), issued by a "
        "demo CA whose certificate is <folder>/ca.pem. Each is marked as a test certificate; "
        "never use them for real documents. Existing files are left alone unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=settings.SOPFLOW_TTE_PKCS12_DIR)
        parser.add_argument(
            "--passphrase", default="sopflow-demo", help="every demo official's passphrase"
        )
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, folder, passphrase, force, **options):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        key_path, ca_path = folder / "ca-key.pem", folder / "ca.pem"
        if key_path.exists() and ca_path.exists() and not force:
            ca = DemoCa.load(key_path.read_bytes(), ca_path.read_bytes())
        else:
            ca = DemoCa.new()
            key_path.write_bytes(ca.key_pem)
            key_path.chmod(0o600)
            ca_path.write_bytes(ca.certificate_pem)
        made = 0
        people = Pegawai.objects.filter(user__isnull=False, nip__isnull=False)
        for person in people.order_by("pk"):
            path = folder / f"{person.nip}.p12"
            if path.exists() and not force:
                continue
            data = ca.person_pkcs12(
                name=person.full_name, nip=person.nip, title=person.position, passphrase=passphrase
            )
            for name in filter(None, [person.nip, person.nik]):
                (folder / f"{name}.p12").write_bytes(data)
                (folder / f"{name}.p12").chmod(0o600)
            made += 1
        self.stdout.write(f"{made} demo TTE certificates written to {folder} (CA {ca_path})")
