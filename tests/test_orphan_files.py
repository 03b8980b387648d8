"""Files nothing refers to (a crash between writing attachments and the commit) are removed
once they are a day old; referenced files and young files are kept."""

import datetime
import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from activities.core import uploads
from activities.models import ArchivedReport, Attachment
from tests.test_reports import finished_run  # noqa: F401 (fixture)


def age(name, days):
    path = default_storage.path(name)
    moment = (datetime.datetime.now() - datetime.timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))


def test_unreferenced_old_files_are_removed_and_logged(finished_run, capsys, caplog):  # noqa: F811
    orphan = default_storage.save(f"lampiran/{finished_run.pk}/yatim.pdf", ContentFile(b"x"))
    young = default_storage.save(f"lampiran/{finished_run.pk}/baru.pdf", ContentFile(b"y"))
    outside = default_storage.save("lain/berkas.txt", ContentFile(b"z"))
    kept = [a.file.name for a in Attachment.objects.all()]
    kept += [a.rendition.name for a in Attachment.objects.exclude(rendition="")]
    kept += [r.file.name for r in ArchivedReport.objects.all()]
    assert kept
    for name in [orphan, outside, *kept]:
        age(name, 3)

    call_command("clean_orphan_files", "--dry-run")
    assert f"would remove {orphan}" in capsys.readouterr().out
    assert default_storage.exists(orphan)

    with caplog.at_level("INFO", logger="sopflow.files"):
        call_command("clean_orphan_files")
    out = capsys.readouterr().out
    assert f"removed {orphan}" in out
    assert "1 unreferenced files removed; 1 younger than a day kept" in out
    assert f"Removed unreferenced file {orphan}" in caplog.text
    assert not default_storage.exists(orphan)
    for name in [young, outside, *kept]:
        assert default_storage.exists(name), name


@pytest.mark.django_db
def test_nothing_stored_yet(capsys):
    call_command("clean_orphan_files")
    assert "0 unreferenced files removed" in capsys.readouterr().out


def test_the_scheduler_runs_the_cleanup_daily(db, capsys):
    from activities.background import schedule

    [job] = [job for job in schedule.JOBS if job.name == "clean_orphan_files"]
    assert job.every == datetime.timedelta(days=1)
    assert job.get_task() is uploads.clean_orphan_files
    uploads.clean_orphan_files.call()
    assert "0 unreferenced files removed" in capsys.readouterr().out
