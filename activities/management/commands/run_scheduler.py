import signal
import time

from django.core.management.base import BaseCommand

from activities.background import schedule


class Command(BaseCommand):
    help = (
        "Queue the periodic jobs (deadline sweep and others in activities/background/schedule.py) when they "
        "are due, and queue again tasks whose worker died. Runs until stopped; --once for one round."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument(
            "--interval", type=float, default=15.0, help="seconds between rounds (default 15)"
        )

    def handle(self, *, once, interval, verbosity, **options):
        self.running = True

        def stop(signum, frame):
            self.running = False

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if verbosity:
            names = ", ".join(f"{job.name} every {job.every}" for job in schedule.JOBS)
            self.stdout.write(f"scheduler: {names or 'no periodic jobs'}")
        while self.running:
            queued, requeued = schedule.tick()
            if verbosity and (queued or requeued):
                self.stdout.write(f"queued: {', '.join(queued) or '-'}; requeued: {requeued}")
            if once:
                break
            deadline = time.monotonic() + interval
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
