"""The register of naskah numbers: the kode klasifikasi (SOP default, run override), a yearly
sequence per unit with no gaps and no doubles (PostgreSQL races of archivings and of first
signatures), taken in the archiving transaction or, with the officials' own TTE, at the first
signature, and printed on the laporan before anyone signs it."""

import subprocess
import threading

import pytest
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse

from activities.documents import laporan, register
from activities.models import (
    ArchivedReport,
    Event,
    Klasifikasi,
    NaskahCounter,
    NaskahNumber,
    SignedLaporan,
)
from tests.test_laporan_tte import sign
from tests.test_reports import open_run, walk, wib
from tests.test_verification import finish as finish_now


def finish(sop, users, start, **fields):
    return walk(open_run(sop, users, start=start, **fields), users, start=start)


def text_of(report):
    with default_storage.open(report.file.name, "rb") as handle:
        data = handle.read()
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_the_fixture_holds_the_main_classes_and_the_seed_sops_their_code(sop1, sop2):
    codes = set(Klasifikasi.objects.values_list("code", flat=True))
    assert {"000", "100", "200", "400", "800", "900"} <= codes
    assert sop1.klasifikasi.code == "200"
    assert sop2.klasifikasi.code == "000"


def test_archived_laporan_are_numbered_in_sequence_per_unit_and_year(users, sop1, sop2):
    first = laporan.ensure_archived(finish(sop1, users, wib(10, 5, 8)).pk)
    second = laporan.ensure_archived(finish(sop1, users, wib(10, 19, 8)).pk)
    other_unit = laporan.ensure_archived(finish(sop2, users, wib(10, 7, 9)).pk)
    assert first.nomor == "200/1/Kesbangpol/2026"
    assert second.nomor == "200/2/Kesbangpol/2026"
    assert other_unit.nomor == "000/1/Diskominfo/2026"
    entry = NaskahNumber.objects.get(run=first.run)
    assert (entry.unit, entry.year, entry.number, first.klasifikasi) == (sop1.unit, 2026, 1, "200")
    # Printed on the document itself, which is signed after the number was printed.
    assert "Nomor: 200/1/Kesbangpol/2026" in text_of(first)
    event = Event.objects.get(run=first.run, kind=Event.Kind.ARCHIVED)
    assert event.after["nomor"] == "200/1/Kesbangpol/2026"
    # Archiving again changes nothing.
    assert laporan.ensure_archived(first.run_id).nomor == first.nomor
    assert NaskahCounter.objects.get(unit=sop1.unit, year=2026).last == 2


def test_a_run_may_be_numbered_under_another_code(users, sop1):
    run = finish(sop1, users, wib(10, 5, 8))
    run.klasifikasi = Klasifikasi.objects.get(code="400")
    run.save(update_fields=["klasifikasi"])
    assert laporan.ensure_archived(run.pk).nomor == "400/1/Kesbangpol/2026"


@override_settings(SOPFLOW_NOMOR_NASKAH_FORMAT="{klasifikasi}/{unit}/{urut}/{tahun}")
def test_the_office_sets_the_format(users, sop2):
    assert laporan.ensure_archived(finish(sop2, users, wib(10, 7, 9)).pk).nomor == (
        "000/Diskominfo/1/2026"
    )


