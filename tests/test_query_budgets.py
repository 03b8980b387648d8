"""Queries per page and per transition: within budget, and the same at two data sizes.

Each budget counts everything of one request: the session, the user, the user's facts (roles,
acting appointments), the page's own queries and one query for both numbers of the navigation
(the inbox badge, the steps of the user's roles a subquery of it, and the bell's unread count).
A unit's calendar is built once per process and calendar version (`models.unit_calendar`):
each page is requested once before it is counted, and a page then reads at most the calendar
versions of its units (the inbox, one query) or none (the unit comes with the run).
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import scale

BUDGETS = {
    # The user's step ids, his active rounds, their steps' roles, the units' calendar versions.
    "/tugas/": 9,
    # The runs, their active rounds, those steps' roles, the SOPs (the filter's choices and the
    # ones the user may open runs of).
    "/kegiatan/": 9,
    "/kegiatan/ deep": 9,
    # The run, its rounds with their steps, the steps' roles, the attachments, the step data
    # the rounds recorded (and a cancelled run's cancelling event).
    "/kegiatan/<id>/ (15 steps, returned)": 10,
    # The run, its rounds with their steps, the steps' roles, the attachments of the step's
    # rounds and of the round that handed it over (the step data only of rounds shown in
    # full); a step that asks for data from a reference list reads the list's items once.
    "step form": 9,
    # The archive also lists the user's latest period reports.
    "/arsip/": 9,
    "/arsip/ deep": 9,
    "/sop/": 8,
    "/sop/<id>/": 9,
}
# Everything of one POST through the step form but savepoints, for a step in the middle: the
# session, the user; the round the form and its files are checked against, read without a lock
# so that no photo is processed while the run is locked (the run, its active and waiting
# rounds, the two steps' roles with what the user holds of them: policy.step_facts); then under
# the run's lock the same three reads again, the closed round, the next one's activation, both
# events in one INSERT and the run's chain head. Outside a test's transaction BEGIN and COMMIT
# add two, and the one task that announces the next step (queued on commit, counted below) one
# more: 15. A step that asks for data reads the items of the reference lists it names (one
# query, for the form) and writes the values in one INSERT: two more.
POST_BUDGET = 14


def _counts(client):
    # Read afresh: seed_scale sets the demo passwords again, which ends older sessions.
    users = {user.username: user for user in get_user_model().objects.all()}
    counts = {}
    for label, user, url in scale.pages(users):
        client.force_login(user)
        client.get(url)
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
def test_a_step_posted_through_the_form_keeps_its_budget(
    users, client, kind, username, django_capture_on_commit_callbacks
):
    user = users[username]
    client.force_login(user)
    counts, queued = [], []
    targets = scale.post_targets(user, kind, 3)
    # The unit's calendar is built on a process's first request, then kept (Unit.calendar).
    client.get(f"/kegiatan/{targets[0].run_id}/langkah/{targets[0].step.number}/")
    for step_run in targets:
        url = f"/kegiatan/{step_run.run_id}/langkah/{step_run.step.number}/"
        with (
            django_capture_on_commit_callbacks() as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.post(url, scale.post_data(kind, step_run))
        assert response.status_code == 302 and response["Location"] != url
        counts.append(
            sum(1 for query in queries.captured_queries if "SAVEPOINT" not in query["sql"])
        )
        queued.append(len(callbacks))
    assert counts and max(counts) <= POST_BUDGET, counts
    assert queued == [1] * len(targets)
