import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# A worker finishes the task it is running before it exits; a webhook send is bounded by
# SOPFLOW_WEBHOOK_TIMEOUT and mail by EMAIL_TIMEOUT, so this leaves room for either.
STOP_SECONDS = 30


class Command(BaseCommand):
    help = (
        "Run the web server, the task workers (default queue, outside deliveries) and the "
        "scheduler together, as production does; Ctrl-C (or SIGTERM) stops them all, and so does "
        "any one of them stopping."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *, addrport, **options):
        manage = [sys.executable, os.path.abspath(sys.argv[0])]
        commands = {
            "web": [*manage, "runserver", addrport],
            "worker": [*manage, "db_worker", "--interval", "1", "--no-startup-delay"],
            "outside worker": [
                *manage,
                "db_worker",
                "--queue-name",
                settings.SOPFLOW_OUTSIDE_QUEUE,
                "--interval",
                "1",
                "--no-startup-delay",
            ],
            "scheduler": [*manage, "run_scheduler"],
        }
        if settings.SOPFLOW_DEMO_TSA_DIR:
            tsa = urlsplit(settings.SOPFLOW_TSA_URL)
            if not tsa.hostname or not tsa.port:
                raise CommandError("SOPFLOW_DEMO_TSA_DIR needs SOPFLOW_TSA_URL with host and port")
            commands["timestamp authority"] = [
                *manage,
                "demo_tsa",
                "--folder",
                settings.SOPFLOW_DEMO_TSA_DIR,
                "--bind",
                f"{tsa.hostname}:{tsa.port}",
            ]
        # Each child leads its own process group, so stopping it stops what it started too
        # (runserver's reloader child, for one).
        children = {
            name: subprocess.Popen(command, process_group=0) for name, command in commands.items()
        }
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children.values()):
                time.sleep(0.2)
        finally:
            for child in children.values():
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_SECONDS
            for name, child in children.items():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in time; killing it")
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
        ended = [name for name, child in children.items() if child.returncode not in (0, None)]
        if ended and not stopping:
            self.stderr.write(f"stopped because {', '.join(ended)} ended")
