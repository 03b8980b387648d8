"""Pages over HTTP against gunicorn, each paired with a trivial view: the ratio page ÷ floor.

    DATABASE_URL=postgres://…/sopflow_bench .venv/bin/python bench/scale_http.py [--runs 100000]
        [--seconds 10] [--pairs 3] [--port 8108] [--reader kasi] [--page TEXT ...]
        [--no-floors | --floors-only]
        [--peer-base http://127.0.0.1:8200 --peer-login USER:PASSWORD --peer-pages pages.json
         [--peer-login-path /accounts/login/]]

Starts gunicorn (2 sync workers, DEBUG=0, persistent database connections) on the configured
database, which seed_scale first fills up to --runs like bench/scale.py does. For every page
of bench/scale.py, wrk alternates --seconds on /bench/floor/ (a view that returns "ok" through
the whole middleware stack) and --seconds on the page, --pairs times, logged in as the page's
reader. The ratio of the page's requests per second to the floor's, pair by pair, says how
much of the server's capacity the page itself costs; the median ratio is printed.
--reader names the demo account whose pages are measured (kasi: Kesbangpol's SOP of 15
steps; kabid: Diskominfo's wawaran SOP of 9 steps).

Against a peer: another web application, already running (the same way: gunicorn with 2 sync
workers, DEBUG off, persistent connections, on the same PostgreSQL), at --peer-base. The
script logs in there through the form at --peer-login-path (a Django login form: username,
password and the CSRF token) as --peer-login USER:PASSWORD and sends the cookies it gets.
--peer-pages is a JSON object from labels of sopflow's pages (as printed in the first column)
to the peer's path of the page that does the same work (or a list of paths: one row each),
plus "floor": the peer's trivial view that reads the user, paired with /bench/floor-user/:

    {"floor": "/floor/", "/tugas/": "/inbox/", "step form": "/1/approve/2/execute/"}

Each such page is then measured in pairs, one server after the other: sopflow's floor,
sopflow's page, the peer's page, the peer's floor, --pairs times (the idle server waits
meanwhile). Printed per page: the median requests per second of each, each side's median
ratio page ÷ floor, and the median of the pairs' ratios sopflow ÷ peer; the last row, the
trivial view, is the median over the pages of the ratio of the two floors. sopflow's pages
that the file does not name are left out; the table of sopflow's floors against the bare
stack comes first as without a peer, unless --no-floors.
"""

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
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
    scale.add_page_option(parser)
    parser.add_argument(
        "--no-floors", action="store_true", help="leave out the floor table (sopflow ÷ bare)"
    )
    parser.add_argument("--floors-only", action="store_true", help="only the floor table")
    parser.add_argument("--reader", default="kasi", help="demo account whose pages are measured")
    parser.add_argument("--peer-base", default="", help="base URL of a running peer server")
    parser.add_argument("--peer-login", default="", help="USER:PASSWORD on the peer")
    parser.add_argument(
        "--peer-login-path", default="/accounts/login/", help="the peer's login form"
    )
    parser.add_argument(
        "--peer-pages", default="", help="JSON file: sopflow page label -> peer path, and floor"
    )
    args = parser.parse_args()
    if bool(args.peer_base) != bool(args.peer_pages) or (
        args.peer_base and ":" not in args.peer_login
    ):
        parser.error("--peer-base, --peer-login USER:PASSWORD and --peer-pages go together")
    return args


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
    """Requests per second, and the count of non-2xx/3xx answers and timeouts, of `url` under
    wrk. `cookie`: sopflow's session key, or a whole Cookie header value (`a=1; b=2`)."""
    header = cookie if "=" in cookie else f"sessionid={cookie}"
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Cookie: {header}", url],
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


def peer_cookies(base, login_path, login):
    """The Cookie header value of a session logged in on the peer through its login form."""
    username, password = login.split(":", 1)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base + login_path, timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    data = {"username": username, "password": password}
    if token:
        data["csrfmiddlewaretoken"] = token.group(1)
    request = urllib.request.Request(
        base + login_path,
        data=urllib.parse.urlencode(data).encode(),
        headers={"Referer": base + login_path},
    )
    opener.open(request, timeout=30).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if len(cookies) < 2:  # the CSRF cookie alone: the login failed
        raise SystemExit(f"could not log in on the peer as {username}")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def warm_up(url, cookie):
    """Both workers: imports, templates, connections. A page that fails stops the run."""
    header = cookie if "=" in cookie else f"sessionid={cookie}"
    request = urllib.request.Request(url, headers={"Cookie": header})
    for _request in range(4):
        urllib.request.urlopen(request, timeout=60).read()


