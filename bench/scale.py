"""Pages and step transitions at scale, in process: queries, SQL time, median time, HTML size.

    DATABASE_URL=postgres://…/sopflow_bench .venv/bin/python bench/scale.py [--runs 100000]
        [--repeat 20] [--posts 20]

Runs against the configured database (DATABASE_URL, else the project's SQLite file). When it
holds fewer than --runs kegiatan, `seed_scale` first adds the missing ones, so one database per
size is built once and reused. Every page is requested --repeat times through Django's test
client as its usual reader (kasi, kasubag_tu for the archive) after two warm-up requests; the
queries and their SQL time come from one more request with the queries recorded. Completing,
approving and returning are each POSTed --posts times through the step form on different
runs (this changes the database: those runs move on).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs the database must hold")
    parser.add_argument("--repeat", type=int, default=20, help="GETs per page (default 20)")
    parser.add_argument("--posts", type=int, default=20, help="POSTs per transition (default 20)")
    parser.add_argument(
        "--big-units",
        type=int,
        default=0,
        help="big units (Besar001, ...) of --big-runs runs the database must hold besides",
    )
    parser.add_argument("--big-runs", type=int, default=50_000, help="runs of each big unit")
    parser.add_argument(
        "--unit",
        default="",
        help="measure the pages as the people of this unit (Besar001: the big unit), not "
        "Kesbangpol's",
    )
    parser.add_argument(
        "--no-sweep", action="store_true", help="leave out the deadline sweep (city-wide)"
    )
    add_page_option(parser)
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only the page table: no transitions, sweep or event-log exports",
    )
    parser.add_argument(
        "--only-sweep",
        action="store_true",
        help="measure the deadline sweep only (no pages, transitions or exports)",
    )
    return parser.parse_args()


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SOPFLOW_BENCH", "1")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    # seed_scale (manage.py, DEBUG on) wrote the bench database's hash chains under the
    # development key: the events written here continue them under the same key.
    os.environ.setdefault("SOPFLOW_CHAIN_KEY", "insecure-local-development-chain-key-only")
    os.environ.setdefault("SECURE_COOKIES", "0")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALLOWED_HOSTS = ["*"]


def ensure_runs(wanted, big_units=0, big_runs=50_000, pages=True):
    from django.core.management import call_command

    from activities.models import Run, Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    if pages:
        # DEBUG=0 serves hashed static names from the manifest that collectstatic writes.
        call_command("collectstatic", interactive=False, verbosity=0)
    big = Unit.objects.filter(short_name__startswith="Besar")
    have = Run.objects.exclude(unit__in=big).count()
    if have < wanted:
        print(f"the database holds {have} runs; adding {wanted - have} with seed_scale")
        call_command("seed_scale", runs=wanted - have)
    if big.count() < big_units:
        print(f"adding big units of {big_runs} runs with seed_scale")
        call_command("seed_scale", runs=0, big_units=big_units, big_runs=big_runs)
    return Run.objects.count()


def unit_users(short_name):
    """The people of unit `short_name` under the demo accounts' names: the holder of the role
    of the same name as the demo account's role (a big unit copies Kesbangpol's roles)."""
    from django.contrib.auth import get_user_model

    from activities.models import Role

    roles = {role.name: role for role in Role.objects.filter(unit__short_name=short_name)}
    users = {}
    for user in get_user_model().objects.filter(is_staff=False).prefetch_related("sop_roles"):
        for role in user.sop_roles.all():
            twin = roles.get(role.name)
            if twin is not None and twin.members.exists():
                users[user.username] = twin.members.order_by("pk").first()
                break
    return users


class SqlClock:
    """Counts the queries of the connection and adds up their time, measured around each
    execution (`connection.execute_wrapper`), to the microsecond."""

    def __init__(self):
        self.queries, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def timed(request, *args):
    """(response, elapsed ms, queries, SQL ms, CPU ms) of calling `request(*args)`; the CPU
    time is this process's alone, so it holds on a machine that others load too."""
    from django.db import connection

    clock = SqlClock()
    with connection.execute_wrapper(clock):
        started, cpu = time.perf_counter(), time.process_time()
        response = request(*args)
        elapsed = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
    return response, elapsed, clock.queries, clock.seconds * 1000, cpu_ms


