import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from activities import reports
from activities.models import ArchivedReport, Event, Run

# A run finished this recently may still be waiting for its laporan to be rendered.
PENDING = datetime.timedelta(hours=1)


class Command(BaseCommand):
    help = (
        "Check every archived laporan against two records: the archive row (SHA-256 and size) "
        "and the run's 'archived' event in the append-only event log, and check that every "
        "finished run has its archived laporan. Prints one line per run; exits non-zero if a "
        "file is missing or changed, a row disagrees with its event, or a laporan is missing."
    )

    def handle(self, *args, **options):
        self.checked = self.failed = 0
        recorded = {}
        for event in Event.objects.filter(kind=Event.Kind.ARCHIVED).order_by("at", "id"):
            # The first record is the one made when the laporan was archived.
            recorded.setdefault(event.run_id, event.after)
        archived = ArchivedReport.objects.order_by("pk")
        for report in archived.iterator(chunk_size=500):
            self._check(report, recorded.get(report.run_id))
        finished = Run.objects.filter(status=Run.Status.FINISHED, archived_report__isnull=True)
        pending_after = timezone.now() - PENDING
        for run in finished.order_by("pk").iterator(chunk_size=500):
            self.checked += 1
            if run.pk in recorded:
                self._fail(
                    f"NO ROW   run {run.pk}: archived as {recorded[run.pk].get('file')}, "
                    "but its archive row is gone"
                )
            elif run.finished_at >= pending_after:
                self.stdout.write(f"PENDING  run {run.pk}: finished just now, not archived yet")
            else:
                self._fail(f"NO FILE  run {run.pk}: finished but its laporan was never archived")
        self.stdout.write(f"{self.checked} finished runs checked, {self.failed} failed")
        if self.failed:
            raise CommandError(
                f"{self.failed} of {self.checked} archived reports failed verification"
            )

    def _fail(self, line):
        self.failed += 1
        self.stderr.write(line)

    def _check(self, report, event):
        self.checked += 1
        label = f"run {report.run_id} ({report.file.name})"
        if event is None:
            return self._fail(f"NO EVENT {label}: the event log has no record of archiving it")
        if (event.get("sha256"), event.get("size"), event.get("file")) != (
            report.sha256,
            report.size,
            report.file.name,
        ):
            return self._fail(
                f"ALTERED  {label}: archive row sha256 {report.sha256} ({report.size} bytes), "
                f"event log {event.get('sha256')} ({event.get('size')} bytes, {event.get('file')})"
            )
        try:
            digest, size = reports.file_digest(report)
        except (FileNotFoundError, OSError) as error:
            return self._fail(f"MISSING  {label}: {error}")
        if digest != report.sha256 or size != report.size:
            return self._fail(
                f"CHANGED  {label}: sha256 {digest} ({size} bytes), "
                f"archived {report.sha256} ({report.size} bytes)"
            )
        self.stdout.write(f"OK       {label} {digest}")
