"""Per-client limits behind a proxy: the login lock per username and address, the higher lock
per address, the reset mails and /verifikasi/ counted per client, in a cache every process
shares; and hostile text (long usernames, NUL characters) that must never answer 500."""

import pytest
from django.core import mail
from django.core.cache import CacheHandler, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.test import RequestFactory
from django.urls import reverse
from django_ratelimit.core import is_ratelimited
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from activities.throttling import client_address
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NGINX = "127.0.0.1"
X = "203.0.113.10"
Y = "198.51.100.20"


@pytest.fixture
def behind_nginx(settings):
    settings.SOPFLOW_PROXY_COUNT = 1


def login(client, username, password, address, path=None):
    return client.post(
        path or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=address,
    )


# --- the client's address -------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, forwarded, expected",
    [
        (0, "6.6.6.6", NGINX),  # no proxy: the header is the client's own claim
        (1, X, X),
        (1, f"6.6.6.6, {X}", X),  # a forged entry left of nginx's is ignored
        (1, "", NGINX),
        (1, "nonsense", NGINX),
        (2, f"6.6.6.6, {X}, 10.0.0.2", X),
        (2, X, NGINX),  # shorter than the proxies that must have written it
    ],
)
def test_the_client_is_the_entry_the_outermost_proxy_appended(settings, count, forwarded, expected):
    settings.SOPFLOW_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


# --- the login lock -------------------------------------------------------------------------


def test_five_wrong_passwords_lock_only_that_user_at_that_address(client, users, behind_nginx):
    answers = [login(client, "kasi", "salah", X).status_code for _ in range(5)]
    assert answers == [200] * 4 + [429]
    assert login(client, "kasi", PASSWORD, X).status_code == 429
    # Another user at the same address, and the same user elsewhere, still get in.
    assert login(client, "staf", PASSWORD, X).status_code == 302
    client.logout()
    assert login(client, "kasi", PASSWORD, Y).status_code == 302


def test_an_address_trying_many_usernames_is_locked_at_the_address_limit(
    client, users, behind_nginx, settings
):
    settings.SOPFLOW_LOGIN_ADDRESS_LIMIT = 8
    for n in range(7):
        assert login(client, f"tebakan{n}", "salah", X).status_code == 200
    assert login(client, "tebakan7", "salah", X).status_code == 429
    # The address is locked for every username, the right password included ...
    assert login(client, "kabid", PASSWORD, X).status_code == 429
    # ... and nobody else is.
    assert login(client, "kabid", PASSWORD, Y).status_code == 302


def test_the_address_limit_is_much_higher_than_the_account_limit(settings):
    assert settings.SOPFLOW_LOGIN_ADDRESS_LIMIT >= 10 * settings.AXES_FAILURE_LIMIT


# --- reset mails and /verifikasi/ per client ------------------------------------------------


def test_reset_mails_count_per_client_behind_the_proxy(client, users, behind_nginx, settings):
    settings.SOPFLOW_RESET_MAILS_PER_HOUR = 2
    for email in ["kasi@kesbangpol.example", "staf@kesbangpol.example"]:
        client.post(
            reverse("password_reset"), {"email": email}, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=X
        )
    refused = client.post(
        reverse("password_reset"),
        {"email": "kepala@kesbangpol.example"},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=X,
    )
    assert "terlalu sering" in refused.content.decode()
    client.post(
        reverse("password_reset"),
        {"email": "kepala@kesbangpol.example"},
        REMOTE_ADDR=NGINX,
        HTTP_X_FORWARDED_FOR=Y,
    )
    assert len(mail.outbox) == 3


def test_verification_quota_counts_per_client_behind_the_proxy(client, behind_nginx, settings):
    settings.SOPFLOW_VERIFY_RATE = "2/m"
    cache.clear()

    def ask(address):
        return client.get("/verifikasi/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=address)

    assert [ask(X).status_code for _ in range(3)] == [200, 200, 429]
    assert ask(Y).status_code == 200


# --- the shared cache -----------------------------------------------------------------------


def test_the_default_cache_is_the_database_shared_by_every_process():
    assert isinstance(caches["default"], DatabaseCache)


def test_two_cache_connections_see_one_rate_limit_count(monkeypatch):
    """Two cache handlers stand for two worker processes, each with its own connection."""
    first, second = CacheHandler()["default"], CacheHandler()["default"]
    assert first is not second
    first.clear()
    first.set("bersama", 1)
    assert second.get("bersama") == 1

    request = RequestFactory().get("/verifikasi/", REMOTE_ADDR=X)
    counted = []
    for handler in [first, second, first, second]:
        # django-ratelimit counts in `caches["default"]`: each request goes to one "process".
        monkeypatch.setattr("django_ratelimit.core.caches", {"default": handler})
        counted.append(
            is_ratelimited(
                request, group="verifikasi", key="ip", rate="3/m", method="GET", increment=True
            )
        )
    assert counted == [False, False, False, True]


# --- hostile text ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_username_longer_than_the_lock_table_is_a_failed_login(client, users, path):
    response = login(client, "x" * 300, "salah", X, path)
    assert response.status_code == 200
    assert login(client, "kasi", PASSWORD, X).status_code == 302


@pytest.mark.parametrize(
    "query", ["q=%00", "title=%00", "title=a%00b", "%00=1", "q=ok&sop__id__exact=%00"]
)
def test_a_nul_in_any_query_value_is_400(client_for, query):
    response = client_for("admin").get(f"/admin/activities/run/?{query}")
    assert response.status_code == 400


def test_a_nul_in_a_public_page_query_is_400(client):
    assert client.get("/verifikasi/?kode=%00").status_code == 400


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.one_of(
        st.text(max_size=400),
        st.text(alphabet=st.sampled_from("a\0\u202e "), min_size=200, max_size=600),
    ),
    password=st.text(max_size=300),
)
def test_the_login_page_never_answers_500(client, seeded, username, password):
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code in (200, 302, 429), (username, password)
