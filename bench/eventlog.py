"""The event-log exports (CSV, XES) of one SOP over the period holding its latest --runs runs:
the CPU time and wall time of the whole response, its size, its queries and a digest of its
bytes (two versions of the code give the same file when the digests agree).

    DATABASE_URL=postgres://…/sopflow_bench .venv/bin/python bench/eventlog.py [--runs 2000]
        [--repeat 3]

Runs against the configured database (a seed_scale database: the SOP with the most runs is
used, in the big unit when there is one) through Django's test client as a superuser, the
streamed body read to its end.
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("SOPFLOW_ROOT", Path(__file__).resolve().parent.parent))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs in the exported period")
    parser.add_argument("--repeat", type=int, default=3, help="downloads of each format")
    return parser.parse_args()


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SOPFLOW_BENCH", "1")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("SECURE_COOKIES", "0")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def measure(runs, repeat=3, unit=None):
    """Print the figures of both exports of the SOP with the most runs (of `unit` if given)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from activities.models import Run

    all_runs = Run.objects.filter(unit=unit) if unit is not None else Run.objects.all()
    sop_id = (
        all_runs.values("sop_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("sop_id", flat=True)
        .first()
    )
    newest = Run.objects.filter(sop_id=sop_id).order_by("-opened_at")
    first = timezone.localdate(newest[min(runs, newest.count()) - 1].opened_at)
    last = timezone.localdate(newest[0].opened_at)
    count = Run.objects.filter(
        sop_id=sop_id, opened_at__date__gte=first, opened_at__date__lte=last
    ).count()
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    client = Client()
    client.force_login(admin)
    print(f"event-log exports: SOP {sop_id}, {count} runs opened {first} – {last}")
    print("| export  | CPU s | wall s |   MB | queries | sha256 (first 12) |")
    print("|---------|-------|--------|------|---------|-------------------|")
    for extension in ("csv", "xes"):
        url = f"/sop/{sop_id}/log.{extension}?dari={first}&sampai={last}"
        best = None
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                cpu, wall = time.process_time(), time.perf_counter()
                response = client.get(url)
                body = b"".join(response.streaming_content)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert response.status_code == 200, response.status_code
            if best is None or cpu < best[0]:
                best = (cpu, wall, len(body), len(queries), hashlib.sha256(body).hexdigest())
        cpu, wall, size, queries_count, digest = best
        print(
            f"| log.{extension} | {cpu:>5.2f} | {wall:>6.2f} | {size / 1e6:>4.1f} "
            f"| {queries_count:>7} | {digest[:12]:<17} |"
        )


def main():
    args = parse_args()
    setup_django()
    measure(args.runs, args.repeat)


if __name__ == "__main__":
    main()
