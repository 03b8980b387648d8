"""Verifiable archived laporan: QR code and code on the first and last page, the public
/verifikasi/ page, the PDF upload check, the PAdES signature and verify_archive over both."""

import asyncio
import dataclasses
import datetime
import io
import shutil
import subprocess
import zoneinfo

import pypdfium2
import pytest
import zxingcpp
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from activities.core import workflow
from activities.documents import laporan, signing, verification
from activities.models import ArchivedReport, Run
from tests.test_reports import PERFORMERS

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
START = datetime.datetime(2026, 9, 30, 8, 0, tzinfo=WIB)


@pytest.fixture(autouse=True)
def _fresh_rate_limit(db):
    # The rate limit counts in the shared database cache.
    cache.clear()
    yield
    cache.clear()


def finish(sop, users, captured):
    opener = users[PERFORMERS[sop.steps.get(number=1).roles.first().name]]
    run = workflow.open_run(
        sop=sop,
        user=opener,
        title="Wawaran keliling",
        scheduled_on=START.date(),
        place="Cibodas",
        now=START,
    )
    moment = START
    with captured(execute=True):
        for step in sop.steps.prefetch_related("roles").order_by("number"):
            user = users[PERFORMERS[step.roles.all()[0].name]]
            times = {"started_at": moment, "completed_at": moment + datetime.timedelta(minutes=5)}
            if step.is_approval:
                workflow.approve_step(
                    run_id=run.pk, number=step.number, user=user, instruction="Setuju", **times
                )
            else:
                # A joint step is signed off by a performer of each of its roles.
                performers = [users[PERFORMERS[role.name]] for role in step.roles.all()]
                for performer in performers if step.is_joint else [user]:
                    workflow.complete_step(
                        run_id=run.pk, number=step.number, user=performer, **times
                    )
            moment = times["completed_at"]
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run


@pytest.fixture
def archived(users, sop2, django_capture_on_commit_callbacks):
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    return ArchivedReport.objects.select_related("run").get(run=run)


def stored(report):
    with default_storage.open(report.file.name, "rb") as handle:
        return handle.read()


def decoded_qr(data, page_index):
    page = pypdfium2.PdfDocument(data)[page_index]
    image = page.render(scale=3).to_pil()
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_the_archived_laporan_carries_its_code_and_qr_on_first_and_last_page(archived):
    data = stored(archived)
    printed = verification.grouped(archived.code)
    url = f"https://sopflow.test/verifikasi/{printed}/"
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) >= 2
    for index in (0, len(pages) - 1):
        text = " ".join(pages[index].extract_text().split())
        assert printed in text
        assert decoded_qr(data, index) == [url]
    assert verification.normalize(printed.lower()) == archived.code


def test_a_draft_has_no_verification_code(users, sop2):
    opener = users["subkor"]
    run = workflow.open_run(
        sop=sop2, user=opener, title="Wawaran", scheduled_on=START.date(), place="Cibodas"
    )
    data = laporan.render_run_report(run.pk)
    assert decoded_qr(data, 0) == []


def test_the_public_page_says_a_genuine_document_is_genuine(client, archived):
    response = client.get(f"/verifikasi/{verification.grouped(archived.code)}/")
    assert response.status_code == 200
    page = response.content.decode()
    # Signed with the demo certificate: registered and intact, never a green "asli".
    assert "sertifikat uji, bukan TTE resmi" in page
    assert archived.sha256 in page
    assert "Wawaran keliling" in page
    assert "Dinas Komunikasi dan Informatika" in page
    assert "Penyebaran Informasi melalui Mobil Wawaran Keliling" in page
    assert "sopflow DEMO - BUKAN SERTIFIKAT RESMI" in page
    # nothing personal: the people who did the steps are not named on the public page
    for name in ("Hendra", "Rina", "Fajar", "Ujang"):
        assert name not in page


def test_codes_are_read_as_typed(client, archived):
    typed = verification.grouped(archived.code).lower().replace("-", "")
    assert client.get(f"/verifikasi/{typed}/").status_code == 200
    response = client.get("/verifikasi/", {"kode": verification.grouped(archived.code).lower()})
    assert response.status_code == 302
    assert response["Location"] == f"/verifikasi/{verification.grouped(archived.code)}/"


