"""Bulk onboarding: every DOCX, XLSX, JSON and pasted-text (.txt) SOP of a folder as drafts."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from activities.authoring import importers
from activities.models import Unit

SUFFIXES = {".docx", ".xlsx", ".json", ".txt"}


class Command(BaseCommand):
    help = (
        "Import the SOP documents of a folder (DOCX, XLSX, sopflow JSON, tab-separated .txt) "
        "into a unit as new draft versions; nothing is activated. Each file is imported whole "
        "or not at all. Prints a progress bar and a summary: imported, needs review (and why), "
        "refused (and why). Exits non-zero when a file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="folder with the SOP files (not searched recursively)")
        parser.add_argument("--unit", required=True, help="short name of the unit, e.g. Kesbangpol")
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (for logs and cron)"
        )

    def handle(self, *args, folder, unit, no_progress, **options):
        path = Path(folder)
        if not path.is_dir():
            raise CommandError(f"{path}: not a folder")
        try:
            target = Unit.objects.get(short_name=unit)
        except Unit.DoesNotExist:
            raise CommandError(f"unit {unit!r} not found") from None
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
        if not files:
            raise CommandError(f"{path}: no .docx, .xlsx, .json or .txt files")
        show_bar = not no_progress and sys.stderr.isatty()
        imported, review, refused = [], [], []
        for index, file in enumerate(files, start=1):
            if show_bar:
                done = int(30 * index / len(files))
                bar = "#" * done + "." * (30 - done)
                self.stderr.write(f"\r[{bar}] {index}/{len(files)} {file.name[:40]:<40}", ending="")
            try:
                result = _import_file(file, target)
            except importers.ImportRefused as error:
                refused.append((file.name, str(error)))
                continue
            except Exception as error:  # one bad file must not stop the folder
                refused.append((file.name, f"unexpected {type(error).__name__}: {error}"))
                continue
            reasons = sorted({note.message for note in result.sop.review_notes.all()})
            (review if result.notes else imported).append((file.name, result, reasons))
            if not show_bar:
                state = "needs review" if result.notes else "imported"
                self.stdout.write(f"[{index}/{len(files)}] {file.name}: {state}")
        if show_bar:
            self.stderr.write("")
        self.stdout.write(
            f"{len(files)} files: {len(imported)} imported, {len(review)} need review, "
            f"{len(refused)} refused"
        )
        for name, result, _reasons in imported:
            self.stdout.write(
                f"  imported      {name}: {result.sop} ({result.sop.steps.count()} steps)"
            )
        for name, result, reasons in review:
            self.stdout.write(
                f"  needs review  {name}: {result.sop}, {result.notes} cells to check"
            )
            for reason in reasons[:5]:
                self.stdout.write(f"                - {reason}")
            if len(reasons) > 5:
                self.stdout.write(f"                - … {len(reasons) - 5} more")
        for name, reason in refused:
            self.stdout.write(f"  refused       {name}: {reason}")
        if refused:
            raise CommandError(f"{len(refused)} of {len(files)} files refused")


def _import_file(file, unit):
    """One file of the folder, its size checked before it is read."""
    importers.check_size(file.stat().st_size)
    if file.suffix.lower() == ".txt":
        text = file.read_text(encoding="utf-8-sig", errors="replace")
        return importers.import_source(unit, text=text)
    return importers.import_source(unit, data=file.read_bytes())