def measure(client, url, repeat):
    """(status, queries, median SQL ms, median ms, bytes, median CPU ms) of GET `url`."""
    for _warm_up in range(2):
        response = client.get(url)
    times, sql_times, counts, cpu_times = [], [], [], []
    for _round in range(repeat):
        response, elapsed, queries, sql_ms, cpu_ms = timed(client.get, url)
        times.append(elapsed)
        sql_times.append(sql_ms)
        counts.append(queries)
        cpu_times.append(cpu_ms)
    return (
        response.status_code,
        max(counts),
        statistics.median(sql_times),
        statistics.median(times),
        len(response.content),
        statistics.median(cpu_times),
    )


def deep_cursor(queryset, field, depth=0.9):
    """The keyset cursor of the row `depth` of the way down `queryset` (newest first)."""
    from activities.paging import encode_cursor

    count = queryset.count()
    if not count:
        return ""
    row = queryset.order_by(f"-{field}", "-id").values_list(field, "id")[int(count * depth)]
    return encode_cursor(*row)


def add_page_option(parser):
    """--page, which `pages(only=…)` reads: here and in bench/scale_http.py."""
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        help="measure only the pages whose label contains this text (repeatable)",
    )


def pages(users, reader="kasi", only=()):
    """(label, user, url) of every page measured (with `only`, those whose label contains one
    of its texts), as the demo account `reader` (kasi: the Kesbangpol SOP of 15 steps; kabid:
    the wawaran SOP of Diskominfo, 9 steps) in its unit; the archive as kasubag_tu."""
    from django.db.models import Count

    from activities.core import policy
    from activities.documents import archive
    from activities.models import Run, Sop

    person, tu = users[reader], users["kasubag_tu"]
    unit = person.sop_roles.first().unit
    runs = Run.objects.filter(unit=unit)
    sop = Sop.objects.filter(unit=unit, status="active").get()
    last = sop.steps.order_by("-number").values_list("number", flat=True).first()
    returned_run = (
        Run.objects.filter(unit=unit, sop__steps__number=last, step_runs__state="returned")
        .annotate(rounds=Count("step_runs", distinct=True))
        .order_by("-rounds", "-id")
        .first()
    )
    inbox = policy.inbox(person).filter(run__unit=unit).order_by("-id")
    form = inbox.select_related("step").first()
    closed, closed_field = archive.archive_runs([unit])
    every = [
        ("/tugas/", person, "/tugas/"),
        ("/kegiatan/", person, "/kegiatan/"),
        ("/kegiatan/ deep", person, f"/kegiatan/?setelah={deep_cursor(runs, 'opened_at')}"),
        (f"/kegiatan/<id>/ ({last} steps, returned)", person, f"/kegiatan/{returned_run.pk}/"),
        ("step form", person, f"/kegiatan/{form.run_id}/langkah/{form.step.number}/"),
        ("/arsip/", tu, "/arsip/"),
        ("/arsip/ deep", tu, f"/arsip/?setelah={deep_cursor(closed, closed_field)}"),
        ("/sop/", person, "/sop/"),
        ("/sop/<id>/", person, f"/sop/{sop.pk}/"),
    ]
    return [page for page in every if not only or any(text in page[0] for text in only)]


def post_targets(user, kind, count):
    """Active step runs of `user` of the given kind (process or approval), one per run."""
    from activities.core import policy

    approval = kind != "complete"
    rows = (
        policy.inbox(user)
        .filter(step__kind="decision" if approval else "process")
        .select_related("step")
        .order_by("-activated_at")
    )
    if kind == "return":
        rows = rows.filter(step__return_to__isnull=False)
    return list(rows[:count])


