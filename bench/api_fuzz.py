"""Property-based fuzzing of the REST API from its own OpenAPI description (schemathesis).

Builds the demo organisation in a throw-away SQLite database (or the PostgreSQL database given
by --database-url, which must be empty), opens a few runs, makes an API key for each of a few
demo users, then lets schemathesis draw requests for every operation of
`/api/v1/openapi.json`, valid ones (positive) and ones that break the schema (negative), and
sends them through Django's WSGI application with each key. Prints the number of cases per
operation and answer, and the server errors (5xx) found, which must be none:

    PYTHONPATH=. .venv/bin/python bench/api_fuzz.py [--examples 40]

It exits non-zero when a request got a 5xx answer or an answer that is not JSON.
"""

import argparse
import collections
import datetime
import os
import sys
import tempfile


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    # The fuzzer measures answers, not the per-key limit; and answers as in production
    # (DEBUG off: Django's error handlers, not its debug pages), over plain HTTP.
    os.environ["SOPFLOW_API_RATE"] = "1000000/m"
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="api-fuzz-" + "x" * 40,
        ALLOWED_HOSTS="localhost,127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))


def keys_and_runs():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from activities.core import workflow
    from activities.models import ApiKey, Sop

    users = {user.username: user for user in get_user_model().objects.all()}
    for sop in Sop.objects.filter(status=Sop.Status.ACTIVE):
        for number in range(3):
            workflow.open_run(
                sop=sop,
                user=users["admin"],
                title=f"Kegiatan uji {number}",
                scheduled_on=timezone.localdate(),
                place="Aula",
            )
    tokens = {}
    for username, scope in [("kasi", "write"), ("kepala", "write"), ("kabid", "read")]:
        _key, tokens[username] = ApiKey.issue(
            user=users[username],
            name="fuzz",
            scope=scope,
            expires_at=timezone.now() + datetime.timedelta(days=1),
        )
    return tokens


def known_paths(operation):
    """Path parameters of objects that exist, so cases reach past the 404 of a random id."""
    from activities.models import Run, Sop

    names = {parameter.name for parameter in operation.path_parameters}
    if not names:
        return None
    known = {}
    if "run_id" in names:
        known["run_id"] = Run.objects.filter(sop__unit__short_name="Kesbangpol").first().pk
    if "sop_id" in names:
        known["sop_id"] = Sop.objects.get(unit__short_name="Kesbangpol", version=1).pk
    if "number" in names:
        known["number"] = 1
    return known


def fuzz(examples, tokens):
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    counts = collections.Counter()
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        paths = [None] + ([known] if (known := known_paths(operation)) else [])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path in paths:
                for token in tokens.values():
                    run = _case_runner(operation, mode, path, examples, token, counts, failures)
                    run()
    return operations, counts, failures


def _case_runner(operation, mode, path, examples, token, counts, failures):
    from hypothesis import HealthCheck, given, settings

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        status = response.status_code
        counts[(operation.label, status)] += 1
        kind = next(
            (value for name, value in response.headers.items() if name.lower() == "content-type"),
            "",
        )
        kind = kind[0] if isinstance(kind, list) else kind
        if status >= 500 or "json" not in kind:
            failures.append((operation.label, status, case.as_curl_command()))

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40, help="cases per operation, mode, key")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(args.database_url or f"sqlite:///{folder}/fuzz.sqlite3")
        tokens = keys_and_runs()
        started = datetime.datetime.now()
        operations, counts, failures = fuzz(args.examples, tokens)
        took = (datetime.datetime.now() - started).total_seconds()
    total = sum(counts.values())
    print(
        f"schemathesis fuzz of /api/v1/openapi.json: {len(operations)} operations, "
        f"{len(tokens)} keys, positive and negative cases"
    )
    by_operation = collections.defaultdict(collections.Counter)
    for (label, status), count in counts.items():
        by_operation[label][status] += count
    for label in sorted(by_operation):
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(by_operation[label].items()))
        print(f"  {label:<55} {sum(by_operation[label].values()):>5} cases  ({answers})")
    statuses = collections.Counter()
    for (_label, status), count in counts.items():
        statuses[status] += count
    print(
        f"cases: {total} in {took:.0f} s; answers: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    )
    print(f"server errors (5xx) or non-JSON answers: {len(failures)}")
    for label, status, curl in failures[:20]:
        print(f"  {status} {label}: {curl}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
