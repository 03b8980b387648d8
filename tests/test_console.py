"""What the console shows while sopflow runs: an expected refusal is one line, and the
start-up of every process prints no warning about a dependency's imports."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import path

ROOT = Path(__file__).resolve().parent.parent


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def request_log():
    handler = Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def broken(request):
    raise RuntimeError("a real failure")


urlpatterns = [path("rusak/", broken)]


def test_an_expected_403_is_one_info_line_without_a_traceback(client_for, sop1, request_log):
    draft = sop1.revisions.create(unit=sop1.unit, name=sop1.name, version=9)
    assert client_for("kasi").get(f"/sop/{draft.pk}/ubah/").status_code == 403
    (record,) = request_log
    assert record.status_code == 403
    assert record.levelno == logging.INFO and record.exc_info is None


def test_a_404_is_an_info_line_too(client_for, request_log):
    assert client_for("kasi").get("/kegiatan/999999/").status_code == 404
    (record,) = request_log
    assert record.levelno == logging.INFO and record.exc_info is None


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_keeps_its_traceback(client, request_log):
    client.raise_request_exception = False
    assert client.get("/rusak/").status_code == 500
    (record,) = request_log
    assert record.levelno == logging.ERROR and record.exc_info is not None


PROBE = """
import warnings
import django
django.setup()
import pyhanko.sign.signers  # noqa: F401
from cryptography.utils import CryptographyDeprecationWarning
warnings.warn("another deprecation", CryptographyDeprecationWarning)
"""


def test_the_dsa_warning_of_pyhanko_s_import_is_silenced_and_no_other():
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "sopflow.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert "DSA is deprecated" not in probe.stderr
    assert "another deprecation" in probe.stderr
