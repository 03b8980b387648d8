import random
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from activities.models import Run, Sop
from bench.seeding import bulk


class Command(BaseCommand):
    help = (
        "Build a large realistic database for benchmarks: --runs kegiatan (default 100,000) over "
        "the seed SOPs' units and copies of them (about 2,000 runs per unit), most mid-way, "
        "some finished or cancelled, about 10% with a returned round, and every event. Loads "
        "the demo accounts first (seed_demo). Rows are written in bulk, after checking that "
        "the bulk writer gives exactly the rows the transitions give for a sample of runs. "
        "Finished runs are not archived (their laporan is archived on first download). "
        "For benchmark databases only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=100_000, help="runs to add")
        parser.add_argument("--seed", type=int, default=2026, help="random seed")
        parser.add_argument("--batch", type=int, default=2000, help="runs written per transaction")
        parser.add_argument(
            "--big-units",
            type=int,
            default=0,
            help="also build this many big units (Besar001, ...), each with --big-runs runs of "
            "one SOP version",
        )
        parser.add_argument(
            "--big-runs", type=int, default=50_000, help="runs of each big unit (default 50,000)"
        )

    def handle(self, *args, runs, seed, batch, big_units, big_runs, **options):
        if runs < 0 or (runs == 0 and big_units < 1):
            raise CommandError("--runs must be at least 1, or 0 with --big-units")
        if big_units < 0 or (big_units and big_runs < 1):
            raise CommandError("--big-units must not be negative, --big-runs at least 1")
        started = time.monotonic()
        call_command("seed_demo", stdout=self.stdout)
        now = timezone.now()
        templates = [
            Sop.objects.get(unit__short_name="Kesbangpol", status=Sop.Status.ACTIVE),
            Sop.objects.get(unit__short_name="Diskominfo", status=Sop.Status.ACTIVE),
        ]
        template_offices = [bulk.Office(sop) for sop in templates]
        problems = bulk.compare_with_workflow(bulk.sample_plans(template_offices, now))
        if problems:
            raise CommandError(
                "the bulk writer differs from the transitions:\n" + "\n".join(problems[:20])
            )
        self.stdout.write("bulk rows match the transitions on a sample of every shape")

        rng = random.Random(seed)
        totals = [0, 0, 0, 0]
        if runs:
            with transaction.atomic():
                offices = bulk.offices(Run.objects.count() + runs, templates)
            self.stdout.write(f"{len(offices)} units")
            totals = self._write(offices, runs, rng, now, batch, totals, started)
        if big_units:
            with transaction.atomic():
                big = bulk.big_offices(big_units, templates)
            for office in big:
                self.stdout.write(f"{office.unit.short_name}: {big_runs} runs of one SOP version")
                totals = self._write([office], big_runs, rng, now, batch, totals, started)
        # A bulk load leaves the planner without statistics until autovacuum gets round to the
        # tables (it may take a while): without them it guesses thousands of rounds per run and
        # plans the run page as a parallel scan.
        # Autovacuum may be analysing the same tables after the bulk load (it holds the lock
        # ANALYZE needs): wait for it rather than give up after the app's lock_timeout.
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL lock_timeout = 0")
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"{totals[0]} runs, {totals[1]} step rounds, {totals[2]} events written and analysed "
            f"in {time.monotonic() - started:.0f} s"
        )

    def _write(self, offices, runs, rng, now, batch, totals, started):
        """Write `runs` runs spread over `offices` in transactions of `batch` runs."""
        first_number = Run.objects.count() + 1
        done = 0
        while done < runs:
            size = min(batch, runs - done)
            writer = bulk.BulkWriter(offices)
            for index in range(done, done + size):
                office = offices[index % len(offices)]
                plan = bulk.plan_run(
                    office,
                    rng,
                    now,
                    outcome=bulk.outcome_for(rng),
                    returned=rng.random() < bulk.RETURN_SHARE,
                    title_number=first_number + index,
                )
                writer.add(plan)
            with transaction.atomic():
                written = writer.flush()
                writer.finish()
            totals = [total + count for total, count in zip(totals, written, strict=True)]
            done += size
            self.stdout.write(
                f"  {done:>7} runs, {totals[1]:>8} step rounds, {totals[2]:>8} events "
                f"({time.monotonic() - started:.0f} s)"
            )
        return totals
