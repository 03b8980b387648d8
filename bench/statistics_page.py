"""How long an SOP's statistics take with 10,000 runs in the semester.

Builds 10,000 finished runs of SOP 1 (15 steps, a fifth of them with a return, about 160,000
step rounds with their stored office minutes) in a throw-away SQLite database, or in the
PostgreSQL database given by --database-url (its tables are created by migrate; use an empty
database), then times the five aggregate queries (`statistics.for_sop`) and the whole page
`/sop/<id>/statistik/` with its charts:

    PYTHONPATH=. .venv/bin/python bench/statistics_page.py [--runs 10000] [--repeat 7]
    PYTHONPATH=. .venv/bin/python bench/statistics_page.py \
        --database-url postgres://postgres@127.0.0.1:5432/sopflow_bench

Target: the page in at most 1 s (median of the repeats). The number of queries of the page
(flat with the number of runs) is asserted in tests/test_statistics.py.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))


def build_runs(count, seed=12):
    from activities.models import Run, Sop
    from tests.rundata import Plan, add_runs, wib

    sop = Sop.objects.get(unit__short_name="Kesbangpol", version=1)
    if Run.objects.filter(sop=sop).count() >= count:
        return sop
    rng = random.Random(seed)
    calendar = sop.unit.calendar
    days = [
        day
        for day in (datetime.date(2026, 7, 1) + datetime.timedelta(n) for n in range(184))
        if calendar.is_working_day(day)
    ]
    approvals = {step.number: step.return_to.number for step in sop.steps.all() if step.return_to}
    started = time.perf_counter()
    batch = []
    for index in range(count):
        day = days[index % len(days)]
        rounds = []
        for number in range(1, 16):
            rounds.append((number, rng.choice([0, 0, 5, 15]), rng.randint(5, 60), False))
            if number in approvals and rng.random() < 0.2 / 3:
                rounds[-1] = (number, 0, rng.randint(5, 20), True)
                rounds += [
                    (again, 0, rng.randint(5, 30), False)
                    for again in range(approvals[number], number + 1)
                ]
        opened = wib(day.year, day.month, day.day, 7, 30)
        batch.append(Plan(opened + datetime.timedelta(minutes=rng.randint(0, 60)), rounds))
        if len(batch) == 1000:
            add_runs(sop, batch)
            batch = []
    if batch:
        add_runs(sop, batch)
    print(f"built {count} runs in {time.perf_counter() - started:.0f} s")
    return sop


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="sopflow-bench-")
    setup_django(args.database_url or f"sqlite:///{folder}/bench.sqlite3")

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from activities.models import StepRun
    from activities.monitoring import statistics as sop_statistics
    from activities.time.periods import Period

    sop = build_runs(args.runs)
    period = Period(datetime.date(2026, 7, 1), datetime.date(2026, 12, 31))
    rounds = StepRun.objects.filter(step__sop=sop).count()
    client = Client()
    client.force_login(get_user_model().objects.get(username="kepala"))
    url = reverse("sop_statistics", args=[sop.pk]) + "?dari=2026-07-01&sampai=2026-12-31"
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    stats = sop_statistics.for_sop(sop, period)

    aggregates = timed(lambda: sop_statistics.for_sop(sop, period), args.repeat)
    page = timed(lambda: client.get(url), args.repeat)
    print(f"load average (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} cores")
    print(
        f"database: {connection.vendor}; runs finished in the period: {stats.finished}; "
        f"step rounds: {rounds}"
    )
    print(
        f"statistics.for_sop (5 aggregate queries): median {aggregates[0] * 1000:.0f} ms "
        f"(min {aggregates[1] * 1000:.0f}, max {aggregates[2] * 1000:.0f})"
    )
    print(
        f"GET /sop/{sop.pk}/statistik/ with charts: median {page[0] * 1000:.0f} ms "
        f"(min {page[1] * 1000:.0f}, max {page[2] * 1000:.0f}); target ≤ 1000 ms"
    )
    return 0 if page[0] <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
