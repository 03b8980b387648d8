"""Shared fixtures: the two seed SOPs and a named user for every role.

kasi, staf, kepala, kasubag_tu, pengelola work in Kesbangpol (SOP 1); kabid, subkor, tim, supir
in Diskominfo (SOP 2); `admin` is a superuser; `outsider` holds no role anywhere.

The demo organisation is built once per test database (each xdist worker has its own), right
after the migrations, and every test runs in a transaction over it. A transactional test (a live
server, the browser, the race and worker tests) commits for real and Django flushes the whole
database after it, so the demo is put back after each of those: on PostgreSQL copied back from
the rows read once after the first build (COPY, a fraction of a second), elsewhere built again.
"""

import importlib
import io
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import translation
from hypothesis import settings as hypothesis_settings
from pytest_django.plugin import blocking_manager_key

from activities.models import Sop, forget_calendars

PASSWORD = "sopflow-demo"
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Property tests: a bounded number of examples, never a timing deadline (the machine is shared).
hypothesis_settings.register_profile("local", max_examples=20, deadline=None)
hypothesis_settings.register_profile("ci", max_examples=40, deadline=None, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "local")


DEMO_SIGNER_PASSWORD = "sopflow-demo"


@pytest.fixture(scope="session")
def demo_signer(tmp_path_factory):
    """A demo PKCS#12 signer made once for the session (as `make run` makes one)."""
    from activities.documents.demo_certificates import demo_signer_pkcs12

    path = tmp_path_factory.mktemp("signer") / "demo-signer.p12"
    path.write_bytes(demo_signer_pkcs12(DEMO_SIGNER_PASSWORD.encode()))
    return path


@pytest.fixture(scope="session")
def demo_tte_keys(tmp_path_factory):
    """A folder for the officials' demo TTE, filled by the first test that needs them."""
    return tmp_path_factory.mktemp("demo-tte")


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory):
    """The files the demo writes (the units' emblems); each test gets a copy in its own media."""
    return tmp_path_factory.mktemp("demo-media")


# What migrations load besides the schema (the city's kecamatan and kelurahan, the kode
# klasifikasi arsip): a transactional test's flush empties it with the rest, so the demo built
# again after it loads it again, as a new database has it.
MIGRATION_DATA = (
    ("activities.migrations.0033_step_data", "add_regions"),
    ("activities.migrations.0035_naskah_register", "load_codes"),
)


def build_demo(media):
    from django.apps import apps

    for module, function in MIGRATION_DATA:
        getattr(importlib.import_module(module), function)(apps, None)
    with override_settings(PASSWORD_HASHERS=FAST_HASHER, MEDIA_ROOT=media):
        call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
        get_user_model().objects.get_or_create(
            username="outsider", defaults={"first_name": "Orang", "last_name": "Luar"}
        )
    forget_calendars()


def demo_is_there():
    return get_user_model().objects.filter(username="outsider").exists()


# On PostgreSQL: the rows of every table that is not empty once the demo is built (table → the
# COPY text of its rows) and the sequences' values then, read once per test database.
_snapshot = {}


def snapshot_demo():
    """Read the demo's rows once, so that after a flush they are copied back rather than built
    again (build_demo runs the migrations' data functions and seed_demo: seconds, not a fraction
    of one). Nothing is read where the copy could not be put back: on SQLite, or where the
    database role may not switch off triggers (only a superuser may)."""
    _snapshot.clear()
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    except DatabaseError:
        return
    tables = {}
    with connection.cursor() as cursor:
        for table in _filled_tables(cursor):
            rows = io.BytesIO()
            cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} TO STDOUT", rows)
            tables[table] = rows.getvalue()
        sequences = {name: value for name, value in _sequences(cursor) if value is not None}
    _snapshot.update(tables=tables, sequences=sequences)


def _sequences(cursor):
    """(name, last value or None when never used) of each sequence of the test database."""
    cursor.execute(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
    )
    return cursor.fetchall()


def _filled_tables(cursor):
    """The model tables (those a flush empties) that hold at least one row, in one query."""
    tables = sorted(
        connection.introspection.django_table_names(only_existing=True, include_views=False)
    )
    quote = connection.ops.quote_name
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables
        ),
        tables,
    )
    return [table for (table,) in cursor.fetchall()]


def restore_demo(media):
    """Put the demo back after a flush: copied back from the snapshot where there is one,
    otherwise built again."""
    if not _snapshot:
        build_demo(media)
        return
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        # No trigger fires while the rows go back: the foreign keys need no order of tables
        # (the rows were whole when read), and the event log's guards let its rows return.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # What the flush's post_migrate made again (content types, permissions) under new ids.
        for table in _filled_tables(cursor):
            cursor.execute(f"DELETE FROM {quote(table)}")
        for table, rows in _snapshot["tables"].items():
            cursor.copy_expert(f"COPY {quote(table)} FROM STDIN", io.BytesIO(rows))
        # A flush leaves the sequences where they were, past every id of the snapshot; only a
        # reset_sequences test takes them back, and then they go on from the snapshot's values.
        for sequence, value in _sequences(cursor):
            wanted = _snapshot["sequences"].get(sequence)
            if wanted is not None and (value is None or value < wanted):
                cursor.execute("SELECT setval(%s, %s)", [quote(sequence), wanted])
        # Triggers on again at once, should this ever run inside a test's own transaction.
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    # The caches build_demo leaves empty: the content types the flush made are gone again.
    ContentType.objects.clear_cache()
    forget_calendars()


