"""A field day without a signal, on a phone: sopflow installed, a step's photos and its
completion queued in the browser, sent exactly once when the signal returns."""

import io
import re

import pdfplumber
from django.contrib.sessions.models import Session
from django.utils.timezone import localtime
from PIL import Image
from playwright.sync_api import expect

from activities.models import Attachment, Event, StepRun
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_phone import run_to
from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
STEP = 11  # SOP 1's sosialisasi itself: a day in a kelurahan hall, the staf's step
TAKEN = [
    "2026:05:14 09:41:07",
    "2026:05:14 10:02:30",
    "2026:05:14 10:47:00",
    "2026:05:14 11:15:59",
    "2026:05:14 13:05:12",
]


def camera_photo(taken, color):
    """A camera's JPEG: larger than the browser's 2,560 px, its time in EXIF DateTimeOriginal."""
    image = Image.new("RGB", (3264, 2448), color)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    data = io.BytesIO()
    image.save(data, "JPEG", exif=exif, quality=80)
    return data.getvalue()


def phone(browser, live_server):
    return browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
    )


def wait_for_worker(page):
    """Until the service worker controls the page (it claims its pages when it activates)."""
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")


def kept_pages(page):
    return page.evaluate(
        """async () => {
          const names = (await caches.keys()).filter((n) => n.startsWith("sopflow-halaman-"));
          if (!names.length) return [];
          const cache = await caches.open(names[0]);
          return (await cache.keys()).map((request) => new URL(request.url).pathname);
        }"""
    )


def queue_states(page):
    return page.evaluate(
        "async () => (await SopflowAntrean.all()).map((item) => [item.state, item.files.length])"
    )


def test_installable_on_a_phone_and_tugas_opens_offline(
    browser, live_server, login, users, sop1, tmp_path
):
    run = run_to(sop1, users, "Sosialisasi Wawasan Kebangsaan Kelurahan Sukasari", STEP - 1)
    # A profile of its own: Chromium never offers to install from an incognito context, which
    # is what every other test's context is.
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profil",
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        base_url=live_server.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
    )
    page = login(context.new_page(), "staf")
    page.goto("/tugas/")
    wait_for_worker(page)
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith("/manifest.webmanifest")

    # Tugas had the worker keep the open step's page; both open without a signal.
    step_path = f"/kegiatan/{run.pk}/langkah/{STEP}/"
    page.reload()
    page.wait_for_function(
        "async (path) => (await caches.keys()).length && "
        "(await caches.match(path, {ignoreVary: true})) !== undefined",
        arg=step_path,
    )
    assert {"/tugas/", step_path} <= set(kept_pages(page))
    context.set_offline(True)
    page.goto("/tugas/")
    expect(page.locator("#offline-banner")).to_have_text(
        re.compile(r"^offline — data dari \d\d\.\d\d$")
    )
    expect(page.get_by_role("link", name=run.title)).to_be_visible()
    page.goto(step_path)
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.get_by_role("button", name="Selesai")).to_be_visible()
    # A page never opened before says so, instead of the browser's error.
    page.goto("/arsip/")
    expect(page.get_by_role("heading", name="Tidak ada sinyal")).to_be_visible()
    context.close()


