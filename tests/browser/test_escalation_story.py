"""A step of the Staf goes overdue, the sweep runs, and the Kasi finds the escalation under the
bell; the Staf sees the step marked overdue in the inbox."""

import datetime
import re
import zoneinfo

from playwright.sync_api import expect

from activities.core import workflow
from activities.models import Notification
from activities.time import deadlines

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
MONDAY = datetime.datetime(2026, 11, 2, 8, 0, tzinfo=WIB)
# Tuesday 10:00: step 4 (60 menit, due Monday 09:00) is 510 office minutes overdue.
SWEEP_AT = datetime.datetime(2026, 11, 3, 10, 0, tzinfo=WIB)


def test_kasi_sees_the_escalation_of_an_overdue_staf_step_under_the_bell(person, users, sop1):
    run = workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Sosialisasi Bela Negara",
        scheduled_on=datetime.date(2026, 11, 20),
        place="Aula Kecamatan",
        now=MONDAY,
    )
    times = {"started_at": MONDAY, "completed_at": MONDAY}
    workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"], **times)
    workflow.approve_step(
        run_id=run.pk, number=2, user=users["kepala"], instruction="Lanjutkan", **times
    )
    workflow.complete_step(run_id=run.pk, number=3, user=users["kasi"], **times)

    result = deadlines.sweep(now=SWEEP_AT)
    assert result.escalations == 2  # to the Kasi, then on to the Kepala

    staf = person("staf")
    staf.goto("/tugas/")
    task = staf.locator(".list-group-item", has_text="Sosialisasi Bela Negara")
    expect(task.locator(".badge-late")).to_have_text("Terlambat")
    expect(task.locator(".due")).to_contain_text("lewat")

    kasi = person("kasi")
    kasi.goto("/tugas/")
    unread = Notification.objects.filter(recipient=users["kasi"], read_at=None).count()
    bell = kasi.locator("#bell")
    expect(bell.locator("#notification-count")).to_have_text(str(unread))
    bell.click()
    expect(kasi).to_have_url(re.compile(r"/notifikasi/$"))
    escalation = kasi.locator("#notifications a", has_text="Eskalasi")
    expect(escalation).to_contain_text("Sosialisasi Bela Negara")
    expect(escalation).to_contain_text("langkah 4 terlambat")
    escalation.click()
    expect(kasi).to_have_url(re.compile(rf"/kegiatan/{run.pk}/$"))
    expect(kasi.locator(".badge-late").first).to_be_visible()
    expect(kasi.locator("#notification-count")).to_have_text(str(unread - 1))
