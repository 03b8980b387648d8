"""Queries per page and per transition: within budget, and the same at two data sizes.

Each budget counts everything of one request: the session, the user, the user's facts (roles,
acting appointments, step ids), the page's own queries, the navigation count and the bell's
unread count. A unit's calendar is four queries (the unit, its days off, special periods,
working hours).
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import scale

BUDGETS = {
    "/tugas/": 14,
    "/kegiatan/": 12,
    "/kegiatan/ deep": 12,
    "/kegiatan/<id>/ (15 steps, returned)": 16,
    "step form": 15,
    # The archive also lists the user's latest period reports.
    "/arsip/": 11,
    "/arsip/ deep": 11,
    "/sop/": 10,
    "/sop/<id>/": 11,
}
# Everything of one POST through the step form but savepoints: the page's own reads before
# the transition, the transition (lock, facts, active round, update, event, next round,
# activation, event, in-app notifications) and the redirect's message; each of the two events
# also reads where its run's hash chain ends and moves the run's chain head. 35 on SQLite for
# a step in the middle; PostgreSQL adds its lock_timeout, and the next step's holders vary.
POST_BUDGET = 36


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
