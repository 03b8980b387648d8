"""The Kasi records the peserta and narasumber of a sosialisasi at step 11, and finds the
semester's total peserta on the SOP's statistics page."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from activities.models import ReferenceList
from tests.test_step_data import run_to


def test_kasi_records_peserta_and_narasumber_and_sees_the_semester_total(page, login, sop1, users):
    started = timezone.now() - datetime.timedelta(hours=2)
    run = run_to(sop1, users["admin"], 11, now=started, title="Sosialisasi Bela Negara")
    speakers = list(ReferenceList.objects.get(unit=sop1.unit, slug="narasumber").items.all())
    login(page, "kasi")
    page.goto(f"/kegiatan/{run.pk}/langkah/11/")
    expect(page.get_by_role("heading", name="Langkah 11 dari 15")).to_be_visible()

    # Forgetting the peserta is refused with a message, and nothing is recorded.
    page.get_by_role("button", name="Selesai", exact=True).click()
    expect(page.get_by_text("Jumlah peserta wajib diisi.")).to_be_visible()

    page.get_by_label("Jumlah peserta").fill("140")
    page.get_by_label("Narasumber").select_option(label=[speakers[0].name, speakers[2].name])
    page.get_by_role("button", name="Selesai", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/kegiatan/{run.pk}/$"))
    expect(page.get_by_role("alert")).to_contain_text("Langkah 11 selesai.")
    step = page.locator("#langkah-11")
    expect(step).to_contain_text("Jumlah peserta")
    expect(step).to_contain_text("140")
    expect(step).to_contain_text(f"{speakers[0].name}, {speakers[2].name}")

    page.goto(f"/sop/{sop1.pk}/statistik/")
    total = page.locator('[data-data-total="jumlah_peserta"]')
    expect(total).to_contain_text("Jumlah peserta")
    expect(total.locator("[data-total]")).to_have_text("140")
    expect(page.locator('[data-data-total="narasumber"]')).to_contain_text(speakers[2].name)
