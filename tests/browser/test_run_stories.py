"""The stories of running a kegiatan, clicked through as the people in the offices would.

Each person logs in through the login form in a browser context of his own, finds his step in
the inbox (/tugas/) and records or decides it on the step page.
"""

import datetime
import io
import re

from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from activities.models import Run

SOP1 = "Mekanisme Pelaksanaan Kegiatan Sosialisasi Kepada Masyarakat"
SOP2 = "Penyebaran Informasi melalui Mobil Wawaran Keliling"
RUN_URL = re.compile(r"/kegiatan/(\d+)/$")
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]


def open_run(page, *, title, date=None, place="Aula Kecamatan Cipondoh", notes=""):
    """On the "Buka kegiatan baru" form: fill it, submit, and return the new run's id."""
    expect(page.get_by_role("heading", name="Buka kegiatan baru")).to_be_visible()
    page.get_by_label("Judul kegiatan").fill(title)
    page.get_by_label("Tanggal pelaksanaan").fill((date or timezone.localdate()).isoformat())
    page.get_by_label("Tempat").fill(place)
    page.get_by_label("Catatan").fill(notes)
    page.get_by_role("button", name="Buka kegiatan", exact=True).click()
    expect(page).to_have_url(RUN_URL)
    expect(page.get_by_role("alert")).to_contain_text(f"Kegiatan “{title}” dibuka.")
    return int(RUN_URL.search(page.url).group(1))


def inbox_task(page, title, number):
    """The row of step `number` of the run titled `title` in the user's inbox."""
    page.get_by_role("navigation").get_by_role("link", name=re.compile(r"^Tugas")).click()
    expect(page.get_by_role("heading", name="Tugas saya")).to_be_visible()
    return (
        page.locator(".list-group-item")
        .filter(has_text=title)
        .filter(has=page.get_by_text(f"{number}.", exact=True))
    )


def take_step(page, title, number, *, count, disposisi=None, fill=None):
    """Open step `number` from the inbox and complete it, or approve it with `disposisi`;
    `fill` gives the step data to enter first ({label: value})."""
    task = inbox_task(page, title, number)
    expect(task).to_have_count(1)
    task.get_by_role("link", name="Kerjakan").click()
    expect(page.get_by_role("heading", name=f"Langkah {number} dari {count}")).to_be_visible()
    for label, value in (fill or {}).items():
        page.get_by_label(label).fill(value)
    if disposisi is None:
        page.get_by_role("button", name="Selesai", exact=True).click()
    else:
        page.get_by_label("Isi disposisi").fill(disposisi)
        page.get_by_role("button", name="Setujui", exact=True).click()
    # The form is sent by the page's queue (fetch), so the click does not wait for the answer
    # as it waits for a form's own navigation; the last step archives the laporan meanwhile.
    expect(page).to_have_url(RUN_URL, timeout=30_000)
    expect(page.get_by_role("alert")).to_contain_text(f"Langkah {number} selesai.")


def return_step(page, title, number, *, to, count, reason):
    """Open approval step `number` from the inbox and return it, first forgetting the reason."""
    task = inbox_task(page, title, number)
    expect(task).to_have_count(1)
    task.get_by_role("link", name="Kerjakan").click()
    expect(page.get_by_role("heading", name=f"Langkah {number} dari {count}")).to_be_visible()
    back = page.get_by_role("button", name=f"Kembalikan ke langkah {to}")

    back.click()
    expect(page.get_by_text("Alasan pengembalian wajib diisi.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Langkah {number} dari {count}")).to_be_visible()

    page.get_by_label("Alasan pengembalian").fill(reason)
    back.click()
    expect(page).to_have_url(RUN_URL)
    expect(page.get_by_role("alert")).to_contain_text(
        f"Langkah {number} dikembalikan. Langkah {to}"
    )