def test_a_field_day_without_signal(browser, live_server, login, users, sop1):
    run = run_to(sop1, users, "Sosialisasi Empat Pilar Kebangsaan Kelurahan Sukasari", STEP - 1)
    step_path = f"/kegiatan/{run.pk}/langkah/{STEP}/"
    context = phone(browser, live_server)
    page = login(context.new_page(), "staf")
    page.goto(step_path)
    wait_for_worker(page)
    page.reload()  # the worker keeps its copy of the step's form

    # In the kelurahan hall: no signal. The form opens from the worker's copy.
    context.set_offline(True)
    page.goto(step_path)
    expect(page.locator("#offline-banner")).to_be_visible()
    colors = ["#a33", "#3a3", "#33a", "#aa3", "#3aa"]
    page.locator("input[name=lampiran]").set_input_files(
        [
            {"name": f"IMG_{n:04d}.jpg", "mimeType": "image/jpeg", "buffer": camera_photo(t, c)}
            for n, (t, c) in enumerate(zip(TAKEN, colors, strict=True), start=1)
        ]
    )
    for box in page.locator("input[name=requirements]").all():
        box.check()
    page.get_by_label("Jumlah peserta").fill("60")
    page.locator("textarea[name=notes]").fill("Dihadiri 60 peserta; foto terlampir.")
    page.get_by_role("button", name="Selesai").click()
    expect(page.locator("[data-antrean-status]")).to_contain_text("Tersimpan di antrean")
    expect(page.locator("#antrean-badge")).to_contain_text("1")

    # The phone reloads the page, still offline: the queue is kept in the browser.
    page.reload()
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#antrean-langkah .antrean-item")).to_have_count(1)
    expect(page.locator("#antrean-langkah .antrean-status")).to_contain_text("menunggu")
    assert queue_states(page) == [["menunggu", 5]]
    sizes = page.evaluate(
        """async () => Promise.all((await SopflowAntrean.all())[0].files.map(async (file) => {
             const bitmap = await createImageBitmap(file.blob);
             return [Math.max(bitmap.width, bitmap.height), file.blob.type, file.takenAt];
           }))"""
    )
    assert sizes == [[2560, "image/jpeg", taken] for taken in TAKEN]
    assert StepRun.objects.get(run=run, step__number=STEP).state == StepRun.State.ACTIVE

    # Back in the car with a signal; the server answers 502 twice: the first time after it
    # had recorded the step (the answer is lost), the second time before.
    posts = []

    def flaky(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data_buffer)
        if len(posts) == 1:
            route.fetch()
            route.fulfill(status=502, body="Bad Gateway")
        elif len(posts) == 2:
            route.fulfill(status=502, body="Bad Gateway")
        else:
            route.continue_()

    context.route(re.compile(re.escape(step_path) + "$"), flaky)
    context.set_offline(False)
    expect(page.locator("#antrean-langkah .antrean-status")).to_contain_text(
        "terkirim", timeout=30_000
    )
    expect(page.locator("#antrean-badge")).to_be_hidden()
    assert len(posts) == 3

    closed = StepRun.objects.get(run=run, step__number=STEP)
    assert closed.state == StepRun.State.DONE and closed.client_id is not None
    assert [(v.key, v.display) for v in closed.values.all()] == [("jumlah_peserta", "60")]
    attachments = Attachment.objects.filter(step_run__run=run).order_by("taken_at")
    assert attachments.count() == 5
    assert [localtime(a.taken_at).strftime("%H.%M") for a in attachments] == [
        "09.41",
        "10.02",
        "10.47",
        "11.15",
        "13.05",
    ]
    completions = Event.objects.filter(run=run, step_run=closed, kind=Event.Kind.COMPLETED)
    assert completions.count() == 1
    assert Event.objects.filter(run=run, step_run=closed, kind=Event.Kind.ATTACHED).count() == 5

    # The laporan shows the five photos, each with the time it was taken.
    response = page.request.get(f"/kegiatan/{run.pk}/laporan.pdf")
    assert response.ok
    with pdfplumber.open(io.BytesIO(response.body())) as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
        images = sum(len(p.images) for p in pdf.pages)
    for stamp in ["09.41", "10.02", "10.47", "11.15", "13.05"]:
        assert f"difoto 14 Mei 2026 {stamp}" in text
    assert images >= 5
    context.close()