# What a benchmark enters in a step's required data fields, by type (a list is left empty).
DATA_SAMPLES = {
    "number": lambda spec: str(spec.get("min", 1)),
    "text": lambda spec: "Contoh",
    "date": lambda spec: "2026-09-07",
    "time": lambda spec: "09:00",
    "yesno": lambda spec: "ya",
    "choice": lambda spec: spec["choices"][0],
}


def data_values(step_run, prefix=""):
    """The step's required data fields filled with a sample value each."""
    values = {}
    for spec in step_run.step.data_fields or ():
        sample = DATA_SAMPLES.get(spec.get("type"))
        if spec.get("required") and sample is not None:
            values[f"{prefix}data_{spec['key']}"] = sample(spec)
    return values


def post_data(kind, step_run):
    if kind == "complete":
        return {
            "action": "selesai",
            "version": step_run.version,
            "round": step_run.round,
            "output": "Selesai dikerjakan",
        } | data_values(step_run)
    if kind == "approve":
        return {
            "action": "setujui",
            "setuju-version": step_run.version,
            "setuju-round": step_run.round,
            "setuju-instruction": "Setuju, lanjutkan.",
        } | data_values(step_run, "setuju-")
    return {
        "action": "kembalikan",
        "kembali-version": step_run.version,
        "kembali-round": step_run.round,
        "kembali-reason": "Lengkapi dulu.",
    }


def measure_posts(client, user, kind, count):
    """(posts, median ms, median queries, median SQL ms) of POSTing `kind` through the step
    form, each on another run."""
    targets = post_targets(user, kind, count)
    client.force_login(user)
    times, counts, sql_times = [], [], []
    for step_run in targets:
        url = f"/kegiatan/{step_run.run_id}/langkah/{step_run.step.number}/"
        data = post_data(kind, step_run)
        response, elapsed, queries, sql_ms, _cpu_ms = timed(client.post, url, data)
        if response.status_code != 302 or response["Location"] == url:
            raise SystemExit(f"{kind} {url} did not go through: {response.status_code}")
        times.append(elapsed)
        counts.append(queries)
        sql_times.append(sql_ms)
    if not times:
        return 0, float("nan"), float("nan"), float("nan")
    return (
        len(times),
        statistics.median(times),
        statistics.median(counts),
        statistics.median(sql_times),
    )


def main():
    args = parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from activities.models import Event, StepRun

    total = ensure_runs(args.runs, args.big_units, args.big_runs, pages=not args.only_sweep)
    users = {user.username: user for user in get_user_model().objects.filter(is_staff=False)}
    users |= {"kepala": get_user_model().objects.get(username="kepala")}
    if args.unit:
        users |= unit_users(args.unit)
    unit = users["kasi"].sop_roles.first().unit
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; {total} runs, "
        f"{StepRun.objects.count()} step rounds, {Event.objects.count()} events; pages of "
        f"{unit.short_name} ({unit.runs.count()} runs)"
    )
    if args.only_sweep:
        measure_sweep()
        return
    print(f"pages: median of {args.repeat} GETs in process (queries: the most of one GET)")
    header = f"| {'page':<38} | status | queries | SQL ms | median ms | CPU ms | HTML bytes |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    client = Client()
    for label, user, url in pages(users, only=args.page):
        client.force_login(user)
        status, queries, sql_ms, median_ms, size, cpu_ms = measure(client, url, args.repeat)
        print(
            f"| {label:<38} | {status:>6} | {queries:>7} | {sql_ms:>6.2f} | {median_ms:>9.1f} "
            f"| {cpu_ms:>6.1f} | {size:>10} |"
        )
    if args.pages_only:
        return
    print()
    print("transitions: POST through the step form, each on another run")
    header = f"| {'transition':<22} | user   | posts | median ms | queries | SQL ms |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for kind, username in (("complete", "kasi"), ("approve", "kepala"), ("return", "kepala")):
        posts, median_ms, queries, sql_ms = measure_posts(client, users[username], kind, args.posts)
        print(
            f"| {kind:<22} | {username:<6} | {posts:>5} | {median_ms:>9.1f} | {queries:>7} "
            f"| {sql_ms:>6.2f} |"
        )
    if not args.no_sweep:
        print()
        measure_sweep()
    print()
    from bench import eventlog

    eventlog.measure(2000, repeat=2, unit=unit)


