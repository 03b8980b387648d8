"""“Serahkan ke SRIKANDI”: the package of an archived laporan (the PDF/A laporan as archived,
metadata CSV and JSON under SRIKANDI's field names, matching the laporan), downloadable by TU;
the agenda number typed back, recorded as an event and shown on the run page and /verifikasi/;
the run's kode klasifikasi changed before archiving."""

import csv
import io
import json
import subprocess
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from activities.documents import handover, laporan, verification
from activities.models import Event, Klasifikasi
from tests.test_reports import body, open_run, walk, wib

MONTHS_ID = [""] + (
    "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"
).split()


@pytest.fixture
def archived(users, sop1):
    start = wib(10, 5, 8)
    run = walk(open_run(sop1, users, start=start), users, start=start)
    return laporan.ensure_archived(run.pk)


def test_tu_downloads_a_package_whose_metadata_matches_the_laporan(client_for, archived):
    response = client_for("kasubag_tu").get(f"/kegiatan/{archived.run_id}/srikandi.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    package = zipfile.ZipFile(io.BytesIO(body(response)))
    pdf_name = f"laporan-kegiatan-{archived.run_id}.pdf"
    assert set(package.namelist()) == {pdf_name, "metadata.csv", "metadata.json"}
    with archived.file.open("rb") as handle:
        assert package.read(pdf_name) == handle.read()  # exactly the archived bytes
    fields = json.loads(package.read("metadata.json"))
    rows = list(csv.DictReader(io.StringIO(package.read("metadata.csv").decode("utf-8-sig"))))
    assert list(rows[0]) == list(handover.FIELDS) == list(fields)
    assert rows[0]["Nomor Naskah"] == fields["Nomor Naskah"] == "200/1/Kesbangpol/2026"
    assert fields["Klasifikasi"] == "200"
    assert fields["Jenis Naskah"] == "Laporan"
    assert fields["Media Arsip"] == "Elektronik"
    assert fields["Kode Verifikasi"] == archived.code
    assert fields["SHA-256"] == archived.sha256
    # What the metadata says is what the laporan prints.
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=package.read(pdf_name), capture_output=True, check=True
    ).stdout.decode()
    assert f"Nomor: {fields['Nomor Naskah']}" in text
    assert verification.grouped(fields["Kode Verifikasi"]) in text
    assert archived.run.title in text
    pages = subprocess.run(
        ["pdfinfo", "-"], input=package.read(pdf_name), capture_output=True, check=True
    ).stdout.decode()
    assert f"Pages:           {fields['Jumlah Halaman']}\n" in pages
    assert Event.objects.filter(run=archived.run, kind=Event.Kind.HANDOVER_PACKAGED).count() == 1


@pytest.mark.parametrize("username,status", [("staf", 403), ("kasi", 403), ("kabid", 404)])
def test_others_may_not_download_the_package(client_for, archived, username, status):
    response = client_for(username).get(f"/kegiatan/{archived.run_id}/srikandi.zip")
    assert response.status_code == status


def test_the_agenda_number_is_recorded_and_shown(client_for, archived):
    client = client_for("kasubag_tu")
    response = client.post(
        f"/kegiatan/{archived.run_id}/srikandi/", {"agenda": " 123/KSB/X/2026 "}, follow=True
    )
    assert response.status_code == 200
    event = Event.objects.get(run=archived.run, kind=Event.Kind.HANDOVER_REGISTERED)
    assert event.after["srikandi_agenda"] == "123/KSB/X/2026"
    assert event.actor.username == "kasubag_tu"
    page = response.content.decode()
    assert "123/KSB/X/2026" in page and "200/1/Kesbangpol/2026" in page
    public = client_for("outsider").get(f"/verifikasi/{verification.grouped(archived.code)}/")
    assert "123/KSB/X/2026" in public.content.decode()
    assert "200/1/Kesbangpol/2026" in public.content.decode()
    # The archived file is never touched.
    assert laporan.file_digest(archived)[0] == archived.sha256


