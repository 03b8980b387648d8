import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activities.authoring.definitions import SopFileError, load_sop, read_sop_file

# "-----/----- -Kesbangpol / 2018", "…… September 2018", "xx/xx/2018": left to be filled in.
PLACEHOLDER = re.compile(r"-{3,}|\.{3,}|…|_{3,}|\b[xX]{2,}\b")


def placeholder_warnings(sop):
    """What an SOP in force still carries as a placeholder (its Nomor, dates)."""
    if sop.status != sop.Status.ACTIVE:
        return []
    fields = {
        "Nomor": sop.number,
        "Tanggal pembuatan": sop.made_on,
        "Tanggal revisi": sop.revised_on,
        "Tanggal efektif": sop.effective_on,
    }
    required = {"Nomor", "Tanggal efektif"}
    return [
        f"{label} “{value}” masih berupa isian kosong, padahal SOP ini berlaku."
        for label, value in fields.items()
        if PLACEHOLDER.search(value) or (label in required and not value.strip())
    ]


class Command(BaseCommand):
    help = "Load SOP definitions (units, roles, SOP, steps) from JSON files; idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="*",
            help="SOP files or folders (default: the project's fixtures/ folder).",
        )

    def handle(self, *args, paths, **options):
        files = []
        for raw in paths or [settings.BASE_DIR / "fixtures"]:
            path = Path(raw)
            if path.is_dir():
                files.extend(sorted(path.glob("sop-*.json")))
            elif path.exists():
                files.append(path)
            else:
                raise CommandError(f"{path}: file not found")
        created = 0
        for path in files:
            try:
                sop, was_created = load_sop(read_sop_file(path))
            except SopFileError as error:
                raise CommandError(f"{path}: {error}") from None
            created += was_created
            state = "loaded" if was_created else "already present"
            for warning in placeholder_warnings(sop):
                self.stderr.write(f"{path.name}: PERINGATAN: {warning}")
            self.stdout.write(
                f"{path.name}: {sop.unit} · {sop} · {sop.steps.count()} steps ({state})"
            )
        self.stdout.write(
            f"{len(files)} SOP files, {created} loaded, {len(files) - created} unchanged"
        )
