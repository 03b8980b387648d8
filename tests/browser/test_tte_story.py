"""The officials sign the laporan in Tugas with their own TTE: the Sub Kor DIMC reports, the
Plh. of the Kepala Bidang DIKP acknowledges, the office seals it; the QR code on the archived
page leads to the public page that names both signers with jabatan and NIP.

Steps 1–10 are recorded through `activities.core.workflow` to save time; the signing is done in
the browser by the people who sign."""

import datetime
import io

import pypdfium2
import zxingcpp
from django.conf import settings
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from activities.core import acting
from activities.documents import signing
from activities.models import ArchivedReport, Role
from tests.test_laporan_tte import PASSPHRASE
from tests.test_verification import finish


def sign_in_tugas(page, title, secret):
    page.goto("/tugas/")
    section = page.locator("#laporan-to-sign")
    expect(section).to_contain_text(title)
    section.get_by_role("link", name="Tandatangani").click()
    expect(
        page.get_by_role("heading", name="Tandatangani laporan secara elektronik")
    ).to_be_visible()
    page.get_by_label("Passphrase atau kode TOTP").fill(secret)
    page.get_by_role("button", name="Tandatangani").click()


def test_pelapor_and_plh_sign_then_the_office_seals(
    tte_on,  # noqa: F811
    person,
    page,
    users,
    sop2,
    django_capture_on_commit_callbacks,
):
    run = finish(sop2, users, django_capture_on_commit_callbacks)
    today = datetime.date.today()
    acting.appoint(
        user=users["kabid"],
        role=Role.objects.get(unit=sop2.unit, name="Kepala Bidang DIKP"),
        person=users["tim"],
        kind="plh",
        start_date=today,
        end_date=today + datetime.timedelta(days=3),
        letter_number="800/77-Diskominfo/2026",
        letter_date=today,
        reason="Perjalanan dinas",
    )

    subkor = person("subkor")
    sign_in_tugas(subkor, run.title, "bukan-ini")
    expect(subkor.get_by_text("Passphrase salah")).to_be_visible()
    subkor.get_by_label("Passphrase atau kode TOTP").fill(PASSPHRASE)
    subkor.get_by_role("button", name="Tandatangani").click()
    expect(subkor.get_by_text("Laporan sudah Anda tandatangani secara elektronik.")).to_be_visible()

    tim = person("tim")
    sign_in_tugas(tim, run.title, PASSPHRASE)
    expect(tim.get_by_text("Laporan sudah Anda tandatangani secara elektronik.")).to_be_visible()

    report = ArchivedReport.objects.get(run=run)
    with default_storage.open(report.file.name, "rb") as handle:
        data = handle.read()
    check = signing.verify_signature(data)
    assert check.ok and len(check.signatures) == 3
    assert [info.common_name for info in check.signatures[:2]] == [
        "Hendra Wijaya, S.T.",
        "Fajar Nugroho, S.Kom.",
    ]

    # The QR code at the signatures, read from the rendered page, opens the public page.
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    found = []
    for index in range(len(document)):
        image = document[index].render(scale=3).to_pil()
        found += [result.text for result in zxingcpp.read_barcodes(image)]
    address = f"{settings.SITE_URL}/verifikasi/"
    urls = [text for text in found if text.startswith(address)]
    assert urls, found
    # Anyone holding the paper, without an account.
    page.goto(urls[-1][len(settings.SITE_URL) :])
    expect(page.get_by_text("Hendra Wijaya, S.T.", exact=True)).to_be_visible()
    expect(page.get_by_text("Fajar Nugroho, S.Kom.", exact=True)).to_be_visible()
    expect(page.get_by_text("Plh. Kepala Bidang DIKP").first).to_be_visible()
    expect(page.get_by_text("NIP 19920314 201903 1 005", exact=True)).to_be_visible()
    expect(page.get_by_text("sertifikat uji, bukan TTE resmi").first).to_be_visible()
