"""SOP authoring in a browser: the editor shows every error at once, and the pengesahan story
(draft → submit → returned with a note → fixed → approved) while a run stays on its version."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from activities.models import Run, Sop
from tests.test_workflow import open_run

SOP1 = "Mekanisme Pelaksanaan Kegiatan Sosialisasi Kepada Masyarakat"


def _revise(page, sop1):
    page.goto(f"/sop/{sop1.pk}/")
    page.get_by_role("button", name="Buat revisi").click()
    expect(page).to_have_url(re.compile(r"/sop/\d+/ubah/$"))
    return Sop.objects.get(name=SOP1, version=2)


def test_the_editor_shows_every_error_at_once_on_its_cell(person, sop1):
    page = person("kasubag_tu")
    _revise(page, sop1)
    page.locator("#id_steps-2-standard_text").fill("lima menit")
    page.locator("#id_steps-3-roles input:checked, [name='steps-3-roles']:checked").first.uncheck()
    page.locator("#id_steps-5-return_number").fill("")
    page.get_by_role("button", name="Simpan draf").click()
    expect(page.locator("#editor-errors")).to_contain_text("3 sel ditandai merah")
    expect(page.locator("tr[data-row='2'] [data-cell='standard']")).to_contain_text(
        "bukan waktu yang dikenali"
    )
    expect(page.locator("tr[data-row='3'] [data-cell='roles']")).to_contain_text(
        "belum memiliki pelaksana"
    )
    expect(page.locator("tr[data-row='5'] [data-cell='kind']")).to_contain_text(
        "tujuan pengembalian"
    )
    # The preview is drawn from the refused input too.
    expect(page.locator("#sop-preview [data-symbol='decision']").first).to_be_visible()


def test_pengesahan_story(person, users, sop1):
    earlier = open_run(sop1, users["kasi"])
    author = person("kasubag_tu")
    revision = _revise(author, sop1)
    author.locator("#id_steps-2-standard_text").fill("20 menit")
    # The matrix follows the table as it is edited.
    with author.expect_response(re.compile(r"/pratinjau/$")):
        author.locator("#id_steps-2-output").fill("Notulen rapat persiapan")
    expect(author.locator("#sop-preview")).to_contain_text("Notulen rapat persiapan")
    author.get_by_role("button", name="Simpan draf").click()
    expect(author.get_by_text("Draf disimpan.")).to_be_visible()
    author.get_by_role("button", name="Ajukan pengesahan").click()
    expect(author.get_by_text("SOP diajukan untuk disahkan")).to_be_visible()

    kepala = person("kepala")
    kepala.goto("/tugas/")
    kepala.locator("#pending-sops").get_by_role("link", name="Periksa dan sahkan").click()
    expect(kepala.locator("#sop-diff")).to_contain_text("Notulen rapat persiapan")
    expect(kepala.locator("#sop-diff")).to_contain_text("20 menit")
    kepala.locator("#id_notes").fill("Waktu langkah 3 cukup 25 menit.")
    kepala.get_by_role("button", name="Kembalikan ke penyusun").click()
    expect(kepala.get_by_text("dikembalikan kepada penyusun")).to_be_visible()

    author.goto(f"/sop/{revision.pk}/ubah/")
    expect(author.locator("#return-notes")).to_contain_text("Waktu langkah 3 cukup 25 menit.")
    author.locator("#id_steps-2-standard_text").fill("25 menit")
    author.get_by_role("button", name="Simpan draf").click()
    expect(author.get_by_text("Draf disimpan.")).to_be_visible()
    author.get_by_role("button", name="Ajukan pengesahan").click()

    kepala.goto(f"/sop/{revision.pk}/pengesahan/")
    kepala.get_by_role("button", name="Sahkan").click()
    expect(kepala.get_by_text("SOP disahkan")).to_be_visible()
    expect(kepala.get_by_text("Berlaku").first).to_be_visible()

    revision.refresh_from_db()
    sop1.refresh_from_db()
    assert (revision.status, sop1.status) == (Sop.Status.ACTIVE, Sop.Status.RETIRED)
    assert Run.objects.get(pk=earlier.pk).sop == sop1

    kasi = person("kasi")
    kasi.goto(f"/kegiatan/{earlier.pk}/")
    expect(kasi.get_by_text("Versi 1").or_(kasi.get_by_text("versi 1")).first).to_be_visible()
    kasi.goto(f"/sop/{revision.pk}/")
    kasi.get_by_role("link", name="Buka kegiatan baru").first.click()
    expect(kasi).to_have_url(re.compile(rf"/kegiatan/baru/\?sop={revision.pk}$"))


def test_a_new_sop_from_the_xlsx_template_to_a_first_kegiatan(person, tmp_path):
    import io
    from pathlib import Path

    import openpyxl

    author = person("kasubag_tu")
    author.goto("/sop/")
    author.get_by_role("link", name="Impor SOP").click()
    with author.expect_download() as download:
        author.get_by_role("link", name=re.compile(r"template\.xlsx")).click()
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    identity = workbook["Identitas"]
    identity["B2"] = "Pelayanan Surat Rekomendasi Ormas"
    identity["B3"] = "010/ORMAS/2026"
    steps = workbook["Langkah"]
    for row in [
        [
            1,
            "Menerima permohonan rekomendasi",
            "Kasi",
            "Mulai",
            None,
            "Formulir",
            "15 menit",
            "Berkas",
        ],
        [2, "Memeriksa kelengkapan berkas", "", "Proses", None, "Berkas", "30 menit", "Catatan"],
        [3, "Menyusun konsep rekomendasi", "Staf seksi", "Proses", None, "Catatan", "30", "Konsep"],
        [4, "Menandatangani rekomendasi", "Kepala", "Keputusan", 3, "Konsep", "10 menit", "Surat"],
        [5, "Penomoran dan stempel", "Kasubag TU", "Proses", None, "Surat", "10 menit", "Nomor"],
        [6, "Menyerahkan rekomendasi", "Kasi", "Selesai", None, "Surat", "1 hari", "Tanda terima"],
    ]:
        steps.append(row)
    filled = tmp_path / "sop-ormas.xlsx"
    workbook.save(filled)

    author.locator("#id_file").set_input_files(str(filled))
    author.get_by_role("button", name="Impor sebagai draf").click()
    expect(author).to_have_url(re.compile(r"/sop/\d+/ubah/$"))
    expect(author.get_by_text("2 isian ditandai untuk diperiksa")).to_be_visible()
    expect(author.locator(".is-noted-cell")).to_have_count(2)
    author.locator("tr[data-row='1'] [data-cell='roles']").get_by_label("Staf seksi").check()
    author.locator("#id_steps-2-standard_text").fill("30 menit")
    expect(author.locator("#sop-preview")).to_contain_text("Menandatangani rekomendasi")
    author.get_by_role("button", name="Simpan draf").click()
    expect(author.get_by_text("Draf disimpan.")).to_be_visible()
    expect(author.locator(".is-noted-cell")).to_have_count(0)
    author.get_by_role("button", name="Ajukan pengesahan").click()
    expect(author.get_by_text("SOP diajukan untuk disahkan")).to_be_visible()

    kepala = person("kepala")
    kepala.goto("/tugas/")
    kepala.locator("#pending-sops").get_by_role("link", name="Periksa dan sahkan").click()
    expect(kepala.locator("#sop-diff")).to_contain_text("SOP baru")
    kepala.get_by_role("button", name="Sahkan").click()
    expect(kepala.get_by_text("SOP disahkan")).to_be_visible()

    sop = Sop.objects.get(name="Pelayanan Surat Rekomendasi Ormas")
    assert (
        sop.status == Sop.Status.ACTIVE and sop.standard_total_display() == "1 hari 1 jam 35 menit"
    )
    kasi = person("kasi")
    kasi.goto(f"/kegiatan/baru/?sop={sop.pk}")
    kasi.get_by_label("Judul kegiatan").fill("Rekomendasi Ormas Karya Muda")
    kasi.get_by_label("Tanggal pelaksanaan").fill(timezone.localdate().isoformat())
    kasi.get_by_label("Tempat").fill("Kantor Kesbangpol")
    kasi.get_by_role("button", name="Buka kegiatan", exact=True).click()
    expect(kasi).to_have_url(re.compile(r"/kegiatan/\d+/$"))
    assert Run.objects.get(title="Rekomendasi Ormas Karya Muda").sop == sop


def test_a_row_ticked_before_the_editor_script_arrives_still_drops_out(person, sop1):
    page = person("kasubag_tu")
    held = []
    page.route("**/js/sop-editor*.js", lambda route: held.append(route))
    _revise(page, sop1)
    numbers = page.locator("#step-table tbody [name$='-number']")
    expect(numbers.nth(3)).to_have_value("4")
    page.locator("#id_steps-2-DELETE").check()
    for _ in range(100):  # the script is asked for, and held
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    expect(numbers.nth(3)).to_have_value("4")
    held[0].continue_()
    expect(numbers.nth(2)).to_have_value("")
    expect(numbers.nth(3)).to_have_value("3")


def test_the_editor_renumbers_as_rows_are_ticked_and_adds_above_selesai(person, sop1):
    page = person("kasubag_tu")
    _revise(page, sop1)
    rows = page.locator("#step-table tbody tr[data-row]")
    numbers = page.locator("#step-table tbody [name$='-number']")
    count = rows.count()
    expect(numbers.nth(3)).to_have_value("4")
    page.locator("#id_steps-2-DELETE").check()
    expect(numbers.nth(2)).to_have_value("")
    expect(numbers.nth(3)).to_have_value("3")
    expect(numbers.nth(count - 1)).to_have_value(str(count - 1))
    page.locator("#id_steps-2-DELETE").uncheck()
    expect(numbers.nth(2)).to_have_value("3")
    expect(numbers.nth(3)).to_have_value("4")

    page.get_by_role("button", name="Tambah langkah").click()
    expect(rows).to_have_count(count + 1)
    expect(page.locator(f"#id_steps-{count}-kind")).to_have_value("end")
    expect(page.locator(f"#id_steps-{count - 1}-kind")).to_have_value("process")
    expect(page.locator(f"#id_steps-{count - 1}-activity")).to_have_value("")
    expect(numbers.nth(count)).to_have_value(str(count + 1))
