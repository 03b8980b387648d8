"""Person records: the NIP's parts checked, the SIMPEG CSV import all-or-nothing with line
numbers, and the SITE_URL deploy check."""

import datetime

import pytest
from django.core import checks
from django.core.management import CommandError, call_command

from activities.core import pegawai
from activities.documents import verification
from activities.models import Pegawai, nip_problem

TODAY = datetime.date(2026, 12, 6)


@pytest.mark.parametrize(
    ("nip", "fine"),
    [
        ("196406061985031015", True),
        ("19640606 198503 1 015", True),
        ("1964060619850310", False),  # 16 digits
        ("196413061985031015", False),  # month 13 of birth
        ("196406311985031015", False),  # 31 June
        ("202006061985031015", False),  # born six years ago
        ("196406061975031015", False),  # appointed at eleven
        ("196406061985131015", False),  # TMT month 13
        ("196406061985033015", False),  # sex digit 3
        ("196406061985031000", False),  # serial 000
        ("196406062027011015", False),  # TMT in the future
    ],
)
def test_nip_parts_are_checked(nip, fine):
    assert (nip_problem(nip, today=TODAY) == "") is fine


GOOD = (
    "nip;nama;gelar_depan;gelar_belakang;pangkat;jabatan;nik;email;username\n"
    "197911202005012003;Rina Marlina;Dr.;S.Kom., M.Si.;Pembina, IV/a;Kepala Bidang DIKP;"
    "3671016011790001;rina@example.id;kabid\n"
    "198812122012121001;Andi Wijaya;;S.H.;Penata, III/c;Analis;;;\n"
)


def test_a_good_file_is_imported_with_progress(seeded, users):
    calls = []
    result = pegawai.import_csv(GOOD, progress=lambda done, total: calls.append((done, total)))
    assert result.errors == []
    assert (result.created, result.updated) == (1, 1)  # kabid's NIP came with the demo
    kabid = Pegawai.objects.get(nip="197911202005012003")
    assert kabid.user == users["kabid"] and kabid.nik == "3671016011790001"
    assert Pegawai.objects.get(nip="198812122012121001").full_name == "Andi Wijaya, S.H."
    assert calls[-1] == (2, 2)


def test_a_bad_row_refuses_the_whole_file_with_line_numbers(seeded, tmp_path):
    bad = GOOD + (
        "198812122012121001;Andi Lagi;;;;;;;\n"  # line 4: duplicate NIP
        "12345;Tanpa NIP;;;;;;;\n"  # line 5
        "199001012015032002;;;;;;;;tidakada\n"  # line 6
    )
    before = Pegawai.objects.count()
    result = pegawai.import_csv(bad)
    assert [error.split(":")[0] for error in result.errors] == ["Baris 4", "Baris 5", "Baris 6"]
    assert "baris 3" in result.errors[0]
    assert Pegawai.objects.count() == before
    assert not Pegawai.objects.filter(nip="198812122012121001").exists()
    path = tmp_path / "simpeg.csv"
    path.write_text(bad)
    with pytest.raises(CommandError, match="Baris 5"):
        call_command("import_pegawai", str(path))


def test_a_file_without_the_nip_column_is_refused(seeded):
    assert pegawai.import_csv("nama\nBudi\n").errors[0].startswith("Baris 1")


@pytest.mark.parametrize(
    ("url", "debug", "refused"),
    [
        ("http://127.0.0.1:8101", False, True),
        ("http://localhost:8000", False, True),
        ("http://sopflow.tangerangkota.go.id", False, True),
        ("https://sopflow.tangerangkota.go.id", False, False),
        ("http://127.0.0.1:8000", True, False),
    ],
)
def test_site_url_is_a_deploy_error(settings, url, debug, refused):
    settings.SITE_URL, settings.DEBUG = url, debug
    found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert any(message.id == "sopflow.E001" for message in found) is refused
    assert bool(verification.site_url_problem(url, debug=debug)) is refused


