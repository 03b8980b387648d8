"""The run pages on a phone: nothing may be wider than the screen (no sideways scrolling)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from activities.core import uploads, workflow

PHONE = {"width": 390, "height": 844}
# The elements that stick out past the right edge of the screen, to name them in a failure.
WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`);
}"""
APPROVERS = {2: "kepala", 5: "kasi", 6: "kepala", 13: "kasi", 14: "kepala"}
DOERS = {1: "kasi", 3: "kasi", 4: "staf", 7: "kasubag_tu", 9: "pengelola", 15: "pengelola"}


def photo():
    data = io.BytesIO()
    Image.new("RGB", (1600, 1200), "#7a9cc6").save(data, "JPEG")
    return SimpleUploadedFile("foto-kegiatan-di-aula-kelurahan.jpg", data.getvalue())


def run_to(sop, users, title, last_step):
    """A run of SOP 1 with steps 1..last_step recorded (step 11 with a photo)."""
    run = workflow.open_run(
        sop=sop,
        user=users["kasi"],
        title=title,
        scheduled_on=timezone.localdate(),
        place="Aula Kelurahan Sukasari, Jl. Raya Sukasari No. 12",
        notes="Peserta: ketua RT/RW, tokoh agama, tokoh pemuda dan karang taruna se-kelurahan.",
    )
    for number in range(1, last_step + 1):
        if number in APPROVERS:
            workflow.approve_step(
                run_id=run.pk,
                number=number,
                user=users[APPROVERS[number]],
                instruction="Setuju, lanjutkan sesuai jadwal.",
            )
        else:
            attachments = uploads.validate_uploads([photo()]) if number == 11 else ()
            workflow.complete_step(
                run_id=run.pk,
                number=number,
                user=users[DOERS.get(number, "staf")],
                notes="Sudah dikerjakan.",
                attachments=attachments,
            )
    return run


def test_run_pages_fit_a_phone_screen(person, users, sop1):
    finished = run_to(sop1, users, "Sosialisasi Empat Pilar Kebangsaan Kelurahan Sukasari", 15)
    waiting_for_kepala = run_to(sop1, users, "Sosialisasi Bahaya Narkoba bagi Pelajar SMA", 1)
    new = run_to(sop1, users, "Sosialisasi Pemilu Damai Kecamatan Karawaci", 0)
    # (who, page, a button or link the page must offer there)
    pages = [
        ("kepala", "/tugas/", "Kerjakan"),
        ("kepala", "/kegiatan/", "Sosialisasi Bahaya Narkoba bagi Pelajar SMA"),
        ("kepala", f"/kegiatan/{finished.pk}/", "Laporan final (PDF)"),
        ("kepala", f"/kegiatan/{waiting_for_kepala.pk}/", "Kerjakan langkah 2"),
        ("kepala", f"/kegiatan/{waiting_for_kepala.pk}/langkah/2/", "Kembalikan ke langkah 1"),
        ("kepala", "/arsip/", "Laporan arsip periode (PDF)"),
        ("kasi", f"/kegiatan/{new.pk}/langkah/1/", "Selesai"),
        ("kasi", f"/kegiatan/{finished.pk}/langkah/11/", "foto-kegiatan-di-aula-kelurahan.jpg"),
        ("kasi", f"/kegiatan/baru/?sop={sop1.pk}", "Buka kegiatan"),
        ("kasi", f"/kegiatan/{new.pk}/", "Batalkan kegiatan"),
    ]
    too_wide = {}
    for username, path, control in pages:
        page = person(username)
        page.set_viewport_size(PHONE)
        assert page.goto(path).ok, path
        main = page.get_by_role("main")
        offered = main.get_by_role("button", name=control).or_(
            main.get_by_role("link", name=control)
        )
        expect(offered.first).to_be_attached()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"] + 1:
            too_wide[path] = (width, page.evaluate(WIDER_THAN_SCREEN))

    assert not too_wide, f"wider than a {PHONE['width']} px phone: {too_wide}"