def expect_finished(page, *, standards, total):
    """The run page of a finished run: its status, each step's actual time against its
    standard, and the SOP's total."""
    page.reload()
    expect(page.locator(".card-body h1 + .badge")).to_have_text("Selesai")
    expect(page.get_by_role("link", name=re.compile(r"^Kerjakan"))).to_have_count(0)
    expect(page.get_by_role("heading", name="Batalkan kegiatan")).to_have_count(0)
    totals = page.locator(".card").filter(has_text="Jumlah waktu")
    expect(totals).to_contain_text(re.compile(rf"Standar SOP\s*{total}"))
    expect(totals).to_contain_text(re.compile(r"Aktual \(jam kerja\)\s*\d"))
    expect(totals).to_contain_text(f"dari {len(standards)} langkah selesai")
    for number, standard in enumerate(standards, start=1):
        step = page.locator(f"#langkah-{number}")
        # Standards are shown as the document writes them: "60 Menit", "60 menit", "10\tMenit".
        standard = standard.replace(" ", r"\s+")
        expect(step).to_contain_text(
            re.compile(rf"\bjam kerja \(standar {standard}\)", re.IGNORECASE)
        )
        expect(step.locator(".badge-ontime, .badge-late").first).to_be_visible()


def test_kasi_opens_a_socialisation_event_from_the_sop_library(page, login, sop1):
    login(page, "kasi")
    page.get_by_role("navigation").get_by_role("link", name="SOP", exact=True).click()
    row = page.get_by_role("row").filter(has_text=SOP1)
    row.get_by_role("link", name="Buka kegiatan baru").click()
    event_day = timezone.localdate() + datetime.timedelta(days=10)

    run_id = open_run(
        page,
        title="Sosialisasi Wawasan Kebangsaan Kecamatan Cipondoh",
        date=event_day,
        place="Aula Kecamatan Cipondoh",
        notes="Peserta 100 orang dari 10 kelurahan",
    )

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Sosialisasi Wawasan Kebangsaan Kecamatan Cipondoh"
    )
    expect(page.locator(".card-body h1 + .badge")).to_have_text("Berjalan")
    header = page.locator(".card").first
    expect(header).to_contain_text(
        f"{DAYS[event_day.weekday()]}, {event_day.day} {MONTHS[event_day.month - 1]} {event_day.year}"
    )
    expect(header).to_contain_text("Aula Kecamatan Cipondoh")
    expect(header).to_contain_text("Peserta 100 orang dari 10 kelurahan")
    expect(header).to_contain_text(re.compile(r"Dibuka oleh\s*Budi Santoso"))
    first = page.locator("#langkah-1")
    expect(first).to_have_class(re.compile(r"\bborder-primary\b"))
    expect(first.locator(".badge").first).to_have_text("Aktif")
    expect(page.locator("#langkah-2 .badge").first).to_have_text("Menunggu")
    expect(page.get_by_role("link", name="Kerjakan langkah 1")).to_be_visible()

    run = Run.objects.get(pk=run_id)
    assert (run.sop_id, run.status, run.place) == (sop1.pk, "running", "Aula Kecamatan Cipondoh")


