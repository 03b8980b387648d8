"""Queries per page and per transition: within budget, and the same at two data sizes.

Each budget counts everything of one request: the session, the user, the user's scope (role,
unit and step ids), the page's own queries, the navigation count and the bell's unread count.
A unit's calendar is four queries (the unit, its days off, special periods, working hours).
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import scale

BUDGETS = {
    "/tugas/": 12,
    "/kegiatan/": 10,
    "/kegiatan/ deep": 10,
    "/kegiatan/<id>/ (15 steps, returned)": 14,
    "step form": 13,
    "/arsip/": 8,
    "/arsip/ deep": 8,
    "/sop/": 9,
    "/sop/<id>/": 10,
}
# Session, user; the active round; lock and read; the unit's calendar (for the round's stored
# figures and the next due time); update and event; the next round, its activation and event;
# the in-app notifications of the next step's holders and their deliveries; the next step's
# roles for the message. Savepoints are not counted here.
POST_BUDGET = 18


def _counts(client):
    # Read afresh: seed_scale sets the demo passwords again, which ends older sessions.
    users = {user.username: user for user in get_user_model().objects.all()}
    counts = {}
    for label, user, url in scale.pages(users):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, label
        counts[label] = len(queries)
    return counts


@pytest.fixture
def users(db):
    call_command("seed_scale", runs=120, stdout=io.StringIO())
    return {user.username: user for user in get_user_model().objects.all()}


def test_pages_keep_their_budget_at_two_sizes(users, client):
    small = _counts(client)
    call_command("seed_scale", runs=480, stdout=io.StringIO())
    large = _counts(client)
    print({label: (small[label], large[label]) for label in small})
    assert large == small
    for label, count in large.items():
        assert count <= BUDGETS[label], f"{label}: {count} queries, budget {BUDGETS[label]}"


@pytest.mark.parametrize(("kind", "username"), [("complete", "kasi"), ("approve", "kepala")])
def test_a_step_posted_through_the_form_keeps_its_budget(users, client, kind, username):
    user = users[username]
    client.force_login(user)
    counts = []
    for step_run in scale.post_targets(user, kind, 3):
        url = f"/kegiatan/{step_run.run_id}/langkah/{step_run.step.number}/"
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, scale.post_data(kind, step_run))
        assert response.status_code == 302 and response["Location"] != url
        counts.append(
            sum(1 for query in queries.captured_queries if "SAVEPOINT" not in query["sql"])
        )
    assert counts and max(counts) <= POST_BUDGET, counts
