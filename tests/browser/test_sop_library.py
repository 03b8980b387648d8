import io
import re
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader

SOP1 = "Mekanisme Pelaksanaan Kegiatan Sosialisasi Kepada Masyarakat"
SOP2 = "Penyebaran Informasi melalui Mobil Wawaran Keliling"


def test_kasi_reads_and_downloads_the_sop_of_his_unit(page, login, sop1):
    login(page, "kasi")

    page.get_by_role("navigation").get_by_role("link", name="SOP", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sop/$"))
    expect(page.get_by_role("link", name=SOP1)).to_be_visible()
    expect(page.get_by_text(SOP2)).to_have_count(0)

    page.get_by_role("link", name=SOP1).click()
    expect(page).to_have_url(re.compile(rf"/sop/{sop1.pk}/$"))
    expect(page.get_by_text("5 hari 4 jam 45 menit").first).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"\bPDF\b")).first.click()
    data = Path(download_info.value.path()).read_bytes()

    assert data.startswith(b"%PDF")
    text = " ".join(
        " ".join(pdf_page.extract_text().split()) for pdf_page in PdfReader(io.BytesIO(data)).pages
    )
    assert SOP1 in text
    assert "5 hari 4 jam 45 menit" in text