def test_the_worker_refuses_to_archive_with_a_local_site_url(
    settings, users, sop2, django_capture_on_commit_callbacks
):
    from activities.models import ArchivedReport
    from tests.test_verification import finish

    settings.SITE_URL = "http://127.0.0.1:8101"
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    assert not ArchivedReport.objects.filter(run=run).exists()


def test_the_admin_imports_a_simpeg_file_through_the_worker(
    seeded, client_for, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from activities.models import Event, PegawaiImport

    client = client_for("admin")
    upload = SimpleUploadedFile("simpeg.csv", GOOD.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pegawai_import"), {"berkas": upload})
    job = PegawaiImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/")
    assert (job.status, job.created, job.updated, job.done, job.total) == ("done", 1, 1, 2, 2)
    page = client.get(reverse("pegawai_import_detail", args=[job.pk])).content.decode()
    assert "1 pegawai baru, 1 diperbarui" in page
    assert Event.objects.filter(kind=Event.Kind.PEOPLE_IMPORT).exists()


def test_a_refused_upload_lists_its_lines_and_imports_nothing(
    seeded, client_for, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from activities.models import PegawaiImport

    before = Pegawai.objects.count()
    bad = GOOD + "12345;Tanpa NIP;;;;;;;\n"
    client = client_for("admin")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("pegawai_import"), {"berkas": SimpleUploadedFile("simpeg.csv", bad.encode())}
        )
    job = PegawaiImport.objects.get()
    assert job.status == "refused"
    page = client.get(reverse("pegawai_import_status", args=[job.pk])).content.decode()
    assert "Baris 4" in page and "Tidak ada yang diimpor" in page
    assert Pegawai.objects.count() == before


def test_only_the_administrator_imports_people(seeded, client_for):
    from django.urls import reverse

    assert client_for("kepala").get(reverse("pegawai_import")).status_code == 403


def test_the_migration_fills_people_from_the_nips_typed_so_far(seeded, users):
    """0032's data step: one record per login, the unit head's NIP and titled name onto the
    head's login, an SOP approver without a login, a Plt./Plh.'s NIP onto his record."""
    import datetime as dt
    import importlib

    from django.apps import apps

    from activities.models import ActingAppointment, Role, Sop, Unit

    fill = importlib.import_module("activities.migrations.0034_people_and_tte").fill_pegawai
    kesbangpol = Unit.objects.get(short_name="Kesbangpol")
    ActingAppointment.objects.create(
        unit=kesbangpol,
        role=Role.objects.get(unit=kesbangpol, name="Kepala"),
        person=users["kasubag_tu"],
        kind="plh",
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2026, 12, 4),
        letter_number="800/1",
        letter_date=dt.date(2026, 11, 30),
        reason="Cuti",
        person_rank="Penata Tk.I, III/d",
        person_nip="19750211 200003 2 002",
        appointed_by=users["kepala"],
    )
    Sop.objects.filter(unit=kesbangpol).update(
        approver_name="Drs. H. ASEP SUHENDAR, M.Si", approver_nip="196805121990031004"
    )
    Pegawai.objects.all().delete()
    fill(apps, None)
    kepala = Pegawai.objects.get(user=users["kepala"])
    assert (kepala.nip, kepala.name, kepala.back_title) == (
        "196406061985031015",
        "TEMMY MULYADI",
        "M.Si",
    )
    assert kepala.rank == "Pembina Tk.I, IV/b"
    approver = Pegawai.objects.get(nip="196805121990031004")
    assert (approver.front_title, approver.name, approver.user) == (
        "Drs. H.",
        "ASEP SUHENDAR",
        None,
    )
    assert Pegawai.objects.get(user=users["kasubag_tu"]).nip == "197502112000032002"
    assert Pegawai.objects.filter(user__isnull=False).count() == len(users)
    # Diskominfo's head (the Kepala Dinas) has no login: the Kepala Bidang keeps her own name.
    assert Pegawai.objects.get(nip="197301041997032001").user is None
    assert Pegawai.objects.get(user=users["kabid"]).nip is None
