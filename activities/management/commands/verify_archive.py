from django.core.management.base import BaseCommand, CommandError

from activities import reports
from activities.models import ArchivedReport


class Command(BaseCommand):
    help = (
        "Re-compute the SHA-256 of every archived laporan and compare it with the hash recorded "
        "when it was archived. Prints one line per file; exits non-zero if any file is missing "
        "or changed."
    )

    def handle(self, *args, **options):
        checked = failed = 0
        archived = ArchivedReport.objects.select_related("run").order_by("pk")
        for report in archived.iterator(chunk_size=500):
            checked += 1
            label = f"run {report.run_id} ({report.file.name})"
            try:
                digest, size = reports.file_digest(report)
            except (FileNotFoundError, OSError) as error:
                failed += 1
                self.stderr.write(f"MISSING  {label}: {error}")
                continue
            if digest != report.sha256 or size != report.size:
                failed += 1
                self.stderr.write(
                    f"CHANGED  {label}: sha256 {digest} ({size} bytes), "
                    f"archived {report.sha256} ({report.size} bytes)"
                )
                continue
            self.stdout.write(f"OK       {label} {digest}")
        self.stdout.write(f"{checked} archived reports checked, {failed} failed")
        if failed:
            raise CommandError(f"{failed} of {checked} archived reports failed verification")
