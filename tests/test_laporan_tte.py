"""The officials sign the laporan in Tugas with their own TTE; the office seals and archives it.

The Diskominfo laporan is reported by the Sub Kor DIMC and acknowledged by the Kepala Bidang
DIKP (not the Kepala Dinas); a Plh. of the Kepala signs Kesbangpol's."""

import datetime
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from activities.documents import signing
from activities.models import ActingAppointment, ArchivedReport, Event, LaporanSignature
from tests.test_verification import finish

PASSPHRASE = "sopflow-demo"


@pytest.fixture
def tte_on(settings, tmp_path, seeded, demo_tte_keys):
    """The officials' demo TTE in this test's own folder. The keys are made once a session
    (`make_demo_signers` makes only the files its folder lacks) and copied for each test."""
    call_command("make_demo_signers", folder=str(demo_tte_keys), passphrase=PASSPHRASE, verbosity=0)
    folder = tmp_path / "tte"
    shutil.copytree(demo_tte_keys, folder)
    settings.SOPFLOW_TTE_SERVICE = "pkcs12"
    settings.SOPFLOW_TTE_PKCS12_DIR = str(folder)
    return folder


def stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def sign(client, run, secret=PASSPHRASE):
    return client.post(
        reverse("laporan_sign", args=[run.pk]), {"kind": "passphrase", "secret": secret}
    )


def test_diskominfo_laporan_signed_by_pelapor_and_kepala_bidang(
    tte_on, users, sop2, client_for, django_capture_on_commit_callbacks
):
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    # Not archived: it waits for its officials.
    assert not ArchivedReport.objects.filter(run=run).exists()
    subkor = client_for("subkor")
    inbox = subkor.get(reverse("inbox"))
    assert reverse("laporan_sign", args=[run.pk]).encode() in inbox.content
    # The Kepala Bidang cannot sign before the pelapor.
    assert client_for("kabid").get(reverse("laporan_sign", args=[run.pk])).status_code == 403

    subkor = client_for("subkor")
    response = sign(subkor, run, "salah")
    assert response.status_code == 400
    assert not LaporanSignature.objects.exists()

    response = sign(subkor, run)
    assert response.status_code == 302
    kabid = client_for("kabid")
    assert reverse("laporan_sign", args=[run.pk]).encode() in kabid.get(reverse("inbox")).content
    with django_capture_on_commit_callbacks(execute=True):
        assert sign(kabid, run).status_code == 302

    report = ArchivedReport.objects.get(run=run)
    data = stored(report.file.name)
    check = signing.verify_signature(data)
    assert check.ok, check.problem
    names = [info.common_name for info in check.signatures]
    assert names[:2] == ["Hendra Wijaya, S.T.", "Dr. Rina Marlina, S.Kom., M.Si."]
    assert [info.serial_number for info in check.signatures[:2]] == [
        "198204092008011004",
        "197911202005012003",
    ]
    assert check.signatures[2].field == signing.FIELD_NAME
    assert all(info.demo for info in check.signatures)
    signed = run.signed_laporan
    assert signed.acknowledger_as == "Kepala Bidang DIKP"
    assert report.code == signed.code
    assert Event.objects.filter(run=run, kind=Event.Kind.LAPORAN_SIGNED).count() == 2
    # The passphrase is nowhere in the events.
    assert PASSPHRASE not in str(list(Event.objects.filter(run=run).values("after")))

    out = io.StringIO()
    call_command("verify_archive", stdout=out, stderr=io.StringIO())
    assert "3 signature(s) valid" in out.getvalue()
    assert "Kepala Bidang DIKP" in out.getvalue() and "197911202005012003" in out.getvalue()
    if shutil.which("pdfsig"):
        path = default_storage.path(report.file.name)
        result = subprocess.run(["pdfsig", path], capture_output=True, text=True, check=False)
        assert result.stdout.count("Signature Validation: Signature is Valid.") == 3
        assert "Total document signed" in result.stdout

    cli = shutil.which("pyhanko") or str(Path(sys.executable).with_name("pyhanko"))
    if Path(cli).exists():
        seal_pem = tte_on / "seal.pem"
        seal_pem.write_bytes(signing.configured_signer().certificate.dump())
        result = subprocess.run(
            [
                cli,
                "sign",
                "validate",
                "--no-revocation-check",
                "--trust-replace",
                "--trust",
                str(tte_on / "ca.pem"),
                "--trust",
                str(seal_pem),
                default_storage.path(report.file.name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # One line per signature, each judged valid and trusted by pyHanko's own CLI.
        lines = [line for line in result.stdout.splitlines() if ":" in line]
        assert len(lines) == 3 and all("INTACT:TRUSTED" in line for line in lines), result.stdout

    page = client_for("outsider").get(reverse("verify_document", args=[report.code]))
    text = page.content.decode()
    assert "Dr. Rina Marlina, S.Kom., M.Si." in text
    assert "19791120 200501 2 003" in text
    assert "sertifikat uji, bukan TTE resmi" in text


def test_a_plh_of_the_kepala_acknowledges_kesbangpol_laporan(
    tte_on, users, sop1, client_for, django_capture_on_commit_callbacks, settings
):
    run = finish(sop1, users, django_capture_on_commit_callbacks)
    today = datetime.date.today()
    ActingAppointment.objects.create(
        unit=sop1.unit,
        role=sop1.acknowledging_role(),
        person=users["kasubag_tu"],
        kind="plh",
        start_date=today,
        end_date=today + datetime.timedelta(days=2),
        letter_number="800/1/2026",
        letter_date=today,
        reason="Cuti",
        appointed_by=users["kepala"],
    )
    assert sign(client_for("kasi"), run).status_code == 302
    signed = run.signed_laporan
    assert signed.acknowledger.user == users["kasubag_tu"]
    assert signed.acknowledger_as.startswith("Plh. Kepala")
    # The absent Kepala is not asked to sign.
    assert client_for("kepala").get(reverse("laporan_sign", args=[run.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert sign(client_for("kasubag_tu"), run).status_code == 302
    check = signing.verify_signature(stored(ArchivedReport.objects.get(run=run).file.name))
    assert check.ok and len(check.signatures) == 3


def test_without_tte_the_office_seal_alone_archives_at_the_finish(
    users, sop2, django_capture_on_commit_callbacks
):
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    report = ArchivedReport.objects.get(run=run)
    assert len(signing.verify_signature(stored(report.file.name)).signatures) == 1


def test_a_stranger_cannot_sign(
    tte_on, users, sop2, client_for, django_capture_on_commit_callbacks
):
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    assert client_for("tim").get(reverse("laporan_sign", args=[run.pk])).status_code == 403
    assert client_for("kasi").get(reverse("laporan_sign", args=[run.pk])).status_code == 404
