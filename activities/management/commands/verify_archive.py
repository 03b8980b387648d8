import datetime
import hashlib
from collections import defaultdict

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from activities.core import chain
from activities.documents import signing, tte, verification
from activities.models import ArchivedReport, Event, Run

RUNS_PER_BATCH = 500
# A run finished this recently may still be waiting for its laporan to be rendered.
PENDING = datetime.timedelta(hours=1)


class Command(BaseCommand):
    help = (
        "Check every archived laporan against two records: the archive row (SHA-256 and size) "
        "and the run's 'archived' event in the append-only event log; check its electronic "
        "signature (intact, valid, covering the whole file; a report archived as signed must "
        "carry one); check that every finished run has its archived laporan; re-compute "
        "the hash chain of the events (keyed with SOPFLOW_CHAIN_KEY), naming the first broken "
        "link; and compare the chain head each archived laporan carries under its signature "
        "with the event log (a mismatch is a broken chain). Prints one line per run "
        "and per broken chain; exits non-zero if a file is missing, changed or badly signed, a "
        "row disagrees with its event, a laporan is missing, or a chain is broken."
    )

    def handle(self, *args, **options):
        self.checked = self.failed = 0
        # run id → (seq, hash) of the chain head its archived laporan carries.
        self.anchors = {}
        self.check_files()
        broken, chains = self.check_chains()
        self.stdout.write(
            f"{self.checked} finished runs checked, {self.failed} failed; "
            f"{chains} event chains checked, {broken} broken"
        )
        if self.failed or broken:
            raise CommandError(
                f"{self.failed} of {self.checked} archived reports failed verification, "
                f"{broken} of {chains} event chains broken"
            )

    def _fail(self, line):
        self.failed += 1
        self.stderr.write(line)

    # The archived files.

    def check_files(self):
        recorded = {}
        for event in Event.objects.filter(kind=Event.Kind.ARCHIVED).order_by("at", "id"):
            # The first record is the one made when the laporan was archived.
            recorded.setdefault(event.run_id, event.after)
        roots = signing.trust_roots()
        for report in ArchivedReport.objects.order_by("pk").iterator(chunk_size=500):
            self._check(report, recorded.get(report.run_id), roots)
        finished = Run.objects.filter(status=Run.Status.FINISHED, archived_report__isnull=True)
        pending_after = timezone.now() - PENDING
        for run in finished.order_by("pk").iterator(chunk_size=500):
            self.checked += 1
            if run.pk in recorded:
                self._fail(
                    f"NO ROW   run {run.pk}: archived as {recorded[run.pk].get('file')}, "
                    "but its archive row is gone"
                )
            elif tte.configured_service() is not None:
                self.stdout.write(
                    f"WAITING  run {run.pk}: its laporan waits for its officials' TTE"
                )
            elif run.finished_at >= pending_after:
                self.stdout.write(f"PENDING  run {run.pk}: finished just now, not archived yet")
            else:
                self._fail(f"NO FILE  run {run.pk}: finished but its laporan was never archived")

    def _check(self, report, event, roots):
        """One line per problem of an archived report (it counts as one failed run)."""
        self.checked += 1
        label = f"run {report.run_id} ({report.file.name})"
        problems = []
        if event is None:
            problems.append(f"NO EVENT {label}: the event log has no record of archiving it")
        elif (event.get("sha256"), event.get("size"), event.get("file")) != (
            report.sha256,
            report.size,
            report.file.name,
        ):
            problems.append(
                f"ALTERED  {label}: archive row sha256 {report.sha256} ({report.size} bytes), "
                f"event log {event.get('sha256')} ({event.get('size')} bytes, {event.get('file')})"
            )
        try:
            with default_storage.open(report.file.name, "rb") as handle:
                data = handle.read()
        except (FileNotFoundError, OSError) as error:
            problems.append(f"MISSING  {label}: {error}")
            data = None
        note = ""
        if data is not None:
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
            if digest != report.sha256 or size != report.size:
                problems.append(
                    f"CHANGED  {label}: sha256 {digest} ({size} bytes), "
                    f"archived {report.sha256} ({report.size} bytes)"
                )
            problem, note = self.check_signature(report, data, roots)
            if problem:
                problems.append(f"SIGNATURE {label}: {problem}")
            anchor = verification.read_anchor(data)
            if anchor is not None:
                self.anchors[report.run_id] = anchor
        if problems:
            self.failed += 1
            for line in problems:
                self.stderr.write(line)
            return
        self.stdout.write(f"OK       {label} {report.sha256} {note}")

    def check_signature(self, report, data, roots):
        """(problem or "", note) for the signature of an archived file."""
        result = signing.verify_signature(data, roots)
        if not result.signed:
            if report.signed_by:
                return f"archived as signed by {report.signed_by}, but {result.problem}", ""
            return "", "(unsigned)"
        if not result.ok:
            return result.problem or "signature invalid", ""
        trust = "trusted" if result.trusted else "signer not trusted"
        each = "; ".join(
            f"{info.common_name or info.signer}"
            + (f" [{info.title}]" if info.title else "")
            + (f" NIP/NIK {info.serial_number}" if info.serial_number else "")
            + (f" at {info.signed_at:%Y-%m-%d %H:%M %Z}" if info.signed_at else "")
            + (" valid" if info.ok else " INVALID")
            + (" trusted" if info.trusted else " not trusted")
            + (" (sertifikat uji, bukan TTE resmi)" if info.demo else "")
            for info in result.signatures
        )
        return "", f"({len(result.signatures)} signature(s) valid, {trust}: {each})"

    # The event chains.

    def check_chains(self):
        checked = broken = 0
        # Rows before the first keyed one may be unkeyed (written before the chain was keyed).
        self.unkeyed_below = (
            Event.objects.filter(scheme__gt=chain.SHA256)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
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
        runless = Event.objects.filter(run__isnull=True).order_by()
        if runless.exists():
            checked += 1
            found = chain.verify_run(
                None,
                list(runless.iterator(chunk_size=2000)),
                None,
                None,
                unkeyed_below=self.unkeyed_below,
            )
            if found is not None:
                broken += 1
                self.stderr.write(f"BROKEN   {found}")
        return broken, checked

    def check_batch(self, batch):
        events = defaultdict(list)
        rows = Event.objects.filter(run_id__in=[row[0] for row in batch]).order_by()
        for event in rows.iterator(chunk_size=2000):
            events[event.run_id].append(event)
        broken = 0
        for run_id, count, head in batch:
            found = chain.verify_run(
                run_id,
                events[run_id],
                count,
                head,
                unkeyed_below=self.unkeyed_below,
                anchor=self.anchors.get(run_id),
            )
            if found is not None:
                broken += 1
                self.stderr.write(f"BROKEN   {found}")
        return broken
