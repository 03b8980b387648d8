from collections import defaultdict

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from activities import chain, reports, signing
from activities.models import ArchivedReport, Event, Run

RUNS_PER_BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-compute the SHA-256 of every archived laporan and compare it with the hash recorded "
        "when it was archived, check its electronic signature (intact, valid, covering the "
        "whole file; a report archived as signed must carry one), and re-compute the hash chain of every run's events, naming the "
        "first broken link. Prints one line per file and per broken chain; exits non-zero if "
        "any file is missing or changed or any chain is broken."
    )

    def handle(self, *args, **options):
        failed_files, checked_files = self.check_files()
        broken, checked_runs = self.check_chains()
        self.stdout.write(
            f"{checked_files} archived reports checked, {failed_files} failed; "
            f"{checked_runs} event chains checked, {broken} broken"
        )
        if failed_files or broken:
            raise CommandError(
                f"{failed_files} of {checked_files} archived reports failed verification, "
                f"{broken} of {checked_runs} event chains broken"
            )

    def check_files(self):
        checked = failed = 0
        roots = signing.trust_roots()
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
            problem, note = self.check_signature(report, roots)
            if problem:
                failed += 1
                self.stderr.write(f"SIGNATURE {label}: {problem}")
                continue
            self.stdout.write(f"OK       {label} {digest} {note}")
        return failed, checked

    def check_signature(self, report, roots):
        """(problem or "", note) for the signature of an archived file whose hash matched."""
        with default_storage.open(report.file.name, "rb") as handle:
            result = signing.verify_signature(handle.read(), roots)
        if not result.signed:
            if report.signed_by:
                return f"archived as signed by {report.signed_by}, but {result.problem}", ""
            return "", "(unsigned)"
        if not result.ok:
            return result.problem or "signature invalid", ""
        trust = "trusted" if result.trusted else "signer not trusted"
        return "", f"(signature valid, {trust}: {result.signer})"

    def check_chains(self):
        checked = broken = 0
        runs = Run.objects.order_by("pk").values_list("pk", "event_count", "event_head")
        batch = []
        for row in runs.iterator(chunk_size=RUNS_PER_BATCH):
            batch.append(row)
            if len(batch) == RUNS_PER_BATCH:
                broken += self.check_batch(batch)
                checked += len(batch)
                batch = []
        if batch:
            broken += self.check_batch(batch)
            checked += len(batch)
        return broken, checked

    def check_batch(self, batch):
        events = defaultdict(list)
        rows = Event.objects.filter(run_id__in=[row[0] for row in batch]).order_by()
        for event in rows.iterator(chunk_size=2000):
            events[event.run_id].append(event)
        broken = 0
        for run_id, count, head in batch:
            found = chain.verify_run(run_id, events[run_id], count, head)
            if found is not None:
                broken += 1
                self.stderr.write(f"BROKEN   {found}")
        return broken
