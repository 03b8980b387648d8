import re

from playwright.sync_api import expect


def test_login_page_renders(page):
    page.goto("/accounts/login/")

    expect(page.get_by_role("heading", name="Masuk ke sopflow")).to_be_visible()
    # Bootstrap's stylesheet is served by the app itself (the CSP allows no other host).
    expect(page.get_by_role("button", name="Masuk")).to_have_css(
        "background-color", "rgb(13, 110, 253)"
    )


def test_kasi_logs_in_and_lands_on_the_inbox(page, login):
    login(page, "kasi")

    expect(page).to_have_url(re.compile(r"/tugas/$"))
    expect(page.get_by_role("heading", name="Tugas saya")).to_be_visible()
    expect(page.get_by_role("navigation")).to_contain_text("Budi Santoso")


def test_wrong_password_stays_on_the_login_page(page, seeded):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("kasi")
    page.locator("#id_password").fill("salah")
    page.get_by_role("button", name="Masuk").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".alert-danger, .alert-block, .invalid-feedback").first).to_be_visible()
