"""The register of naskah numbers: the kode klasifikasi (SOP default, run override), a yearly
sequence per unit with no gaps and no doubles (a PostgreSQL race of archivings), taken in the
archiving transaction and printed on the laporan before it is signed."""

import subprocess
import threading

import pytest
from django.db import connection, connections
from django.test import override_settings

from activities.documents import laporan
from activities.models import ArchivedReport, Event, Klasifikasi, NaskahCounter
from tests.test_reports import open_run, walk, wib


def finish(sop, users, start, **fields):
    return walk(open_run(sop, users, start=start, **fields), users, start=start)


def text_of(report):
    with report.file.open("rb") as handle:
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
    assert (first.register_year, first.register_number, first.klasifikasi) == (2026, 1, "200")
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
    numbers = sorted(
        ArchivedReport.objects.filter(run__in=runs).values_list("register_number", flat=True)
    )
    assert numbers == [1, 2, 3, 4, 5]
    assert NaskahCounter.objects.get(unit=sop1.unit, year=2026).last == 5
