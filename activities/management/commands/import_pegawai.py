from django.core.management.base import BaseCommand, CommandError

from activities.core import pegawai


class Command(BaseCommand):
    help = (
        "Import person records (pegawai) from a SIMPEG CSV export: all rows or none; bad rows "
        "are listed with their line numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from error

        def progress(done, total):
            self.stdout.write(f"{done}/{total}")

        result = pegawai.import_csv(text, progress=progress)
        if result.errors:
            raise CommandError("nothing imported:\n" + "\n".join(result.errors))
        self.stdout.write(f"{result.created} created, {result.updated} updated")
