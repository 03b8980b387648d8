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


def test_the_web_service_has_a_memory_limit():
    service = read_unit(DEPLOY / "sopflow-web.service")["Service"]
    high, limit = (int(service[key].removesuffix("M")) for key in ("MemoryHigh", "MemoryMax"))
    assert 0 < high < limit <= 4096
