from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activities.authoring.definitions import SopFileError, load_sop, read_sop_file


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
            self.stdout.write(
                f"{path.name}: {sop.unit} · {sop} · {sop.steps.count()} steps ({state})"
            )
        self.stdout.write(
            f"{len(files)} SOP files, {created} loaded, {len(files) - created} unchanged"
        )
