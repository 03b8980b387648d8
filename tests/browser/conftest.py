"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test in this folder is marked `browser` (`make test-browser` runs only these). Chromium is
the system's /usr/bin/chromium; Playwright never downloads a browser of its own. Without it the
tests skip on a laptop and fail in CI, where a skipped browser test would prove nothing.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox because CI runs as root; the rest keeps Chromium off a network it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent.parent / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    # A conftest hook sees every collected item, not only the ones in its own folder.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# One Chromium per file, not per session: Playwright's loop must not outlive the browser
# tests, since the tests after them in the same worker call pyHanko's and asyncio's run().
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package to run browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # Playwright's sync API keeps an asyncio event loop registered on the main thread while it
    # runs, so Django would take every ORM call from a test or fixture for a call from async
    # code and raise SynchronousOnlyOperation. Nothing here is async: the check is lifted for as
    # long as Playwright runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()


def _new_context(browser, live_server):
    return browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
    )


def _screenshot_if_failed(request, page, suffix=""):
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid) + suffix
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser context per test (no cookies carried over), in Indonesian, on WIB."""
    context = _new_context(browser, live_server)
    page = context.new_page()
    yield page
    _screenshot_if_failed(request, page)
    context.close()


@pytest.fixture
def login(seeded):
    """login(page, "kasi") → logs in through the login form, as a person would."""

    def log_in(page, username):
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    return log_in


@pytest.fixture
def person(request, browser, live_server, login):
    """person("kepala") → a page in kepala's own browser context, logged in through the form.

    Several people take turns on one run: each keeps his own context (and cookies) for the test.
    """
    pages = {}

    def open_as(username):
        if username not in pages:
            pages[username] = login(_new_context(browser, live_server).new_page(), username)
        return pages[username]

    yield open_as
    for username, page in pages.items():
        _screenshot_if_failed(request, page, suffix=f"-{username}")
        page.context.close()