# The slice CI runs on SQLite besides the whole suite on PostgreSQL (`make test-sqlite`): the
# front door a new user meets after `make run`, the SQLite races and IMMEDIATE transactions,
# tasks in the database queue, query budgets, the transitions, the text SQLite stores where
# PostgreSQL refuses it (NUL, huge numbers), and a browser logging in.
SQLITE_SLICE = {
    "test_front_door.py",
    "test_deploy.py",
    "test_concurrency.py",
    "test_tasks.py",
    "test_query_budgets.py",
    "test_workflow.py",
    "test_event_chain.py",
    "test_due_times.py",
    "test_hardening.py",
    "test_text.py",
    "browser/test_login.py",
}
HERE = Path(__file__).resolve().parent


# The files that take longest (measured with --durations), started first: pytest-xdist hands a
# worker a whole file at a time (`--dist loadfile --no-loadscope-reorder` in pyproject.toml), in
# this order, so that no long file is left to run alone on one core at the end.
LONG_FIRST = (
    "test_query_plans.py",
    "browser/test_run_stories.py",
    "browser/test_offline.py",
    "test_joint_races.py",
    "test_worker_postgres.py",
    "test_concurrency.py",
)


def _relative(item):
    path = Path(item.path).resolve()
    return path.relative_to(HERE).as_posix() if path.is_relative_to(HERE) else ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _relative(item) in SQLITE_SLICE:
            item.add_marker(pytest.mark.sqlite)
    # Then the named long files, then the files with most tests that commit for real (each is
    # followed by a flush and the demo built again), then the rest as collected.
    committing = {}
    for item in items:
        committing[item.path] = committing.get(item.path, 0) + _transactional(item)

    def weight(numbered):
        index, item = numbered
        name = _relative(item)
        rank = LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)
        return rank, -committing[item.path], index

    items[:] = [item for _index, item in sorted(enumerate(items), key=weight)]


# Set once the test database holds the demo: the folder its files went to.
_demo = {}
# What makes pytest-django run a test without the rolled-back transaction.
TRANSACTIONAL_FIXTURES = {
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, demo_media):
    with django_db_blocker.unblock():
        build_demo(demo_media)
        snapshot_demo()
    _demo["media"] = demo_media
    yield
    _demo.clear()
    _snapshot.clear()


def _transactional(item):
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool(TRANSACTIONAL_FIXTURES.intersection(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # By now a transactional test's flush has emptied the database: the demo is put back
    # here, committed once, rather than inside the rolled-back transaction of every test after.
    result = yield
    if nextitem is not None and "media" in _demo and _transactional(item):
        with item.config.stash[blocking_manager_key].unblock():
            if not demo_is_there():
                restore_demo(_demo["media"])
    return result


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path, demo_signer, demo_media):
    settings.PASSWORD_HASHERS = FAST_HASHER
    settings.MEDIA_ROOT = tmp_path / "media"
    shutil.copytree(demo_media, settings.MEDIA_ROOT)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Archived laporan are signed in tests as with `make run`.
    settings.SOPFLOW_SIGNING_PKCS12 = str(demo_signer)
    settings.SOPFLOW_SIGNING_PASSWORD = DEMO_SIGNER_PASSWORD
    # Tests run with DEBUG off, where the worker archives only with a public https SITE_URL.
    settings.SITE_URL = "https://sopflow.test"
    # Tasks run at once, in the test's process; the worker tests start real db_workers.
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": django_settings.TASKS["default"]["QUEUES"],
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The calendar cache outlives a test's rolled-back transaction, whose unit ids come again.
    forget_calendars()
    yield
    # A request in English leaves English active in the thread; the next test starts in
    # the default language whatever ran before it.
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def seeded(db, demo_media):
    """The demo organisation, built at the start of the session; built again (inside this test's
    transaction when it is a plain one) where a transactional test's flush took it away."""
    if not demo_is_there():
        build_demo(demo_media)


@pytest.fixture
def users(seeded):
    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def sop1(seeded):
    return Sop.objects.get(unit__short_name="Kesbangpol", version=1)


@pytest.fixture
def sop2(seeded):
    return Sop.objects.get(unit__short_name="Diskominfo", version=1)


@pytest.fixture
def client_for(client, users):
    """client_for("kasi") → the test client logged in as kasi."""

    def login(username):
        client.force_login(users[username])
        return client

    return login


@pytest.fixture
def tte_on(settings, tmp_path, seeded, demo_tte_keys):
    """The officials sign laporan with their own demo TTE (passphrase "sopflow-demo") from this
    test's own folder. The keys are made once a session (`make_demo_signers` makes only the
    files its folder lacks) and copied for each test."""
    import shutil

    from django.core.management import call_command

    call_command(
        "make_demo_signers", folder=str(demo_tte_keys), passphrase="sopflow-demo", verbosity=0
    )
    folder = tmp_path / "tte"
    shutil.copytree(demo_tte_keys, folder)
    settings.SOPFLOW_TTE_SERVICE = "pkcs12"
    settings.SOPFLOW_TTE_PKCS12_DIR = str(folder)
    return folder
