"""Period reports above ARCHIVE_REPORT_INLINE_MAX_RUNS finished runs are prepared by the worker:
one report per user and period, progress as it goes, written once, owner-only download,
expiry, and failure after the last retry."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from activities.background import schedule, tasks
from activities.documents import archive, period_reports
from activities.models import PeriodReport, Run, Unit
from tests.rundata import add_runs, straight, wib
from tests.test_reports import pdf_text

URL = "/arsip/laporan.pdf?dari=2026-09-01&sampai=2026-09-30"
SEPTEMBER = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))


def plans(sop, numbers):
    """Straight runs of every step (5 minutes each), opened on the September mornings."""
    steps = sop.steps.count()
    return [
        straight(
            sop,
            wib(2026, 9, 1 + n % 28, 8) + datetime.timedelta(minutes=n // 28),
            [5] * steps,
            title=f"Sosialisasi nomor {n}",
        )
        for n in numbers
    ]


@pytest.fixture
def inline_runs(sop1):
    """As many finished Kesbangpol runs in September as a report renders in the request."""
    return add_runs(sop1, plans(sop1, range(archive.ARCHIVE_REPORT_INLINE_MAX_RUNS)))


@pytest.fixture
def many_runs(sop1, inline_runs):
    """One run more: the September report goes to the background."""
    more = archive.ARCHIVE_REPORT_INLINE_MAX_RUNS
    return inline_runs + add_runs(sop1, plans(sop1, [more]))


def ask(client, callbacks, *, execute=True):
    with callbacks(execute=execute) as queued:
        response = client.get(URL)
    return response, queued


def test_200_runs_render_in_the_request(client_for, inline_runs):
    response = client_for("kepala").get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert not PeriodReport.objects.exists()
    text = " ".join(pdf_text(response.content))
    assert "Jumlah: 200 kegiatan selesai" in text


def test_more_than_200_runs_are_prepared_in_the_background(
    client_for, many_runs, django_capture_on_commit_callbacks
):
    client = client_for("kepala")
    response, queued = ask(client, django_capture_on_commit_callbacks, execute=False)
    report = PeriodReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/arsip/laporan/{report.pk}/"
    assert len(queued) == 1  # the task waits for the commit
    assert (report.status, report.done, report.total) == ("queued", 0, 201)
    assert report.requested_by.username == "kepala"
    assert (report.date_from, report.date_to) == SEPTEMBER
    assert [unit.short_name for unit in report.units.all()] == ["Kesbangpol"]

    page = client.get(response["Location"]).content.decode()
    assert "sedang disiapkan" in page
    assert "0 dari 201 kegiatan diolah" in page
    assert f'hx-get="/arsip/laporan/{report.pk}/status/"' in page
    assert f"/arsip/laporan/{report.pk}/laporan.pdf" not in page

    queued[0]()  # the commit: the immediate backend runs the task now
    report.refresh_from_db()
    assert (report.status, report.done, report.total, report.attempts) == ("ready", 201, 201, 1)
    assert report.expires_at == report.finished_at + datetime.timedelta(hours=24)
    assert default_storage.exists(report.file.name)

    fragment = client.get(f"/arsip/laporan/{report.pk}/status/").content.decode()
    assert "hx-get" not in fragment and "hx-trigger" not in fragment  # polling stops
    assert f'href="/arsip/laporan/{report.pk}/laporan.pdf"' in fragment

    download = client.get(f"/arsip/laporan/{report.pk}/laporan.pdf")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(b"".join(download.streaming_content)))
    assert "LAPORAN ARSIP KEGIATAN" in text
    assert "Periode 1 September 2026 sampai 30 September 2026" in text
    assert "Jumlah: 201 kegiatan selesai" in text
    for n in (0, 57, 200):
        assert f"Sosialisasi nomor {n} " in text


def test_asking_again_gets_the_same_report_and_no_second_task(
    client_for, many_runs, django_capture_on_commit_callbacks
):
    client = client_for("kepala")
    first, queued = ask(client, django_capture_on_commit_callbacks, execute=False)
    again, queued_again = ask(client, django_capture_on_commit_callbacks, execute=False)
    assert again["Location"] == first["Location"]
    assert PeriodReport.objects.count() == 1
    assert len(queued) == 1 and queued_again == []
    assert "sudah Anda minta" in client.get(again["Location"]).content.decode()

    queued[0]()
    ready, queued_ready = ask(client, django_capture_on_commit_callbacks, execute=False)
    assert ready["Location"] == first["Location"] and queued_ready == []

    # Another SOP filter, or another user, is another report.
    sop = many_runs[0].sop
    with django_capture_on_commit_callbacks(execute=False):
        other = client.get(f"{URL}&sop={sop.pk}")
        client_for("kasubag_tu").get(URL)
    assert other["Location"] != first["Location"]
    assert PeriodReport.objects.count() == 3


def test_two_racing_requests_make_one_report(users, sop1, monkeypatch):
    """The second request read "no report yet" before the first committed: the constraint
    refuses its row and it answers with the first one."""
    units = [sop1.unit]
    first, created = period_reports.request_report(users["kepala"], units, *SEPTEMBER)
    assert created
    monkeypatch.setattr(period_reports, "_live", lambda parameters, now: None)
    second, created = period_reports.request_report(users["kepala"], units, *SEPTEMBER)
    assert (second, created) == (first, False)
    assert PeriodReport.objects.count() == 1
    # The constraint itself, with "all SOPs" (no SOP) counted as one value.
    with pytest.raises(IntegrityError), transaction.atomic():
        PeriodReport.objects.create(
            requested_by=users["kepala"], unit_ids=first.unit_ids, date_from=SEPTEMBER[0],
            date_to=SEPTEMBER[1], status=PeriodReport.Status.RUNNING,
        )  # fmt: skip
    # A failed or expired report does not block a new one.
    PeriodReport.objects.filter(pk=first.pk).update(status=PeriodReport.Status.FAILED)
    third, created = period_reports.request_report(users["kepala"], units, *SEPTEMBER)
    assert created and third != first


def test_a_report_whose_task_was_lost_is_queued_again_when_asked_for(
    users, sop1, settings, django_capture_on_commit_callbacks
):
    units = [sop1.unit]
    with django_capture_on_commit_callbacks(execute=False):
        report, _created = period_reports.request_report(users["kepala"], units, *SEPTEMBER)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert period_reports.request_report(users["kepala"], units, *SEPTEMBER)[0] == report
    assert queued == []  # young: its task is on its way
    later = report.created_at + datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        again, created = period_reports.request_report(
            users["kepala"], units, *SEPTEMBER, now=later
        )
    assert (again, created, len(queued)) == (report, False, 1)
    report.refresh_from_db()
    assert report.status == "ready"


def test_the_report_reads_the_figures_each_run_stored(users, sop1, monkeypatch):
    runs = add_runs(sop1, plans(sop1, range(4)))
    from_rounds = archive.bulk_timings(runs)

    def no_rounds(runs, **kwargs):
        raise AssertionError("a finished run with stored figures was timed from its rounds")

    monkeypatch.setattr(archive, "bulk_timings", no_rounds)
    report = archive.build_archive_report([sop1.unit], *SEPTEMBER)
    rows = [row for group in report.groups for row in group.rows]
    assert len(rows) == 4

    def said(timing):
        return (
            timing.standard_display,
            timing.actual_display,
            round(timing.difference_minutes, 6),
            timing.late,
            timing.steps_done,
            timing.on_time_share,
        )

    assert [said(row.timing) for row in rows] == [said(from_rounds[row.run.pk]) for row in rows]


def test_progress_is_written_as_the_runs_are_timed(users, many_runs, monkeypatch):
    monkeypatch.setattr(archive, "ARCHIVE_REPORT_CHUNK", 50)
    # Runs that closed before their figures were kept are timed from their rounds, in chunks.
    Run.objects.filter(pk__in=[run.pk for run in many_runs]).update(handling_office_minutes=None)
    report, _created = period_reports.request_report(
        users["kepala"], [many_runs[0].unit], *SEPTEMBER, total=201
    )
    seen = []
    bulk_timings, render_pdf = archive.bulk_timings, archive.pdf.render_pdf

    def timing_chunk(runs, **kwargs):
        row = PeriodReport.objects.get(pk=report.pk)
        seen.append((row.status, row.done, row.total))
        return bulk_timings(runs, **kwargs)

    def render(template, context):
        row = PeriodReport.objects.get(pk=report.pk)
        seen.append((row.status, row.done, row.total))
        return render_pdf(template, context)

    monkeypatch.setattr(archive, "bulk_timings", timing_chunk)
    monkeypatch.setattr(archive.pdf, "render_pdf", render)
    period_reports.prepare_period_report.enqueue(report.pk)
    assert seen == [
        ("running", 0, 201),
        ("running", 50, 201),
        ("running", 100, 201),
        ("running", 150, 201),
        ("running", 200, 201),
        ("running", 201, 201),
    ]
    report.refresh_from_db()
    assert (report.status, report.done, report.percent) == ("ready", 201, 100)


def test_a_retry_or_a_second_worker_writes_once(users, sop1, monkeypatch):
    add_runs(sop1, plans(sop1, range(3)))
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    # Another worker holds it (claimed a moment ago): nothing to do here.
    PeriodReport.objects.filter(pk=report.pk).update(status="running", started_at=timezone.now())
    assert period_reports.prepare(report.pk) is None
    # That worker died long ago and the scheduler queued the task again: this one takes over.
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    PeriodReport.objects.filter(pk=report.pk).update(started_at=long_ago)
    name = period_reports.prepare(report.pk)
    assert name and default_storage.exists(name)
    # Done: a retry finds nothing to do, and the file stays what it was.
    assert period_reports.prepare(report.pk) is None
    report.refresh_from_db()
    assert (report.status, report.file.name, report.attempts) == ("ready", name, 1)
    assert default_storage.listdir(name.rsplit("/", 1)[0])[1] == [name.rsplit("/", 1)[1]]


def test_a_worker_that_lost_its_claim_keeps_nothing(users, sop1, monkeypatch):
    add_runs(sop1, plans(sop1, range(2)))
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    render = archive.render_archive_report

    def slow_render(*args, **kwargs):
        data = render(*args, **kwargs)
        # Meanwhile this worker was taken for dead and another claimed the report.
        PeriodReport.objects.filter(pk=report.pk).update(started_at=timezone.now())
        return data

    monkeypatch.setattr(archive, "render_archive_report", slow_render)
    assert period_reports.prepare(report.pk) is None
    report.refresh_from_db()
    assert (report.status, report.file.name) == ("running", "")
    folder = f"laporan-periode/{timezone.now():%Y}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder)[1] == []


def test_a_failing_report_is_retried_then_marked_failed(
    client_for, users, many_runs, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise OSError("disk penuh")

    monkeypatch.setattr(archive.pdf, "render_pdf", broken)
    client = client_for("kepala")
    # The immediate backend runs each retry at once.
    response, _queued = ask(client, django_capture_on_commit_callbacks)
    report = PeriodReport.objects.get()
    assert report.status == "failed"
    assert report.attempts == len(tasks.RETRY_DELAYS) + 1
    assert report.error == "OSError: disk penuh"
    assert not report.file
    assert "failed for good after 4 attempts" in caplog.text
    page = client.get(response["Location"]).content.decode()
    assert "gagal disiapkan setelah 4 percobaan" in page
    assert f"/arsip/laporan/{report.pk}/status/" not in page  # nothing left to poll
    assert f'href="{URL}"'.replace("&", "&amp;") in page  # "Coba lagi" asks again
    assert client.get(f"/arsip/laporan/{report.pk}/laporan.pdf")["Location"] == response["Location"]

    # Asking again makes a new report.
    monkeypatch.undo()
    again, _queued = ask(client, django_capture_on_commit_callbacks)
    assert again["Location"] != response["Location"]
    assert PeriodReport.objects.get(pk=again["Location"].split("/")[-2]).status == "ready"


def test_only_the_user_who_asked_gets_the_report(client, client_for, users, sop1):
    add_runs(sop1, plans(sop1, range(2)))
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    period_reports.prepare(report.pk)
    urls = [f"/arsip/laporan/{report.pk}/{tail}" for tail in ("", "status/", "laporan.pdf")]
    assert [client_for("kepala").get(url).status_code for url in urls] == [200, 200, 200]
    # kasubag_tu exports the same unit's archive; staf does not; admin is a superuser.
    for username in ("kasubag_tu", "staf", "kabid", "admin", "outsider"):
        assert [client_for(username).get(url).status_code for url in urls] == [404] * 3
    client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # The policy is asked again: without the export capability the owner is refused.
    users["kepala"].sop_roles.filter(unit=sop1.unit).update(exports_archive=False)
    assert client_for("kepala").get(urls[2]).status_code == 403
    assert client_for("kepala").post(urls[0]).status_code in (403, 405)


def test_expired_reports_lose_their_file_and_offer_to_prepare_again(
    client_for, users, sop1, settings, django_capture_on_commit_callbacks
):
    settings.SOPFLOW_PERIOD_REPORT_KEEP_HOURS = 72
    add_runs(sop1, plans(sop1, range(2)))
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    name = period_reports.prepare(report.pk)
    report.refresh_from_db()
    assert report.expires_at == report.finished_at + datetime.timedelta(hours=72)
    assert "expire_period_reports" in [job.name for job in schedule.JOBS]

    assert period_reports.expire_due(report.expires_at - datetime.timedelta(seconds=1)) == 0
    assert default_storage.exists(name)
    assert period_reports.expire_period_reports.enqueue().return_value == 0
    assert period_reports.expire_due(report.expires_at) == 1
    report.refresh_from_db()
    assert (report.status, report.file.name) == ("expired", "")
    assert not default_storage.exists(name)
    assert period_reports.expire_due(report.expires_at) == 0  # once

    client = client_for("kepala")
    page = client.get(f"/arsip/laporan/{report.pk}/").content.decode()
    assert "sudah kedaluwarsa" in page and "72 jam" in page
    assert "Siapkan lagi" in page
    download = client.get(f"/arsip/laporan/{report.pk}/laporan.pdf")
    assert download["Location"] == f"/arsip/laporan/{report.pk}/"


def test_a_ready_report_past_its_time_is_expired_when_asked_again(
    client_for, many_runs, settings, django_capture_on_commit_callbacks
):
    client = client_for("kepala")
    first, _queued = ask(client, django_capture_on_commit_callbacks)
    report = PeriodReport.objects.get()
    name = report.file.name
    PeriodReport.objects.filter(pk=report.pk).update(expires_at=timezone.now())
    page = client.get(first["Location"]).content.decode()
    assert "sudah kedaluwarsa" in page  # before the job came round
    again, _queued = ask(client, django_capture_on_commit_callbacks)
    assert again["Location"] != first["Location"]
    report.refresh_from_db()
    assert (report.status, report.file.name) == ("expired", "")
    assert not default_storage.exists(name)


def test_the_archive_lists_my_recent_period_reports(client_for, users, sop1):
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    page = client_for("kepala").get("/arsip/").content.decode()
    assert f'href="/arsip/laporan/{report.pk}/"' in page
    assert (
        f'href="/arsip/laporan/{report.pk}/"'
        not in client_for("kasubag_tu").get("/arsip/").content.decode()
    )


def test_the_status_fragment_reads_a_bounded_number_of_rows(
    client_for, users, sop1, django_assert_num_queries
):
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    client = client_for("kepala")
    client.get(f"/arsip/laporan/{report.pk}/status/")
    # session, user, the report with its SOP, the user's roles, his acting appointments
    with django_assert_num_queries(5):
        response = client.get(f"/arsip/laporan/{report.pk}/status/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_the_english_page_is_translated(client_for, users, sop1):
    report, _created = period_reports.request_report(users["kepala"], [sop1.unit], *SEPTEMBER)
    client = client_for("kepala")
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    page = client.get(f"/arsip/laporan/{report.pk}/").content.decode()
    assert "being prepared" in page


def test_a_report_over_several_units_is_signed_by_the_organisation_bureau(users, sop1, settings):
    units = list(Unit.objects.filter(short_name__in=["Kesbangpol", "Diskominfo"]))
    bureau = Unit.objects.get(short_name=settings.SOPFLOW_CITY_UNIT)
    lh = archive.build_archive_report(units, *SEPTEMBER).letterhead
    assert (lh.unit_lines, lh.address, lh.head_title) == (
        ["SEKRETARIAT DAERAH"],
        bureau.address,
        bureau.head_title,
    )
    assert lh.has_signatory and lh.emblem_url
    # One unit: its own kop and head, as before.
    own = archive.build_archive_report([sop1.unit], *SEPTEMBER).letterhead
    assert own.address == sop1.unit.address and own.head_title == sop1.unit.head_title
    # No bureau configured: the government's kop and emblem, and nobody signs for the offices.
    settings.SOPFLOW_CITY_UNIT = ""
    lh = archive.build_archive_report(units, *SEPTEMBER).letterhead
    assert (lh.address, lh.has_signatory, bool(lh.emblem_url)) == ("", False, True)