@pytest.mark.parametrize("agenda", ["", "   ", "x" * 101, "<script>", "12;DROP"])
def test_a_bad_agenda_number_changes_nothing(client_for, archived, agenda):
    response = client_for("kasubag_tu").post(
        f"/kegiatan/{archived.run_id}/srikandi/", {"agenda": agenda}, follow=True
    )
    assert response.status_code == 200
    assert not Event.objects.filter(kind=Event.Kind.HANDOVER_REGISTERED).exists()
    assert "alert" in response.content.decode()


def test_staff_may_not_record_an_agenda_number(client_for, archived):
    response = client_for("staf").post(f"/kegiatan/{archived.run_id}/srikandi/", {"agenda": "1"})
    assert response.status_code == 403


def test_the_kode_klasifikasi_changes_before_archiving_only(client_for, users, sop1):
    start = wib(10, 5, 8)
    run = open_run(sop1, users, start=start)
    code = Klasifikasi.objects.get(code="400")
    client = client_for("kasubag_tu")
    assert (
        client.post(f"/kegiatan/{run.pk}/klasifikasi/", {"klasifikasi": "abc"}).status_code == 302
    )
    run.refresh_from_db()
    assert run.klasifikasi is None
    client.post(f"/kegiatan/{run.pk}/klasifikasi/", {"klasifikasi": code.pk})
    run.refresh_from_db()
    assert run.klasifikasi == code
    assert Event.objects.get(run=run, kind=Event.Kind.KLASIFIKASI).after == {"klasifikasi": "400"}
    assert (
        client_for("staf").post(f"/kegiatan/{run.pk}/klasifikasi/", {"klasifikasi": ""}).status_code
        == 403
    )
    walk(run, users, start=start)
    report = laporan.ensure_archived(run.pk)
    assert report.nomor == "400/1/Kesbangpol/2026"
    client.post(f"/kegiatan/{run.pk}/klasifikasi/", {"klasifikasi": ""})
    run.refresh_from_db()
    assert run.klasifikasi == code


def test_the_run_page_reads_the_codes_it_shows_in_one_query(client_for, users, sop1):
    """The code the run will be numbered under, the SOP's, and the choices come in one query
    that is not joined to the run's, and only for a reader who may change the code."""
    run = open_run(sop1, users, start=wib(10, 5, 8))
    run.klasifikasi = Klasifikasi.objects.get(code="400")
    run.save(update_fields=["klasifikasi"])
    Klasifikasi.objects.filter(code="400").update(active=False)
    url = f"/kegiatan/{run.pk}/"

    def codes_read(username):
        client = client_for(username)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        return page, [q["sql"] for q in queries if "activities_klasifikasi" in q["sql"]]

    page, reads = codes_read("kasubag_tu")
    assert len(reads) == 1 and '"activities_run"' not in reads[0]
    inactive = Klasifikasi.objects.get(code="400")
    # The run's own code is shown though no longer offered; the SOP's names the default.
    assert f'<dd class="col-sm-7 col-lg-9">{inactive}</dd>' in page
    assert f"Sesuai SOP ({sop1.klasifikasi})" in page
    assert f'value="{inactive.pk}"' not in page
    active = Klasifikasi.objects.filter(active=True)
    assert all(f'<option value="{code.pk}">{code}</option>' in page for code in active)
    page, reads = codes_read("staf")
    assert reads == [] and 'id="naskah"' not in page


def test_the_metadata_is_indonesian_for_an_english_reader_too(archived):
    """SRIKANDI reads it: the words and the date stay Indonesian, the date written out."""
    with translation.override("en"), archived.file.open("rb") as handle:
        fields = handover.metadata(archived, handle.read())
    assert (fields["Jenis Naskah"], fields["Media Arsip"], fields["Bahasa"]) == (
        "Laporan",
        "Elektronik",
        "Indonesia",
    )
    run = archived.run
    day = f"{run.scheduled_on.day} {MONTHS_ID[run.scheduled_on.month]} {run.scheduled_on.year}"
    assert f" tanggal {day} menurut SOP " in fields["Isi Ringkas"]
    assert fields["Tanggal Naskah"] == timezone.localdate(run.finished_at).isoformat()
