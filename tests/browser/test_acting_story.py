"""The Kepala goes on leave for a week: he appoints the Kasubag TU as Plh. Kepala at /delegasi/;
the Plh. finds the Kepala's disposisi in his inbox, approves it, and the archived laporan prints
him as "Plh. Kepala Kantor …" with his NIP. After the week he can no longer act."""

import datetime
import io
import re

import time_machine
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from activities.core import workflow
from activities.models import Run
from tests.browser.test_run_stories import inbox_task

RUN_URL = re.compile(r"/kegiatan/\d+/$")


def at_step_two(sop1, users, title):
    run = workflow.open_run(
        sop=sop1, user=users["kasi"], title=title, scheduled_on=timezone.localdate(), place="Aula"
    )
    workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])
    return run


def finish(run, users):
    for step in run.sop.steps.order_by("number").filter(number__gt=2):
        if step.is_approval:
            workflow.approve_step(
                run_id=run.pk, number=step.number, user=users["admin"], instruction="Lanjut"
            )
        else:
            workflow.complete_step(run_id=run.pk, number=step.number, user=users["admin"])


def pdf_text(data):
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join((page.extract_text() or "").split()) for page in pages)


def test_a_plh_kepala_approves_and_signs_while_the_kepala_is_away(
    person, users, sop1, login, browser, live_server
):
    today = timezone.localdate()
    last_day = today + datetime.timedelta(days=6)
    title = "Sosialisasi wawasan kebangsaan"
    run = at_step_two(sop1, users, title)

    # The Kepala appoints the Kasubag TU as Plh. Kepala for the week of his leave.
    kepala = person("kepala")
    kepala.get_by_role("navigation").get_by_role("link", name="Plt./Plh.").click()
    expect(kepala.get_by_role("heading", name=re.compile("pelaksana harian"))).to_be_visible()
    kepala.get_by_label("Jabatan yang dilaksanakan").select_option(label="Kepala (Kesbangpol)")
    kepala.get_by_label("Sebagai").select_option(label="Plh.")
    kepala.get_by_label("Pegawai yang ditunjuk").select_option(
        label="Siti Rahmawati, S.E. — NIP 19750211 200003 2 002"
    )
    kepala.get_by_label("Mulai").fill(today.isoformat())
    kepala.get_by_label("Sampai").fill(last_day.isoformat())
    kepala.get_by_label("Nomor surat perintah").fill("800/045/Kesbangpol/2026")
    kepala.get_by_label("Tanggal surat perintah").fill(today.isoformat())
    kepala.get_by_label("Alasan").fill("Cuti tahunan")
    kepala.get_by_role("button", name="Simpan penunjukan").click()
    expect(kepala.get_by_role("alert")).to_contain_text("ditunjuk sebagai Plh. Kepala")
    expect(kepala.locator("#appointments")).to_contain_text("berlaku")

    # The Plh. finds the Kepala's disposisi in his inbox and approves it.
    tu = person("kasubag_tu")
    task = inbox_task(tu, title, 2)
    expect(task).to_have_count(1)
    task.get_by_role("link", name="Kerjakan").click()
    expect(tu.get_by_role("alert").first).to_contain_text("Anda bertindak sebagai Plh. Kepala")
    tu.get_by_label("Isi disposisi").fill("Laksanakan sesuai jadwal.")
    tu.get_by_role("button", name="Setujui", exact=True).click()
    expect(tu).to_have_url(RUN_URL)
    expect(tu.locator("body")).to_contain_text("(Plh. Kepala)")

    # The run finishes; the archived laporan prints the Plh. as signatory, with the NIP of his
    # person record (the appointment form asks none).
    finish(run, users)
    assert Run.objects.get(pk=run.pk).status == Run.Status.FINISHED
    tu.goto(f"/kegiatan/{run.pk}/")
    tu.get_by_role("link", name="Laporan final (PDF)").click()
    expect(tu).to_have_url(re.compile(r"\.pdf$"))
    response = tu.request.get(tu.url)
    assert response.ok
    text = pdf_text(response.body())
    assert "Plh. Kepala Kantor Kesatuan Bangsa dan Politik" in text
    assert "Siti Rahmawati, S.E." in text and "NIP 19750211 200003 2 002" in text
    assert "Plh. Kepala" in text.split("Plh. Kepala Kantor")[0]  # the disposisi, before it

    # After the week the Plh. has no more of the Kepala's steps and may not act on them.
    later = at_step_two(sop1, users, "Sosialisasi bulan depan")
    after = timezone.localtime() + datetime.timedelta(days=7)
    with time_machine.travel(after, tick=True):
        context = browser.new_context(base_url=live_server.url, locale="id-ID")
        page = login(context.new_page(), "kasubag_tu")
        expect(inbox_task(page, "Sosialisasi bulan depan", 2)).to_have_count(0)
        response = page.goto(f"/kegiatan/{later.pk}/langkah/2/")
        assert response.status == 403
        context.close()
