"""Shared fixtures: the two seed SOPs and a named user for every role.

kasi, staf, kepala, kasubag_tu, pengelola work in Kesbangpol (SOP 1); kabid, subkor, tim, supir
in Diskominfo (SOP 2); `admin` is a superuser; `outsider` holds no role anywhere.
"""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import translation

from activities.models import Sop, forget_calendars

PASSWORD = "sopflow-demo"


DEMO_SIGNER_PASSWORD = "sopflow-demo"


@pytest.fixture(scope="session")
def demo_signer(tmp_path_factory):
    """A demo PKCS#12 signer made once for the session (as `make run` makes one)."""
    from activities.management.commands.make_demo_certificate import demo_pkcs12

    path = tmp_path_factory.mktemp("signer") / "demo-signer.p12"
    path.write_bytes(demo_pkcs12(DEMO_SIGNER_PASSWORD.encode()))
    return path


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path, demo_signer):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Archived laporan are signed in tests as with `make run`.
    settings.SOPFLOW_SIGNING_PKCS12 = str(demo_signer)
    settings.SOPFLOW_SIGNING_PASSWORD = DEMO_SIGNER_PASSWORD
    # Tasks run at once, in the test's process; the worker tests start real db_workers.
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": django_settings.TASKS["default"]["QUEUES"],
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The calendar cache outlives a test's rolled-back transaction, whose unit ids come again.
    forget_calendars()
    yield
    # A request in English leaves English active in the thread; the next test starts in
    # the default language whatever ran before it.
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def seeded(db):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))
    User = get_user_model()
    User.objects.get_or_create(
        username="outsider", defaults={"first_name": "Orang", "last_name": "Luar"}
    )


@pytest.fixture
def users(seeded):
    return {user.username: user for user in get_user_model().objects.all()}


@pytest.fixture
def sop1(seeded):
    return Sop.objects.get(unit__short_name="Kesbangpol", version=1)


@pytest.fixture
def sop2(seeded):
    return Sop.objects.get(unit__short_name="Diskominfo", version=1)


@pytest.fixture
def client_for(client, users):
    """client_for("kasi") → the test client logged in as kasi."""

    def login(username):
        client.force_login(users[username])
        return client

    return login
