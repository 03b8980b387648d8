import datetime
import logging

from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import models
from django.utils import timezone

logger = logging.getLogger("sopflow.files")

# Where uploads, archived laporan and period reports are written; nothing else is touched.
FOLDERS = ("lampiran", "arsip", "laporan-periode")
# A file younger than this may belong to a transaction that has not committed yet.
MIN_AGE = datetime.timedelta(days=1)


def referenced_names():
    """Every file name a FileField of any model refers to."""
    names = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                rows = model._default_manager.exclude(**{field.name: ""}).values_list(
                    field.name, flat=True
                )
                names.update(name for name in rows.iterator() if name)
    return names


def stored_files(folder):
    try:
        directories, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from stored_files(f"{folder}/{directory}")


class Command(BaseCommand):
    help = (
        "Remove stored files that no row refers to and that are older than a day: what a "
        "crash between writing attachments and the commit leaves behind. Logs every file it "
        "removes; --dry-run only lists them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, remove nothing")

    def handle(self, *args, dry_run=False, **options):
        referenced = referenced_names()
        cutoff = timezone.now() - MIN_AGE
        removed = kept_young = 0
        for folder in FOLDERS:
            for name in stored_files(folder):
                if name in referenced:
                    continue
                if default_storage.get_modified_time(name) > cutoff:
                    kept_young += 1
                    continue
                removed += 1
                if dry_run:
                    self.stdout.write(f"would remove {name}")
                    continue
                default_storage.delete(name)
                logger.info("Removed unreferenced file %s", name)
                self.stdout.write(f"removed {name}")
        verb = "would be removed" if dry_run else "removed"
        self.stdout.write(
            f"{removed} unreferenced files {verb}; {kept_young} younger than a day kept"
        )
