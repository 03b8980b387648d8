"""The front door: login throttling, password change and reset, session limits, /healthz,
request ids, the production settings (`check --deploy`) and the configurable admin path."""

import datetime
import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from activities.core import workflow
from activities.request_id import RequestIdFilter
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def login(client, username, password, path=None, **extra):
    return client.post(
        path or reverse("login"), {"username": username, "password": password}, **extra
    )


# --- throttling -----------------------------------------------------------------------------


def test_twenty_wrong_passwords_lock_the_account_with_a_clear_message(client, users):
    responses = [login(client, "kasi", f"salah-{n}") for n in range(20)]
    # The fifth wrong password is the last: it already answers with the lock.
    assert [r.status_code for r in responses[:4]] == [200] * 4
    assert {r.status_code for r in responses[4:]} == {429}
    page = responses[-1].content.decode()
    assert "Terlalu banyak percobaan masuk" in page
    assert "Coba lagi setelah 15 menit" in page
    # Locked means locked: the right password does not open it either, the admin's door too.
    assert login(client, "kasi", PASSWORD).status_code == 429
    assert login(client, "kasi", PASSWORD, "/admin/login/").status_code == 429
    # The count is in the database, shared by every worker and server.
    assert AccessAttempt.objects.filter(username="kasi").get().failures_since_start >= 5

    later = timezone.now() + datetime.timedelta(minutes=16)
    with time_machine.travel(later, tick=False):
        response = login(client, "kasi", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("inbox")


def test_one_address_guessing_many_accounts_is_locked_too(client, users, settings):
    settings.SOPFLOW_LOGIN_ADDRESS_LIMIT = 6
    for username in ["kasi", "staf", "kepala", "tim", "supir"]:
        assert login(client, username, "salah").status_code == 200
    assert login(client, "kabid", "salah").status_code == 429
    assert login(client, "subkor", PASSWORD).status_code == 429
    # Another computer is not locked out for one address's guesses (accounts not locked yet).
    assert login(client, "subkor", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lock(client, users, settings):
    settings.SOPFLOW_LOGIN_ADDRESS_LIMIT = 6
    for n in range(6):
        login(client, f"pengguna{n}", "salah", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert login(client, "staf", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.99").status_code == 429


def test_a_good_login_resets_the_count(client, users):
    for _ in range(4):
        login(client, "kasi", "salah")
    assert login(client, "kasi", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "kasi", "salah").status_code == 200


# --- password change and reset --------------------------------------------------------------


def test_login_page_and_menu_link_to_password_pages(client, client_for):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
    page = client_for("kasi").get(reverse("inbox")).content.decode()
    assert reverse("password_change") in page


def test_password_change_in_the_apps_own_look(client_for, users):
    client = client_for("kasi")
    page = client.get(reverse("password_change")).content.decode()
    assert "Ganti kata sandi" in page and 'class="navbar-brand' in page
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Kesbangpol-2026-baru",
            "new_password2": "Kesbangpol-2026-baru",
        },
    )
    assert response.status_code == 302
    users["kasi"].refresh_from_db()
    assert users["kasi"].check_password("Kesbangpol-2026-baru")


def test_password_reset_sends_an_indonesian_plain_text_mail_that_works(client, users):
    response = client.post(reverse("password_reset"), {"email": "kasi@kesbangpol.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Membuat kata sandi baru sopflow"
    assert message.to == ["kasi@kesbangpol.example"]
    assert "Yth. Budi Santoso," in message.body and "Nama pengguna Anda: kasi" in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body
    link = re.search(r"https?://testserver(/accounts/reset/\S+)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Buat kata sandi baru" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Sosialisasi-2026!", "new_password2": "Sosialisasi-2026!"},
        follow=True,
    )
    assert "Kata sandi baru sudah disimpan" in done.content.decode()
    assert login(client, "kasi", "Sosialisasi-2026!").status_code == 302


def test_reset_mails_are_rate_limited_per_address_and_per_computer(client, users, settings):
    settings.SOPFLOW_RESET_MAILS_PER_HOUR = 3
    for _ in range(3):
        client.post(reverse("password_reset"), {"email": "kasi@kesbangpol.example"})
    refused = client.post(reverse("password_reset"), {"email": "kasi@kesbangpol.example"})
    assert refused.status_code == 200
    assert "terlalu sering" in refused.content.decode()
    assert len(mail.outbox) == 3
    # The same computer asking for another address is limited too.
    other = client.post(reverse("password_reset"), {"email": "staf@kesbangpol.example"})
    assert "terlalu sering" in other.content.decode() and len(mail.outbox) == 3
    # An hour later it works again.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=61), tick=False):
        client.post(reverse("password_reset"), {"email": "kasi@kesbangpol.example"})
    assert len(mail.outbox) == 4


def test_an_unknown_address_looks_the_same_and_sends_nothing(client, users):
    response = client.post(reverse("password_reset"), {"email": "tidak.ada@example.go.id"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# --- sessions --------------------------------------------------------------------------------


def test_an_idle_session_ends_with_a_message(client_for, settings):
    settings.SOPFLOW_IDLE_MINUTES = 30
    client = client_for("kasi")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(reverse("inbox")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=20), tick=False):
        # The inbox's automatic refresh is not activity.
        response = client.get(reverse("inbox"), HTTP_HX_REQUEST="true", HTTP_X_SOPFLOW_POLL="1")
        assert response.status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        response = client.get(reverse("run_list"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert "tidak ada aktivitas selama 30 menit" in response.content.decode()


def test_every_automatic_refresh_says_it_is_one():
    """A polling element without the X-Sopflow-Poll header would count as activity: the
    bell's count, on every page, would then keep an office PC's session open for ever."""
    polling = []
    for path in Path(django_settings.BASE_DIR, "templates").rglob("*.html"):
        for tag in re.findall(r"<[^<>]*hx-trigger=\"every [^<>]*>", path.read_text()):
            polling.append((path.name, "X-Sopflow-Poll" in tag))
    assert ("_bell.html", True) in polling
    assert [name for name, marked in polling if not marked] == []


def test_the_bells_refresh_is_not_activity(client_for, settings):
    settings.SOPFLOW_IDLE_MINUTES = 30
    client = client_for("kasi")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        page = client.get(reverse("run_list")).content.decode()
    headers = json.loads(re.search(r'id="notification-count"[^>]*hx-headers=\'([^\']*)\'', page)[1])
    poll = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    for minutes in (10, 20, 29):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            assert (
                client.get(
                    reverse("notification_count"), HTTP_HX_REQUEST="true", **poll
                ).status_code
                == 200
            )
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        response = client.get(reverse("run_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_activity_keeps_the_session_but_not_beyond_its_lifetime(client_for, settings):
    settings.SOPFLOW_IDLE_MINUTES = 30
    client = client_for("kasi")
    start = timezone.now()
    for minutes in range(0, 10 * 60, 25):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            assert client.get(reverse("inbox")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(hours=10, minutes=5), tick=False):
        response = client.get(reverse("inbox"))
    assert response.status_code == 302


def test_session_lifetime_default_is_shorter_than_two_weeks(settings):
    assert settings.SESSION_COOKIE_AGE < 14 * 24 * 3600


# --- health, request ids, logging -------------------------------------------------------------


def test_healthz_checks_database_and_storage(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "storage": "ok"}
    assert not default_storage.exists("healthz") or not default_storage.listdir("healthz")[1]


def test_healthz_reports_a_broken_storage(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", broken)
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "storage": "error"}


def test_every_response_has_a_request_id(client):
    first = client.get(reverse("login"))["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="nginx-abc12345")["X-Request-ID"] == (
        "nginx-abc12345"
    )
    forged = client.get(reverse("login"), HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert forged != "<script>"


def test_log_lines_carry_time_level_and_request_id(client, settings):
    from django.utils.log import configure_logging

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    handler = Keep()
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/tidak-ada/")
    finally:
        logger.removeHandler(handler)
    # An expected 404 is logged at INFO, without its traceback (activities/logs.py).
    line = next(r for r in records if "Not Found" in r)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO \[[0-9a-f]{32}\] ", line)
    assert response["X-Request-ID"] in line


# --- production settings ------------------------------------------------------------------------


def production_env(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SOPFLOW_", "DATABASE_URL"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-and-random-production-key-1234567890",
        SOPFLOW_CHAIN_KEY="y" * 20 + "a-long-and-random-chain-key-1234567890",
        ALLOWED_HOSTS="sop.tangerangkota.go.id",
        CSRF_TRUSTED_ORIGINS="https://sop.tangerangkota.go.id",
        SITE_URL="https://sop.tangerangkota.go.id",
        ADMINS="Admin Diskominfo <admin@tangerangkota.go.id>, Piket <piket@tangerangkota.go.id>",
        SERVER_EMAIL="sopflow@tangerangkota.go.id",
        **extra,
    )
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_admins_server_email_and_admin_path_come_from_the_environment():
    code = (
        "from django.conf import settings; from django.urls import reverse; "
        "print(settings.ADMINS); print(settings.SERVER_EMAIL); print(reverse('admin:index'))"
    )
    result = manage("shell", "-c", code, env=production_env(SOPFLOW_ADMIN_PATH="kelola-7f3a"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()[-3:]
    assert lines == [
        "[('Admin Diskominfo', 'admin@tangerangkota.go.id'), ('Piket', 'piket@tangerangkota.go.id')]",
        "sopflow@tangerangkota.go.id",
        "/kelola-7f3a/",
    ]


# --- lock_timeout -------------------------------------------------------------------------------


@pytest.fixture
def short_lock_timeout():
    """Connections that wait 300 ms for a lock: the timeout is set when a connection starts
    (settings.DATABASES' options), so the test reconnects, and reconnects again after."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")
    options = connection.settings_dict["OPTIONS"]
    saved = options["options"]
    options["options"] = "-c lock_timeout=300"
    connection.close()
    yield
    options["options"] = saved
    connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stuck_transaction_does_not_hold_a_run_for_ever(sop1, users, short_lock_timeout):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")
    run = workflow.open_run(
        sop=sop1, user=users["kasi"], title="Uji", scheduled_on=timezone.localdate(), place="Aula"
    )
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        from django.db import connections, transaction

        from activities.models import Run

        with transaction.atomic():
            Run.objects.select_for_update().get(pk=run.pk)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(5)
        started = timezone.now()
        with pytest.raises(workflow.Stale) as error:
            workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])
        waited = (timezone.now() - started).total_seconds()
    finally:
        release.set()
        holder.join()
    assert error.value.code == "locked" and "sedang diubah orang lain" in error.value.message
    assert waited < 3
    workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])


def test_a_view_that_never_reads_the_user_reads_no_session(
    client_for, settings, django_assert_num_queries
):
    """The floor of a request: nothing of the session or the user is read unless the view
    needs them, and such a request does not count as activity."""
    settings.SOPFLOW_IDLE_MINUTES = 30
    settings.ROOT_URLCONF = "bench.http_urls"
    client = client_for("kasi")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(reverse("inbox")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=20), tick=False):
        with django_assert_num_queries(0):
            response = client.get("/bench/floor/")
        assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        # The poll reads the user: the idle session ends there too, as on any page.
        response = client.get(reverse("inbox"), HTTP_HX_REQUEST="true", HTTP_X_SOPFLOW_POLL="1")
        assert response.status_code == 200 and response.has_header("HX-Redirect")
        response = client.get(reverse("run_list"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert "tidak ada aktivitas selama 30 menit" in response.content.decode()