def test_a_failed_archiving_gives_its_number_back(users, sop1, monkeypatch):
    run = finish(sop1, users, wib(10, 5, 8))
    real = laporan.final_document

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(laporan, "final_document", broken)
    with pytest.raises(OSError):
        laporan.ensure_archived(run.pk)
    assert NaskahCounter.objects.get(unit=sop1.unit, year=2026).last == 0
    assert not ArchivedReport.objects.filter(run=run).exists()
    monkeypatch.setattr(laporan, "final_document", real)
    assert laporan.ensure_archived(run.pk).nomor == "200/1/Kesbangpol/2026"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_archivings_get_every_number_once(users, sop1):
    """Five finished runs of one unit archived at the same moment, each on its own connection:
    the numbers are 1–5, each once, and the register stands at 5."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove row locks")
    runs = [
        finish(sop1, users, wib(10, day, 8), title=f"Sosialisasi {day}") for day in range(5, 10)
    ]
    barrier = threading.Barrier(len(runs))
    errors = []

    def archive(run_id):
        try:
            barrier.wait()
            laporan.ensure_archived(run_id)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=archive, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(NaskahNumber.objects.filter(run__in=runs).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
    assert NaskahCounter.objects.get(unit=sop1.unit, year=2026).last == 5


def test_the_page_the_officials_sign_prints_its_number(
    tte_on, users, sop2, client_for, django_capture_on_commit_callbacks
):
    """With personal TTE the number is taken when the pelapor first signs, printed on the page
    both officials sign, and archived as printed; a failed signing keeps it for the next try."""
    run = finish_now(sop2, users, django_capture_on_commit_callbacks)
    assert not NaskahNumber.objects.filter(run=run).exists()
    # A wrong passphrase: the page was rendered with the run's number, nothing was signed.
    assert sign(client_for("subkor"), run, "salah").status_code == 400
    assert NaskahNumber.objects.get(run=run).number == 1
    assert not SignedLaporan.objects.filter(run=run).exists()

    other = finish_now(sop2, users, django_capture_on_commit_callbacks)
    assert sign(client_for("subkor"), other).status_code == 302
    # The retry prints the same number: no gap, no double.
    assert sign(client_for("subkor"), run).status_code == 302
    signed = SignedLaporan.objects.get(run=run)
    assert (signed.nomor, signed.klasifikasi) == ("000/1/Diskominfo/2026", "000")
    assert "Nomor: 000/1/Diskominfo/2026" in text_of(signed)
    assert SignedLaporan.objects.get(run=other).nomor == "000/2/Diskominfo/2026"
    page = client_for("subkor").get(reverse("run_detail", args=[run.pk])).content.decode()
    assert "000/1/Diskominfo/2026" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert sign(client_for("kabid"), run).status_code == 302
    report = ArchivedReport.objects.get(run=run)
    assert report.nomor == "000/1/Diskominfo/2026"
    text = text_of(report)
    assert "Nomor: 000/1/Diskominfo/2026" in text
    # Its verification block stands once, beside the signatures that end it (no appendix).
    assert text.count("Dokumen ini dapat diverifikasi") == 1
    # Each jabatan line ends with its comma, as tata naskah dinas writes it.
    assert "Sub Kor DIMC," in text and "Kepala Bidang DIKP," in text
    assert Event.objects.get(run=run, kind=Event.Kind.ARCHIVED).after["nomor"] == report.nomor
    assert NaskahCounter.objects.get(unit=sop2.unit, year=2026).last == 2


def test_the_code_is_fixed_once_the_number_is_on_a_signed_page(
    tte_on, users, sop2, client_for, django_capture_on_commit_callbacks
):
    run = finish_now(sop2, users, django_capture_on_commit_callbacks)
    assert sign(client_for("subkor"), run, "salah").status_code == 400
    # Nobody signed yet: the code may change, the number stays the run's.
    kabid = client_for("kabid")
    assert 'name="klasifikasi"' in kabid.get(reverse("run_detail", args=[run.pk])).content.decode()
    kabid.post(
        reverse("run_klasifikasi", args=[run.pk]),
        {"klasifikasi": Klasifikasi.objects.get(code="400").pk},
    )
    assert sign(client_for("subkor"), run).status_code == 302
    assert SignedLaporan.objects.get(run=run).nomor == "400/1/Diskominfo/2026"

    with pytest.raises(register.NotChangeable):
        register.set_klasifikasi(run.pk, Klasifikasi.objects.get(code="000"), actor=None)
    kabid = client_for("kabid")
    page = kabid.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert 'name="klasifikasi"' not in page
    response = kabid.post(
        reverse("run_klasifikasi", args=[run.pk]),
        {"klasifikasi": Klasifikasi.objects.get(code="000").pk},
        follow=True,
    )
    assert "sudah tercetak pada laporan yang ditandatangani" in response.content.decode()
    run.refresh_from_db()
    assert run.klasifikasi.code == "400"
    assert NaskahCounter.objects.get(unit=sop2.unit, year=2026).last == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_first_signatures_get_every_number_once(users, sop2):
    """Numbers taken for pages about to be signed, on their own connections at the same moment,
    two of them for the same run: every run gets one number, 1–4 each once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove row locks")
    runs = [finish(sop2, users, wib(10, day, 9), title=f"Rapat {day}") for day in range(5, 9)]
    targets = [*runs, runs[0]]
    barrier = threading.Barrier(len(targets))
    taken, errors = [], []

    def reserve(run):
        try:
            barrier.wait()
            taken.append((run.pk, register.reserve(run).number))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve, args=(run,)) for run in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    by_run = {}
    for run_id, number in taken:
        by_run.setdefault(run_id, set()).add(number)
    assert all(len(numbers) == 1 for numbers in by_run.values())
    assert sorted(NaskahNumber.objects.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert NaskahCounter.objects.get(unit=sop2.unit, year=2026).last == 4