def median_ratio(tops, bottoms):
    """The median of the ratios top ÷ bottom, pair by pair."""
    return statistics.median(t / b if b else 0.0 for t, b in zip(tops, bottoms, strict=True))


def peer_table(args, base, targets, cookies):
    """sopflow's pages against the peer's, pair by pair (see the module's docstring)."""
    with open(args.peer_pages, encoding="utf-8") as file:
        peer_pages = json.load(file)
    peer_floor = peer_pages.pop("floor")
    labels = [label for label, _user, _url in targets]
    unknown = sorted(set(peer_pages) - set(labels))
    if unknown:
        raise SystemExit(f"no sopflow page {unknown}; the pages are {labels}")
    rows = []
    for label, user, url in targets:
        paths = peer_pages.get(label, [])
        rows += [
            (label, user, url, path) for path in ([paths] if isinstance(paths, str) else paths)
        ]
    peer = args.peer_base.rstrip("/")
    peer_cookie = peer_cookies(peer, args.peer_login_path, args.peer_login)
    width = max(len(path) for path in [peer_floor, *(row[3] for row in rows)])
    header = (
        f"| {'page':<38} | {'peer page':<{width}} | sopflow req/s | peer req/s "
        "| sopflow page ÷ floor | peer page ÷ floor | ratio sopflow ÷ peer | errors |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    floor_ratios, floor_errors = [], 0
    for label, user, url, path in rows:
        ours_cookie = cookies[user.username]
        # In the order measured, pair after pair: key, URL, cookie.
        round_ = [
            ("ours floor", f"{base}/bench/floor-user/", ours_cookie),
            ("ours", base + url, ours_cookie),
            ("theirs", peer + path, peer_cookie),
            ("theirs floor", peer + peer_floor, peer_cookie),
        ]
        for _key, target, cookie in round_:
            warm_up(target, cookie)
        rates = {key: [] for key, _target, _cookie in round_}
        errors = 0
        for _pair in range(args.pairs):
            for key, target, cookie in round_:
                rate, bad = wrk(target, cookie, args.seconds, args.connections)
                rates[key].append(rate)
                if key.endswith("floor"):
                    floor_errors += bad
                else:
                    errors += bad
        floor_ratios.append(median_ratio(rates["ours floor"], rates["theirs floor"]))
        print(
            f"| {label:<38} | {path:<{width}} "
            f"| {statistics.median(rates['ours']):>13.1f} "
            f"| {statistics.median(rates['theirs']):>10.1f} "
            f"| {median_ratio(rates['ours'], rates['ours floor']):>20.3f} "
            f"| {median_ratio(rates['theirs'], rates['theirs floor']):>17.3f} "
            f"| {median_ratio(rates['ours'], rates['theirs']):>20.2f} | {errors:>6} |"
        )
    if floor_ratios:
        trivial = "trivial view (floor, user read)"
        print(
            f"| {trivial:<38} | {peer_floor:<{width}} | {'':>13} | {'':>10} | {'':>20} "
            f"| {'':>17} | {statistics.median(floor_ratios):>20.2f} | {floor_errors:>6} |"
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
    targets = scale.pages(users, args.reader, only=args.page)
    connection.close()

    print(
        f"HTTP: gunicorn 2 sync workers, DEBUG=0, wrk {args.connections} connections; "
        f"{total} runs; {args.pairs} × ({args.seconds} s floor, {args.seconds} s page); "
        f"pages of {args.reader}"
    )
    if not args.no_floors:
        floors_table(args, cookies["kasi"])
        print()
    if args.floors_only:
        return
    server = start_gunicorn(args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        if args.peer_base:
            peer_table(args, base, targets, cookies)
        else:
            pages_table(args, base, targets, cookies)
    finally:
        server.terminate()
        server.wait(timeout=30)


def pages_table(args, base, targets, cookies):
    header = f"| {'page':<38} | floor req/s | page req/s | ratio page ÷ floor | errors |"
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for label, user, url in targets:
        cookie = cookies[user.username]
        floors, rates, ratios, errors = [], [], [], 0
        warm_up(base + url, cookie)
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


if __name__ == "__main__":
    main()
