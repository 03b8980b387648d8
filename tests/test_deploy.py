"""The systemd units in deploy/: each kills its whole control group and runs a real command."""

import configparser
from pathlib import Path

import pytest
from django.core.management import get_commands

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def read_unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_there_are_units_for_web_worker_and_scheduler():
    assert {path.name for path in UNITS} == {
        "sopflow-web.service",
        "sopflow-worker@.service",
        "sopflow-scheduler.service",
    }


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
