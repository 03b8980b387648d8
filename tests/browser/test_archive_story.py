"""Documentation photos at the event, and TU printing the laporan from the archive.

Steps 1–10 are recorded through `activities.core.workflow` to save time; the event itself (step 11)
and everything after it is clicked through by the people who do it.
"""

import datetime
import hashlib
import io
import re

from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from pypdf import PdfReader

from activities.core import workflow
from tests.browser.test_run_stories import take_step

TITLE = "Sosialisasi Empat Pilar Kebangsaan Kelurahan Sukasari"
PHOTO = "dokumentasi-sosialisasi.jpg"
BEFORE_THE_EVENT = [
    ("kasi", None),
    ("kepala", "Setuju, laksanakan."),
    ("kasi", None),
    ("staf", None),
    ("kasi", "Paraf."),
    ("kepala", "Ditandatangani."),
    ("kasubag_tu", None),
    ("staf", None),
    ("pengelola", None),
    ("staf", None),
]


def pdf_text(data):
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def opened_pdf(page, click):
    """The PDF that `click` opens in Chromium's viewer (the laporan links serve it inline), as
    saving it from the viewer would give it: the bytes of the same address, with the same
    cookies."""
    click()
    expect(page).to_have_url(re.compile(r"\.pdf(\?|$)"))
    response = page.request.get(page.url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    return response.body()


def camera_photo(path):
    image = Image.new("RGB", (1600, 1200), "#7a9cc6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 700, 1400, 1100), fill="#4d3b2a")
    draw.ellipse((650, 150, 950, 450), fill="#f2d16b")
    image.save(path, "JPEG", quality=85)
    return path


def test_photo_at_the_event_ends_up_in_the_archived_laporan(person, users, sop1, tmp_path):
    run = workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title=TITLE,
        scheduled_on=timezone.localdate(),
        place="Aula Kelurahan Sukasari",
    )
    for number, (username, disposisi) in enumerate(BEFORE_THE_EVENT, start=1):
        if disposisi is None:
            workflow.complete_step(run_id=run.pk, number=number, user=users[username])
        else:
            workflow.approve_step(
                run_id=run.pk, number=number, user=users[username], instruction=disposisi
            )

    staf = person("staf")
    task = staf.locator(".list-group-item").filter(has_text=TITLE)
    expect(task).to_contain_text("Pelaksanaan Sosialisasi kepada masyarakat")
    task.get_by_role("link", name="Kerjakan").click()
    expect(staf.get_by_role("heading", name="Langkah 11 dari 15")).to_be_visible()
    staf.locator('input[type="file"][name="lampiran"]').set_input_files(
        camera_photo(tmp_path / PHOTO)
    )
    staf.get_by_label("Catatan").fill("Dihadiri 120 peserta.")
    staf.get_by_label("Jumlah peserta").fill("120")
    staf.get_by_role("button", name="Selesai", exact=True).click()
    # Made smaller in the browser and sent by the page's queue: the click does not wait.
    expect(staf.get_by_role("alert")).to_contain_text("Langkah 11 selesai.", timeout=30_000)
    expect(staf.locator("#langkah-11").get_by_role("img", name=PHOTO)).to_be_visible()

    take_step(staf, TITLE, 12, count=15)
    take_step(person("kasi"), TITLE, 13, count=15, disposisi="Laporan sudah dikoreksi.")
    take_step(person("kepala"), TITLE, 14, count=15, disposisi="Laporan diterima.")
    tu = person("pengelola")
    take_step(tu, TITLE, 15, count=15)
    expect(tu.get_by_role("alert")).to_contain_text("Kegiatan ini selesai.")

    thumbnail = tu.locator("#langkah-11").get_by_role("img", name=PHOTO)
    thumbnail.scroll_into_view_if_needed()
    expect(thumbnail).to_be_visible()
    tu.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    image = tu.request.get(thumbnail.get_attribute("src"))
    assert image.ok and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.body())).width < 1600

    tu.get_by_role("navigation").get_by_role("link", name="Arsip").click()
    expect(tu.get_by_role("heading", name="Arsip kegiatan")).to_be_visible()
    tu.get_by_label("Cari").fill("Empat Pilar")
    tu.get_by_role("button", name="Tampilkan").click()
    expect(tu).to_have_url(re.compile(r"/arsip/\?.*q=Empat\+Pilar"))
    rows = tu.locator("tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(TITLE)
    expect(row.get_by_text("Selesai", exact=True)).to_be_visible()

    data = opened_pdf(tu, row.get_by_role("link", name="PDF").click)
    assert data.startswith(b"%PDF")
    digest = hashlib.sha256(data).hexdigest()
    text = pdf_text(data)
    assert TITLE in text
    assert "5 hari 4 jam 45 menit" in text
    assert "NIP 19640606 198503 1 015" in text

    # The hash the archive shows is the hash of the very file handed out.
    tu.go_back()
    row.get_by_text("SHA-256").click()
    expect(row.locator("code")).to_have_text(digest)
    row.get_by_role("link", name=TITLE).click()
    expect(tu.locator("code").filter(has_text=re.compile("^[0-9a-f]{64}$"))).to_have_text(digest)

    today = timezone.localdate()
    tu.get_by_role("navigation").get_by_role("link", name="Arsip").click()
    tu.get_by_label("Dari tanggal").fill((today - datetime.timedelta(days=1)).isoformat())
    tu.get_by_label("Sampai tanggal").fill(today.isoformat())
    period = opened_pdf(tu, tu.get_by_role("button", name="Laporan arsip periode (PDF)").click)
    assert period.startswith(b"%PDF")
    assert TITLE in pdf_text(period)

    response = staf.goto("/arsip/")
    assert response.status == 403
    expect(staf.locator("body")).to_contain_text(re.compile(r"403|ditolak", re.IGNORECASE))
    expect(staf.get_by_role("heading", name="Arsip kegiatan")).to_have_count(0)
