"""The systemd units in deploy/: each kills its whole control group and runs a real command."""

import configparser
import signal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def read_unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_there_are_units_for_web_workers_and_scheduler():
    assert {path.name for path in UNITS} == {
        "sopflow-web.service",
        "sopflow-worker@.service",
        "sopflow-outside-worker.service",
        "sopflow-scheduler.service",
    }


def test_the_outside_queue_has_a_worker_and_the_default_worker_leaves_it(settings):
    outside = read_unit(DEPLOY / "sopflow-outside-worker.service")["Service"]["ExecStart"].split()
    assert outside[outside.index("--queue-name") + 1] == settings.SOPFLOW_OUTSIDE_QUEUE
    default = read_unit(DEPLOY / "sopflow-worker@.service")["Service"]["ExecStart"].split()
    # db_worker's default queue is "default" alone.
    assert "--queue-name" not in default


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_stopping_a_unit_kills_its_whole_control_group(path):
    service = read_unit(path)["Service"]
    # control-group is systemd's default too; it is written out so nobody weakens it to
    # "process" or "none", which let an orphaned gunicorn worker keep serving.
    assert service["KillMode"] == "control-group"
    assert service.get("Restart") in ("always", "on-failure")


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_a_unit_runs_an_existing_command(path):
    command = read_unit(path)["Service"]["ExecStart"].split()
    if "manage.py" in command:
        assert command[command.index("manage.py") + 1] in get_commands()
    else:
        assert command[0].endswith("/gunicorn") and command[1] == "sopflow.wsgi"


class FakeChild:
    """A child process of run_all: the first one polled has ended, the others run on."""

    started = []

    def __init__(self, command, process_group):
        self.command, self.pid, self.returncode = command, 1000 + len(self.started), None
        FakeChild.started.append(self)

    def poll(self):
        if self is FakeChild.started[0] and self.returncode is None:
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        self.returncode = 0


def test_run_all_starts_a_worker_for_each_queue_and_stops_the_others_with_sigterm(monkeypatch):
    from activities.management.commands import run_all

    FakeChild.started = []
    signals = []
    monkeypatch.setattr(run_all.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(run_all.os, "killpg", lambda pid, signum: signals.append(signum))
    monkeypatch.setattr(run_all.signal, "signal", lambda signum, handler: None)
    call_command("run_all", "127.0.0.1:8999", stderr=StringIO())
    commands = [child.command[2:] for child in FakeChild.started]
    workers = [command for command in commands if command[0] == "db_worker"]
    assert [
        w[w.index("--queue-name") + 1] if "--queue-name" in w else "default" for w in workers
    ] == [
        "default",
        "outside",
    ]
    # SIGTERM, not SIGINT: runserver's autoreloader ignored a SIGINT sent to its group and was
    # killed after the timeout.
    assert signals and set(signals) == {signal.SIGTERM}


def test_the_web_service_has_a_memory_limit():
    service = read_unit(DEPLOY / "sopflow-web.service")["Service"]
    high, limit = (int(service[key].removesuffix("M")) for key in ("MemoryHigh", "MemoryMax"))
    assert 0 < high < limit <= 4096


def test_the_production_environment_reads_the_client_behind_nginx_and_splits_the_roles():
    lines = (DEPLOY / "env.example").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert env["SOPFLOW_PROXY_COUNT"] == "1"
    app, owner = env["DATABASE_URL"], env["MIGRATE_DATABASE_URL"]
    assert app.startswith("postgres://sopflow_app:") and owner.startswith(
        "postgres://sopflow_owner:"
    )
    roles = (DEPLOY / "postgres-roles.sql").read_text()
    assert "CREATE DATABASE sopflow OWNER sopflow_owner" in roles
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE sopflow_owner" in roles


def test_run_all_serves_the_demo_timestamp_authority_where_the_tsa_url_points(
    monkeypatch, settings
):
    from activities.management.commands import run_all

    settings.SOPFLOW_DEMO_TSA_DIR = "/srv/demo-tsa"
    settings.SOPFLOW_TSA_URL = "http://127.0.0.1:8119/tsa"
    FakeChild.started = []
    monkeypatch.setattr(run_all.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(run_all.os, "killpg", lambda pid, signum: None)
    monkeypatch.setattr(run_all.signal, "signal", lambda signum, handler: None)
    call_command("run_all", "127.0.0.1:8999", stderr=StringIO())
    commands = [child.command[2:] for child in FakeChild.started]
    assert ["demo_tsa", "--folder", "/srv/demo-tsa", "--bind", "127.0.0.1:8119"] in commands
    # Without the demo folder (production), no authority of its own.
    settings.SOPFLOW_DEMO_TSA_DIR = ""
    FakeChild.started = []
    call_command("run_all", "127.0.0.1:8999", stderr=StringIO())
    assert not any(child.command[2] == "demo_tsa" for child in FakeChild.started)