def test_sop1_socialisation_event_runs_from_nota_dinas_to_archive(person, sop1):
    title = "Sosialisasi Pencegahan Radikalisme"
    kasi, kepala, staf = person("kasi"), person("kepala"), person("staf")
    kasi.get_by_role("navigation").get_by_role("link", name="Kegiatan", exact=True).click()
    kasi.get_by_role("link", name=f"Buka kegiatan baru: {SOP1[:20]}").click()
    run_id = open_run(kasi, title=title, notes="Narasumber dari Polres")

    take_step(kasi, title, 1, count=15)
    expect(kasi.get_by_text("Menunggu langkah 2: Kepala.")).to_be_visible()

    # Staf holds no role of step 2: the page is refused, not offered.
    response = staf.goto(f"/kegiatan/{run_id}/langkah/2/")
    assert response.status == 403
    expect(staf.locator("body")).to_contain_text(re.compile(r"403|ditolak", re.IGNORECASE))
    expect(staf.get_by_role("button", name="Setujui")).to_have_count(0)
    staf.go_back()
    expect(inbox_task(staf, title, 2)).to_have_count(0)

    expect(inbox_task(kepala, title, 2)).to_contain_text("Rekomendasi dari Kepala kantor")
    return_step(
        kepala, title, 2, to=1, count=15, reason="Lengkapi daftar personil dan anggaran DPA."
    )
    expect(kepala.locator("#langkah-2")).to_contain_text("Dikembalikan")

    redo = inbox_task(kasi, title, 1)
    expect(redo).to_contain_text("putaran 2")
    redo.get_by_role("link", name="Kerjakan").click()
    expect(kasi.get_by_text("Lengkapi daftar personil dan anggaran DPA.")).to_be_visible()
    kasi.get_by_label("Catatan").fill("Daftar personil dan DPA dilampirkan.")
    kasi.get_by_role("button", name="Selesai", exact=True).click()
    expect(kasi.get_by_role("alert")).to_contain_text("Langkah 1 selesai.")

    take_step(kepala, title, 2, count=15, disposisi="Setuju, laksanakan pada minggu pertama.")
    steps = [
        ("kasi", None),
        ("staf", None),
        ("kasi", "Paraf: jadwal dan undangan sudah benar."),
        ("kepala", "Ditandatangani."),
        ("kasubag_tu", None),
        ("staf", None),
        ("pengelola", None),
        ("staf", None),
        ("kasi", None),
        ("staf", None),
        ("kasi", "Laporan sudah dikoreksi."),
        ("kepala", "Laporan diterima."),
        ("pengelola", None),
    ]
    for number, (username, disposisi) in enumerate(steps, start=3):
        fill = {"Jumlah peserta": "85"} if number == 11 else None
        take_step(person(username), title, number, count=15, disposisi=disposisi, fill=fill)

    tu = person("pengelola")
    expect(tu.get_by_role("alert")).to_contain_text("Langkah 15 selesai. Kegiatan ini selesai.")
    expect_finished(
        tu,
        standards=[
            "15 Menit",
            "15 Menit",
            "30 Menit",
            "60 Menit",
            "10 Menit",
            "10 Menit",
            "10 Menit",
            "1 hari",
            "1 hari",
            "30 Menit",
            "1 hari",
            "2 hari",
            "30 Menit",
            "15 Menit",
            "60 Menit",
        ],
        total="5 hari 4 jam 45 menit",
    )
    expect(tu.locator("#langkah-1")).to_contain_text("2 putaran")
    second = tu.locator("#langkah-2")
    expect(second).to_contain_text("2 putaran")
    expect(second).to_contain_text("Lengkapi daftar personil dan anggaran DPA.")
    expect(second).to_contain_text("Setuju, laksanakan pada minggu pertama.")
    expect(tu.locator("#langkah-6")).to_contain_text("Ditandatangani.")
    assert Run.objects.get(pk=run_id).status == Run.Status.FINISHED


