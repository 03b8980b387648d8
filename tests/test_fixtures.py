"""The shared fixtures: the demo organisation built once per test database, as `seed_demo`
builds it, found again after a flush, with its files in every test's own media folder."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from activities.models import Role, Sop, Step, Unit
from tests import conftest
from tests.conftest import PASSWORD, demo_is_there


def counts():
    User = get_user_model()
    return [model.objects.count() for model in (User, Unit, Role, Sop, Step)]


def test_the_demo_is_what_seed_demo_builds(users):
    before = counts()
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    assert counts() == before
    assert {"kasi", "kepala", "subkor", "kabid", "admin", "outsider"} <= set(users)


def test_demo_passwords_use_the_fast_hasher_and_still_log_in(client, users):
    assert users["kasi"].password.startswith("md5$")
    response = client.post(reverse("login"), {"username": "kasi", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("inbox")).wsgi_request.user == users["kasi"]


def test_the_demo_emblem_is_in_this_tests_media(sop1, settings, tmp_path):
    emblem = Unit.objects.get(pk=sop1.unit_id).emblem
    assert emblem.name
    assert settings.MEDIA_ROOT == tmp_path / "media"
    assert default_storage.exists(emblem.name)


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_seeded_fixture_builds_the_demo_again(request):
    assert demo_is_there()
    call_command("flush", interactive=False, verbosity=0)
    assert not demo_is_there()
    request.getfixturevalue("seeded")
    assert demo_is_there()
    assert Sop.objects.filter(version=1).count() == 2


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_demo_is_copied_back_row_for_row(demo_media):
    """On PostgreSQL the demo comes back after a transactional test's flush as the rows read
    after the first build, and the content types and permissions the flush made are gone."""
    if not conftest._snapshot:
        pytest.skip("the demo is copied back on PostgreSQL only; elsewhere it is built again")
    # As the test runner flushes after a transactional test: the sequences go on.
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    assert not demo_is_there()
    conftest.restore_demo(demo_media)
    assert demo_is_there()
    with connection.cursor() as cursor:
        tables = conftest._filled_tables(cursor)
        assert tables == list(conftest._snapshot["tables"])
        for table in tables:
            rows = io.BytesIO()
            cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} TO STDOUT", rows)
            assert rows.getvalue() == conftest._snapshot["tables"][table], table
    assert Sop.objects.filter(version=1).count() == 2
