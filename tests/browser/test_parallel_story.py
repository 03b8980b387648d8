"""Steps side by side, clicked through: steps 3 (Kasi) and 4 (Staf seksi) of a socialisation
SOP run at the same time, step 5 waits for both, and the SOP document draws the fork."""

from django.urls import reverse
from playwright.sync_api import expect

from activities.authoring.definitions import load_sop
from tests.browser.test_run_stories import inbox_task, open_run, take_step
from tests.test_parallel_steps import parallel_data


def test_steps_3_and_4_run_at_once_and_the_sop_prints_its_fork(person, seeded):
    sop, _created = load_sop(parallel_data())
    title = "Sosialisasi dengan persiapan bersamaan"
    kasi, staf = person("kasi"), person("staf")
    kasi.goto(reverse("run_create") + f"?sop={sop.pk}")
    open_run(kasi, title=title)
    take_step(kasi, title, 1, count=15)
    take_step(person("kepala"), title, 2, count=15, disposisi="Setuju.")

    # Both steps of the group are in their holders' inboxes at once.
    expect(inbox_task(kasi, title, 3)).to_have_count(1)
    expect(inbox_task(staf, title, 4)).to_have_count(1)
    take_step(staf, title, 4, count=15)
    expect(staf.get_by_role("alert")).to_contain_text(
        "Langkah berikutnya menunggu langkah yang berjalan bersamaan."
    )
    expect(inbox_task(kasi, title, 5)).to_have_count(0)
    take_step(kasi, title, 3, count=15)
    expect(kasi.get_by_role("alert")).to_contain_text("Berikutnya langkah 5")

    # The SOP document draws the fork above step 3 and the join under step 4.
    kasi.goto(f"/sop/{sop.pk}/")
    expect(kasi.locator('svg [data-symbol="fork"]').first).to_be_attached()
    expect(kasi.locator('svg [data-symbol="join"]').first).to_be_attached()
