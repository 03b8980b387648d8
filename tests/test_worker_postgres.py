"""Real `db_worker` processes on PostgreSQL: two workers drain one queue of 500 tasks and every
task runs exactly once; a worker killed with SIGKILL in the middle of a task leaves it to be
queued again by the scheduler, and its effect is written once.

Marked `postgres` (run with DATABASE_URL=postgres://…); skipped on SQLite, whose single writer
proves nothing about claiming rows. Each test takes seconds: the workers poll every 0.1 s.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from activities.background import schedule
from activities.documents import laporan
from activities.models import ArchivedReport, Event, Run
from tests.test_reports import open_run, walk, wib
from tests.worker_tasks import probe

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def on_postgres(transactional_db, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove the queue")
    settings.TASKS = DATABASE_TASKS


@pytest.fixture
def start_worker(on_postgres, tmp_path):
    """start_worker(name) → a running `manage.py db_worker` on the test database."""
    db = connection.settings_dict
    login = quote(db["USER"] or "postgres") + (
        f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    )
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{login}@{host}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONPATH": str(ROOT),
    }
    workers = []

    def start(name):
        log = open(tmp_path / f"{name}.log", "w")
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                name,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# Generous: a cold worker process imports WeasyPrint before its first laporan, and a loaded
# CI machine is slow. The tests end as soon as the condition holds.
def wait_for(condition, timeout=600, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_until_polling(tmp_path, name):
    wait_for(lambda: "Starting worker" in (tmp_path / f"{name}.log").read_text(), what=name)


def test_two_workers_drain_500_tasks_each_exactly_once(start_worker, tmp_path):
    start_worker("w1"), start_worker("w2")
    wait_until_polling(tmp_path, "w1"), wait_until_polling(tmp_path, "w2")
    log = tmp_path / "effects.log"
    ids = [probe.enqueue(str(log), f"task-{n}", 0.005).id for n in range(500)]

    done = DBTaskResult.objects.filter(id__in=ids, status=TaskResultStatus.SUCCESSFUL)
    wait_for(lambda: done.count() == 500, what="500 successful tasks")
    lines = log.read_text().splitlines()
    keys = Counter(line.split()[0] for line in lines)
    assert len(lines) == 500 and set(keys.values()) == {1}
    results = DBTaskResult.objects.filter(id__in=ids)
    assert all(len(result.worker_ids) == 1 for result in results)
    by_worker = Counter(result.worker_ids[0] for result in results)
    assert set(by_worker) == {"w1", "w2"}, by_worker
    print(f"\ndrained 500 tasks: {dict(by_worker)}")


def test_a_task_killed_mid_way_runs_again_later_and_writes_once(
    start_worker, tmp_path, users, sop2, settings
):
    start = wib(10, 12, 8)
    run = open_run(sop2, users, start=start)
    walk(run, users, start=start)  # on_commit is real here: the archive task is queued
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    queued = DBTaskResult.objects.get(task_path="activities.documents.laporan.archive_laporan")

    first = start_worker("doomed")
    wait_for(
        lambda: DBTaskResult.objects.get(id=queued.id).status == TaskResultStatus.RUNNING,
        what="the archive task to start",
    )
    os.kill(first.pid, signal.SIGKILL)  # mid-task: rendering the laporan takes a while
    first.wait()
    assert DBTaskResult.objects.get(id=queued.id).status == TaskResultStatus.RUNNING

    # The scheduler finds it stale and queues it again; another worker runs it.
    settings.SOPFLOW_TASK_STALE_SECONDS = 1
    time.sleep(1.1)
    assert schedule.requeue_stale_tasks() == 1
    start_worker("rescuer")
    wait_for(
        lambda: DBTaskResult.objects.get(id=queued.id).status == TaskResultStatus.SUCCESSFUL,
        what="the archive task to finish",
    )
    result = DBTaskResult.objects.get(id=queued.id)
    assert result.worker_ids == ["doomed", "rescuer"]
    assert ArchivedReport.objects.filter(run=run).count() == 1
    assert Event.objects.filter(run=run, kind=Event.Kind.ARCHIVED).count() == 1
    # Queued once more (a duplicate): still one archive, one event.
    laporan.archive_laporan.enqueue(run.pk)
    wait_for(
        lambda: not DBTaskResult.objects.exclude(status=TaskResultStatus.SUCCESSFUL).exists(),
        what="the duplicate to finish",
    )
    assert ArchivedReport.objects.filter(run=run).count() == 1
    assert Event.objects.filter(run=run, kind=Event.Kind.ARCHIVED).count() == 1
