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
        "into a unit as draft versions; nothing is activated. Each file is imported whole "
        "or not at all. An SOP that already has an open draft (never submitted, never in "
        "force, no runs) has that draft replaced by the file, and says so; --as-new adds a "
        "version instead. Prints a progress bar and a summary: imported, needs review (and why), "
        "refused (and why). Exits non-zero when a file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="folder with the SOP files (not searched recursively)")
        parser.add_argument("--unit", required=True, help="short name of the unit, e.g. Kesbangpol")
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (for logs and cron)"
        )
        parser.add_argument(
            "--as-new",
            action="store_true",
            help="add a new draft version even when the SOP has an open draft (default: "
            "replace that draft)",
        )

    def handle(self, *args, folder, unit, no_progress, as_new, **options):
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
                result = _import_file(file, target, as_new=as_new)
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
                if result.replaced:
                    state += f", replaced the open draft (version {result.sop.version})"
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
                f"{_replaced(result)}"
            )
        for name, result, reasons in review:
            self.stdout.write(
                f"  needs review  {name}: {result.sop}, {result.notes} cells to check"
                f"{_replaced(result)}"
            )
            for reason in reasons[:5]:
                self.stdout.write(f"                - {reason}")
            if len(reasons) > 5:
                self.stdout.write(f"                - … {len(reasons) - 5} more")
        for name, reason in refused:
            self.stdout.write(f"  refused       {name}: {reason}")
        if refused:
            raise CommandError(f"{len(refused)} of {len(files)} files refused")


def _replaced(result):
    if not result.replaced:
        return ""
    return f"; replaced its open draft version {result.sop.version} (--as-new adds a version)"


def _import_file(file, unit, *, as_new=False):
    """One file of the folder, its size checked before it is read; an open draft of its SOP is
    replaced (`as_new`: a version is added instead)."""
    importers.check_size(file.stat().st_size)
    if file.suffix.lower() == ".txt":
        source = {"text": file.read_text(encoding="utf-8-sig", errors="replace")}
    else:
        source = {"data": file.read_bytes()}
    try:
        return importers.import_source(unit, as_new=as_new, **source)
    except importers.DraftExists as exists:
        return importers.import_source(unit, replace=exists.draft.pk, **source)