def test_the_session_ends_while_offline_and_the_queue_goes_out_after_logging_in(
    browser, live_server, login, users, sop1
):
    run = run_to(sop1, users, "Sosialisasi Bahaya Narkoba bagi Pelajar SMA", STEP - 1)
    step_path = f"/kegiatan/{run.pk}/langkah/{STEP}/"
    context = phone(browser, live_server)
    page = login(context.new_page(), "staf")
    page.goto(step_path)
    wait_for_worker(page)
    page.reload()
    context.set_offline(True)
    page.goto(step_path)
    page.locator("input[name=lampiran]").set_input_files(
        [
            {
                "name": f"IMG_{n}.jpg",
                "mimeType": "image/jpeg",
                "buffer": camera_photo(TAKEN[n], "#777"),
            }
            for n in range(3)
        ]
    )
    page.get_by_label("Jumlah peserta").fill("45")
    page.get_by_role("button", name="Selesai").click()
    expect(page.locator("[data-antrean-status]")).to_contain_text("Tersimpan di antrean")

    # A whole day offline: the server ended the session meanwhile.
    Session.objects.all().delete()
    context.set_offline(False)
    notice = page.locator("#antrean-masuk")
    expect(notice).to_be_visible(timeout=15_000)
    expect(notice).to_contain_text("Masuk lagi untuk mengirim 3 foto")
    assert queue_states(page) == [["menunggu", 3]]
    assert StepRun.objects.get(run=run, step__number=STEP).state == StepRun.State.ACTIVE

    notice.get_by_role("link", name="Masuk lagi").click()
    page.locator("#id_username").fill("staf")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(re.escape(step_path) + "$"))
    expect(page.locator("#antrean-langkah .antrean-status")).to_contain_text(
        "terkirim", timeout=15_000
    )
    expect(notice).to_be_hidden()
    closed = StepRun.objects.get(run=run, step__number=STEP)
    assert closed.state == StepRun.State.DONE
    assert Attachment.objects.filter(step_run=closed).count() == 3
    context.close()


def test_a_form_refused_while_online_shows_its_errors_and_leaves_nothing_queued(
    browser, live_server, login, users, sop1
):
    run = run_to(sop1, users, "Sosialisasi Pemilu Damai Kecamatan Karawaci", STEP - 1)
    context = phone(browser, live_server)
    page = login(context.new_page(), "staf")
    page.goto(f"/kegiatan/{run.pk}/langkah/{STEP}/")
    wait_for_worker(page)
    page.get_by_label("Jumlah peserta").fill("75")
    page.locator("input[name=completed_at]").fill("2099-01-01T10:00")
    page.get_by_role("button", name="Selesai").click()
    # The queue's send is refused (400); the form's own POST then shows why, on the field, in
    # the page that replaces this one (the queue may say it first, on the page it leaves).
    refusal = page.locator(".invalid-feedback", has_text="Waktu selesai tidak boleh di masa depan.")
    expect(refusal).to_be_visible(timeout=15_000)
    page.wait_for_load_state("load")
    assert queue_states(page) == []
    expect(page.locator("#antrean-badge")).to_be_hidden()
    assert StepRun.objects.get(run=run, step__number=STEP).state == StepRun.State.ACTIVE
    context.close()


def test_a_form_sent_while_the_queue_is_busy_still_takes_the_page_to_the_run(
    browser, live_server, login, users, sop1
):
    """The page's own first flush (or the worker) may hold the queue when the form is sent: the
    form's item waits its turn and the page follows the answer, as it does on a free queue."""
    run = run_to(sop1, users, "Sosialisasi Pemilu Damai Kecamatan Cibodas", STEP - 1)
    context = phone(browser, live_server)
    page = login(context.new_page(), "staf")
    page.goto(f"/kegiatan/{run.pk}/langkah/{STEP}/")
    wait_for_worker(page)
    page.evaluate(
        """() => new Promise((held) => navigator.locks.request("sopflow-antrean",
             () => new Promise((release) => { window.releaseQueue = release; held(); })))"""
    )
    page.get_by_label("Jumlah peserta").fill("75")
    page.get_by_role("button", name="Selesai").click()
    page.wait_for_timeout(1_000)
    assert StepRun.objects.get(run=run, step__number=STEP).state == StepRun.State.ACTIVE
    page.evaluate("() => window.releaseQueue()")
    expect(page).to_have_url(re.compile(rf"/kegiatan/{run.pk}/$"), timeout=15_000)
    expect(page.get_by_role("alert")).to_contain_text(f"Langkah {STEP} selesai.")
    assert StepRun.objects.filter(run=run, step__number=STEP, state=StepRun.State.DONE).count() == 1
    context.close()