def measure_sweep(due=1000):
    """The deadline sweep over the whole database: with nothing due on a Sunday night and on a
    Tuesday morning (every active round's next alert moved past the moment for good: this
    changes the database), and with `due` rounds due, in a transaction rolled back."""
    import datetime
    import zoneinfo

    from django.db import connection, transaction
    from django.db.models import Max
    from django.db.models.functions import Length
    from django.urls import reverse

    from activities.models import Notification, PeriodicJob, StepRun, Unit
    from activities.time import deadlines

    wib = zoneinfo.ZoneInfo("Asia/Jakarta")
    today = datetime.datetime.now(wib).date()
    sunday = today + datetime.timedelta(days=(6 - today.weekday()) % 7)
    moments = {
        "Sunday night": datetime.datetime.combine(sunday, datetime.time(22, 0), tzinfo=wib),
        "Tuesday morning": datetime.datetime.combine(
            sunday + datetime.timedelta(days=2), datetime.time(9, 0), tzinfo=wib
        ),
    }
    # What a worker process loads once and keeps, before the timing: the URLconf and the
    # units' office calendars (`unit_calendar`).
    reverse("inbox")
    Unit.objects.calendars(list(Unit.objects.values_list("pk", flat=True)))
    notes = []
    active = StepRun.objects.filter(state="active", run__status="running")
    print(f"deadline sweep: {active.count()} active rounds (CPU: of this process)")
    header = (
        f"| {'sweep':<39} | seconds | CPU s | SQL s | queries | sent (due + escalations) "
        "| digests |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")

    def one(label, now, prepare):
        with transaction.atomic():
            prepare(now)
            clock = SqlClock()
            with connection.execute_wrapper(clock):
                started, cpu = time.perf_counter(), time.process_time()
                result = deadlines.sweep(now)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            digests = Notification.objects.filter(kind=Notification.Kind.DIGEST, created_at=now)
            largest = digests.aggregate(largest=Max(Length("body")))["largest"]
            transaction.set_rollback(True)
        sent = result.reminders + result.due + result.escalations
        print(
            f"| {label:<39} | {seconds:>7.3f} | {cpu:>5.2f} | {clock.seconds:>5.2f} "
            f"| {clock.queries:>7} | {sent:>24} | {result.digests:>7} |"
        )
        if largest:
            notes.append(f"{label}: the longest digest is {largest} characters")

    def caught_up(now):
        StepRun.objects.filter(next_alert_at__isnull=False).update(
            next_alert_at=now + datetime.timedelta(days=7)
        )
        PeriodicJob.objects.update_or_create(
            name=deadlines.DIGEST_JOB, defaults={"next_run_at": now + datetime.timedelta(days=1)}
        )

    def some_due(now):
        ids = list(active.order_by("-pk").values_list("pk", flat=True)[:due])
        StepRun.objects.filter(pk__in=ids).update(next_alert_at=now - datetime.timedelta(minutes=1))

    # A city whose sweep has kept up: every next alert after the moments measured, written
    # for good and vacuumed, as autovacuum leaves the table between two sweeps.
    last = max(moments.values())
    caught_up(last)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE activities_steprun")
    for label, now in moments.items():
        one(f"nothing due, {label}", now, lambda now: None)
    one(f"{due} rounds due, Tuesday morning", moments["Tuesday morning"], some_due)

    def digest_due(now):
        PeriodicJob.objects.filter(name=deadlines.DIGEST_JOB).delete()

    one("the morning digest, Tuesday", moments["Tuesday morning"], digest_due)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