@pytest.mark.parametrize("code", ["0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ", "bukan-kode", "x" * 300])
def test_an_unknown_or_forged_code_is_no_document(client, archived, code):
    response = client.get(f"/verifikasi/{code}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Tidak ada dokumen arsip dengan kode ini." in page
    assert archived.sha256 not in page


def test_a_changed_archive_file_is_not_called_genuine(client, archived):
    data = bytearray(stored(archived))
    data[len(data) // 2] ^= 0x01
    with default_storage.open(archived.file.name, "wb") as handle:
        handle.write(bytes(data))
    page = client.get(f"/verifikasi/{archived.code}/").content.decode()
    assert "Dokumen asli." not in page
    assert "tidak lagi sama" in page


def test_an_uploaded_pdf_is_checked_against_the_archive(client, archived):
    url = f"/verifikasi/{verification.grouped(archived.code)}/"
    data = stored(archived)
    same = client.post(url, {"berkas": SimpleUploadedFile("laporan.pdf", data)})
    assert "Cocok: berkas ini sama persis" in same.content.decode()
    changed = bytearray(data)
    changed[-100] ^= 0x20
    other = client.post(url, {"berkas": SimpleUploadedFile("laporan.pdf", bytes(changed))})
    assert "Tidak cocok" in other.content.decode()
    not_pdf = client.post(url, {"berkas": SimpleUploadedFile("x.pdf", b"hello")})
    assert "bukan PDF" in not_pdf.content.decode()
    found = client.post("/verifikasi/", {"berkas": SimpleUploadedFile("laporan.pdf", data)})
    assert "Lihat dokumennya" in found.content.decode()


def test_the_public_page_is_rate_limited(client, archived, settings):
    settings.SOPFLOW_VERIFY_RATE = "3/m"
    url = f"/verifikasi/{archived.code}/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"


def test_the_archived_laporan_is_signed_and_valid(archived):
    check = signing.verify_signature(stored(archived))
    assert check.ok and check.trusted
    assert "BUKAN SERTIFIKAT RESMI" in check.signer
    assert archived.signed_by == check.signer


def test_signing_and_checking_work_inside_a_running_event_loop(archived):
    # An ASGI server, or a browser test's own loop, may run in the thread that archives.
    unsigned = laporan.render_run_report(archived.run_id, now=archived.archived_at, code="UJI")
    signer = signing.configured_signer()

    async def inside_a_loop():
        return signing.verify_signature(signer.sign(unsigned, reason="uji", location="Tangerang"))

    assert asyncio.run(inside_a_loop()).ok


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils' pdfsig is missing")
def test_pdfsig_reads_the_signature_as_valid(archived, tmp_path):
    path = tmp_path / "laporan.pdf"
    path.write_bytes(stored(archived))
    output = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in output
    assert "BUKAN SERTIFIKAT RESMI" in output


def test_a_signature_of_unknown_coverage_is_not_called_whole(archived, monkeypatch):
    # pyHanko leaves a status's coverage unset when it cannot tell what the signature covers.
    validate = signing.validate_pdf_signature
    monkeypatch.setattr(
        signing,
        "validate_pdf_signature",
        lambda *args: dataclasses.replace(validate(*args), coverage=None),
    )
    check = signing.verify_signature(stored(archived))
    assert check.signed and check.intact and check.valid
    assert not check.whole_file and not check.ok


def test_a_changed_byte_breaks_the_signature(archived):
    data = bytearray(stored(archived))
    # a byte inside the signed content (the first page's stream), not in the signature itself
    data[len(data) // 3] ^= 0x01
    assert not signing.verify_signature(bytes(data)).ok


def test_verify_archive_checks_hash_and_signature(archived, capsys):
    call_command("verify_archive")
    out = capsys.readouterr().out
    assert "1 signature(s) valid" in out
    assert f"run {archived.run_id}" in out


def test_verify_archive_names_a_broken_signature_even_when_the_hash_is_updated(archived, capsys):
    """Someone who rewrites the file and its recorded hash still breaks the signature."""
    import hashlib

    data = bytearray(stored(archived))
    data[len(data) // 3] ^= 0x01
    with default_storage.open(archived.file.name, "wb") as handle:
        handle.write(bytes(data))
    ArchivedReport.objects.filter(pk=archived.pk).update(sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(CommandError):
        call_command("verify_archive")
    assert f"SIGNATURE run {archived.run_id}" in capsys.readouterr().err


def test_unsigned_when_no_signer_is_configured(
    users, sop2, settings, django_capture_on_commit_callbacks
):
    settings.SOPFLOW_SIGNING_PKCS12 = ""
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    report = ArchivedReport.objects.get(run=run)
    assert report.signed_by == ""
    assert not signing.verify_signature(stored(report)).signed
    call_command("verify_archive")


class FakeRemoteService:
    """A stand-in for a remote signing service: holds the key, signs only digests."""

    def __init__(self, p12_path, password):
        from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

        key, cert, _others = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password)
        self.key, self.der = key, cert.public_bytes(Encoding.DER)
        self.calls = 0

    def certificate_chain(self):
        return [self.der]

    def sign_digest(self, data, digest_algorithm):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self.calls += 1
        assert digest_algorithm == "sha256"
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


SERVICE = {}


def fake_service():
    return SERVICE["service"]


def test_a_remote_signing_service_plugs_in(
    users, sop2, settings, demo_signer, django_capture_on_commit_callbacks
):
    SERVICE["service"] = FakeRemoteService(demo_signer, b"sopflow-demo")
    settings.SOPFLOW_SIGNING_PKCS12 = ""
    settings.SOPFLOW_SIGNING_SERVICE = "tests.test_verification.fake_service"
    settings.SOPFLOW_SIGNING_TRUST_ROOTS = []
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    report = ArchivedReport.objects.get(run=run)
    assert SERVICE["service"].calls == 1
    check = signing.verify_signature(stored(report))
    assert check.ok and check.trusted
    signing._load.cache_clear()
