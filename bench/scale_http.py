"""Pages over HTTP against gunicorn, each paired with a trivial view: the ratio page ÷ floor.

    DATABASE_URL=postgres://…/sopflow_bench .venv/bin/python bench/scale_http.py [--runs 100000]
        [--seconds 10] [--pairs 3] [--port 8108] [--page TEXT ...] [--no-floors | --floors-only]

Starts gunicorn (2 sync workers, DEBUG=0, persistent database connections) on the configured
database, which seed_scale first fills up to --runs like bench/scale.py does. For every page
of bench/scale.py, wrk alternates --seconds on /bench/floor/ (a view that returns "ok" through
the whole middleware stack) and --seconds on the page, --pairs times, logged in as the page's
reader. The ratio of the page's requests per second to the floor's, pair by pair, says how
much of the server's capacity the page itself costs; the median ratio is printed.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scale  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs the database must hold")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk measurement")
    parser.add_argument("--pairs", type=int, default=3, help="floor/page pairs per page")
    parser.add_argument("--port", type=int, default=8108, help="port of the gunicorn server")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        help="measure only the pages whose label contains this text (repeatable)",
    )
    parser.add_argument(
        "--no-floors", action="store_true", help="leave out the floor table (sopflow ÷ bare)"
    )
    parser.add_argument("--floors-only", action="store_true", help="only the floor table")
    return parser.parse_args()


def server_env(settings_module="bench.http_settings"):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=str(ROOT),
        DEBUG="0",
        SOPFLOW_BENCH="1",
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-not-secret"),
        SECURE_COOKIES="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        CONN_MAX_AGE=env.get("CONN_MAX_AGE", "600"),
        LOG_LEVEL="WARNING",
    )
    return env


def start_gunicorn(port, settings_module="bench.http_settings"):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "sopflow.wsgi",
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=server_env(settings_module),
        stdout=subprocess.DEVNULL,
    )
    for _attempt in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/floor/", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def wrk(url, cookie, seconds, connections):
    """Requests per second, and the share of non-2xx/3xx answers, of `url` under wrk."""
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Cookie: sessionid={cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    timeouts = re.search(r"timeout (\d+)", result.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result.stdout)
    return rate, (int(bad.group(1)) if bad else 0) + (int(timeouts.group(1)) if timeouts else 0)


def floors_table(args, cookie):
    """The trivial views through sopflow's stack against the same views through the bare
    stack (bench/http_bare_settings.py: without sopflow's own middleware), pair by pair, one
    server at a time so that each has both cores."""
    print("| floor (logged in)           | sopflow req/s | bare req/s | ratio sopflow ÷ bare |")
    print("|-----------------------------|---------------|------------|----------------------|")
    for path in ("/bench/floor/", "/bench/floor-user/"):
        ours, bare = [], []
        for _pair in range(args.pairs):
            for settings_module, rates in (
                ("bench.http_settings", ours),
                ("bench.http_bare_settings", bare),
            ):
                server = start_gunicorn(args.port, settings_module)
                try:
                    url = f"http://127.0.0.1:{args.port}{path}"
                    rates.append(wrk(url, cookie, args.seconds, args.connections)[0])
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        ratio = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
        print(
            f"| {path:<27} | {statistics.median(ours):>13.0f} | {statistics.median(bare):>10.0f} "
            f"| {ratio:>20.2f} |"
        )


def main():
    args = parse_args()
    scale.setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    total = scale.ensure_runs(args.runs)
    users = {user.username: user for user in get_user_model().objects.filter(is_staff=False)}
    cookies = {}
    for user in users.values():
        client = Client()
        client.force_login(user)
        cookies[user.username] = client.cookies["sessionid"].value
    targets = [
        target
        for target in scale.pages(users)
        if not args.page or any(text in target[0] for text in args.page)
    ]
    connection.close()

    print(
        f"HTTP: gunicorn 2 sync workers, DEBUG=0, wrk {args.connections} connections; "
        f"{total} runs; {args.pairs} × ({args.seconds} s floor, {args.seconds} s page)"
    )
    header = f"| {'page':<38} | floor req/s | page req/s | ratio page ÷ floor | errors |"
    if not args.no_floors:
        floors_table(args, cookies["kasi"])
        print()
    if args.floors_only:
        return
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    server = start_gunicorn(args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for label, user, url in targets:
            cookie = cookies[user.username]
            floors, rates, ratios, errors = [], [], [], 0
            request = urllib.request.Request(base + url, headers={"Cookie": f"sessionid={cookie}"})
            for _warm_up in range(4):  # both workers: imports, templates, connections
                urllib.request.urlopen(request, timeout=60).read()
            for _pair in range(args.pairs):
                floor, _bad = wrk(f"{base}/bench/floor/", cookie, args.seconds, args.connections)
                rate, bad = wrk(base + url, cookie, args.seconds, args.connections)
                floors.append(floor)
                rates.append(rate)
                ratios.append(rate / floor if floor else 0.0)
                errors += bad
            print(
                f"| {label:<38} | {statistics.median(floors):>11.0f} "
                f"| {statistics.median(rates):>10.1f} | {statistics.median(ratios):>18.3f} "
                f"| {errors:>6} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