def test_sop2_mobil_wawaran_runs_with_a_return_from_kabid(person, sop2):
    title = "Wawaran Keliling Pencegahan DBD Kecamatan Karawaci"
    count = 9
    subkor = person("subkor")
    subkor.get_by_role("navigation").get_by_role("link", name="Kegiatan", exact=True).click()
    subkor.get_by_role("link", name=f"Buka kegiatan baru: {SOP2[:20]}").click()
    open_run(subkor, title=title, place="Kecamatan Karawaci", notes="Rute: 7 kelurahan")

    take_step(subkor, title, 1, count=count)
    take_step(subkor, title, 2, count=count)
    take_step(person("kabid"), title, 3, count=count, disposisi="Naskah disetujui.")
    take_step(person("tim"), title, 4, count=count)
    return_step(
        person("kabid"),
        title,
        5,
        to=4,
        count=count,
        reason="Rute belum mencakup Kelurahan Nusa Jaya.",
    )
    expect(inbox_task(person("tim"), title, 4)).to_contain_text("putaran 2")
    take_step(person("tim"), title, 4, count=count)
    take_step(person("kabid"), title, 5, count=count, disposisi="Rute disetujui, berangkat.")
    take_step(person("supir"), title, 6, count=count)
    # Step 7 is done by the Tim and the Kernet/Supir together: each signs off his part.
    tim = person("tim")
    task = inbox_task(tim, title, 7)
    task.get_by_role("link", name="Kerjakan").click()
    tim.get_by_label("Catatan").fill("Informasi DBD disampaikan di 7 kelurahan.")
    tim.get_by_role("button", name="Selesai", exact=True).click()
    expect(tim.get_by_role("alert")).to_contain_text(
        "Bagian Anda pada langkah 7 tercatat. Menunggu Kernet/Supir."
    )
    expect(tim.locator("#langkah-7")).to_contain_text("menunggu Kernet/Supir")
    supir = person("supir")
    inbox_task(supir, title, 7).get_by_role("link", name="Kerjakan").click()
    expect(supir.locator(".sign-off")).to_contain_text("Fajar Nugroho (Tim)")
    supir.get_by_label("Catatan").fill("Mobil wawaran menempuh rute Karawaci.")
    supir.get_by_role("button", name="Selesai", exact=True).click()
    expect(supir.get_by_role("alert")).to_contain_text("Langkah 7 selesai.")
    parts = supir.locator("#langkah-7 .sign-off")
    expect(parts).to_have_count(2)
    expect(parts.nth(0)).to_contain_text("Fajar Nugroho (Tim)")
    expect(parts.nth(1)).to_contain_text("Ujang Suherman (Kernet/Supir)")
    # The (draft) laporan lists both performers of step 7 with their times, named as its
    # rows name people: with the gelar of their person records.
    run_id = int(RUN_URL.search(supir.url).group(1))
    report = supir.request.get(f"/kegiatan/{run_id}/laporan.pdf")
    assert report.ok
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(report.body())).pages
    )
    assert re.search(r"Pelaksana bersama Fajar Nugroho, S\.Kom\. \(Tim\): .+? \d\d\.\d\d", text), (
        text
    )
    assert re.search(r"Ujang Suherman \(Kernet/Supir\): .+? \d\d\.\d\d", text), text
    take_step(person("tim"), title, 8, count=count)
    kabid = person("kabid")
    take_step(kabid, title, 9, count=count)

    expect(kabid.get_by_role("alert")).to_contain_text("Kegiatan ini selesai.")
    expect_finished(
        kabid,
        standards=[
            "20 Menit",
            "10 Menit",
            "5 Menit",
            "5 Menit",
            "5 Menit",
            "5 Menit",
            "120 Menit",
            "10 Menit",
            "5 Menit",
        ],
        total="3 jam 5 menit",
    )
    expect(kabid.locator("#langkah-4")).to_contain_text("2 putaran")
    expect(kabid.locator("#langkah-5")).to_contain_text("Rute belum mencakup Kelurahan Nusa Jaya.")


def test_kasi_cancels_a_running_event_with_a_reason(page, login, sop1):
    title = "Sosialisasi yang tertunda"
    login(page, "kasi")
    page.goto(f"/kegiatan/baru/?sop={sop1.pk}")
    run_id = open_run(page, title=title)
    cancel = page.get_by_role("button", name="Batalkan kegiatan")
    reason = page.get_by_label("Alasan pembatalan")

    cancel.click()
    # Without a reason the browser refuses to send the form; the run stays as it was.
    assert reason.evaluate("field => field.validity.valueMissing")
    expect(page.locator(".card-body h1 + .badge")).to_have_text("Berjalan")

    # Spaces pass the browser, not the server.
    reason.fill("   ")
    cancel.click()
    expect(page.get_by_role("alert")).to_have_text("Alasan pembatalan wajib diisi.")
    expect(page.locator(".card-body h1 + .badge")).to_have_text("Berjalan")

    reason.fill("Narasumber berhalangan hadir.")
    cancel.click()
    expect(page.get_by_role("alert")).to_contain_text(f"Kegiatan “{title}” dibatalkan.")
    expect(page.locator(".card-body h1 + .badge")).to_have_text("Dibatalkan")
    expect(page.locator(".card").first).to_contain_text("Narasumber berhalangan hadir.")
    expect(page.get_by_role("link", name=re.compile(r"^Kerjakan"))).to_have_count(0)
    expect(page.get_by_role("button", name="Batalkan kegiatan")).to_have_count(0)

    response = page.goto(f"/kegiatan/{run_id}/langkah/1/")
    assert response.status == 200
    expect(page.get_by_role("status")).to_have_text(
        "Kegiatan ini dibatalkan; langkahnya hanya dapat dilihat."
    )
    expect(page.get_by_role("button", name="Selesai", exact=True)).to_have_count(0)
