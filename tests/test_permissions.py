"""Who sees what, through the browser's door: runs, step forms, lists and the inbox.

Allowed: the holders of the step's role and the superuser, on behalf. Same unit, other role:
403. Another unit, or no unit at all: 404. (Every capability × user × unit: test_policy.py.)
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.core import workflow
from activities.models import Event, Run, StepRun

pytestmark = pytest.mark.django_db

UNITS = {
    "sop1": {"kasi", "staf", "kepala", "kasubag_tu", "pengelola"},
    "sop2": {"kabid", "subkor", "tim", "supir"},
}
EVERYONE = sorted(UNITS["sop1"] | UNITS["sop2"] | {"admin", "outsider"})
# Who holds step 1's role; the whole capability matrix is in test_policy.py, generated from
# the policy's table.
ALLOWED = {
    ("sop1", "complete"): {"kasi", "admin"},
    ("sop2", "complete"): {"subkor", "admin"},
}


def expected_status(sop_name, action, username):
    if username in ALLOWED[(sop_name, action)]:
        return 302
    if username in UNITS[sop_name]:
        return 403
    return 404


def opened(sop, users):
    return workflow.open_run(
        sop=sop,
        user=users["admin"],
        title="Kegiatan uji",
        scheduled_on=timezone.localdate(),
        place="Aula",
    )


def latest(run, number):
    return StepRun.objects.filter(run=run, step__number=number).order_by("-round").first()


def state():
    return (
        Run.objects.count(),
        Event.objects.count(),
        list(StepRun.objects.order_by("pk").values_list("state", "round", "version")),
        list(Run.objects.order_by("pk").values_list("status", flat=True)),
    )


@pytest.mark.parametrize("sop_name", ["sop1", "sop2"])
@pytest.mark.parametrize("username", EVERYONE)
def test_who_sees_a_run(request, client_for, users, sop_name, username):
    """Everyone in the run's unit sees its page; nobody else learns it exists."""
    run = opened(request.getfixturevalue(sop_name), users)
    response = client_for(username).get(run.get_absolute_url())
    expected = 200 if username in UNITS[sop_name] or username == "admin" else 404
    assert response.status_code == expected


@pytest.mark.parametrize("sop_name", ["sop1", "sop2"])
@pytest.mark.parametrize("username", EVERYONE)
def test_who_sees_the_step_form(request, client_for, users, sop_name, username):
    run = opened(request.getfixturevalue(sop_name), users)
    response = client_for(username).get(reverse("step_action", args=[run.pk, 1]))
    expected = expected_status(sop_name, "complete", username)
    assert response.status_code == (200 if expected == 302 else expected)
    if expected == 302:
        assert 'name="action" value="selesai"' in response.content.decode()


@pytest.mark.parametrize("username", EVERYONE)
def test_runs_list_shows_only_my_units(client_for, users, sop1, sop2, username):
    mine = {
        "sop1": opened(sop1, users),
        "sop2": opened(sop2, users),
    }
    response = client_for(username).get("/kegiatan/")
    shown = {run.pk for run in response.context["runs"]}
    for sop_name, run in mine.items():
        visible = username == "admin" or username in UNITS[sop_name]
        assert (run.pk in shown) == visible


@pytest.mark.parametrize("username", EVERYONE)
def test_inbox_holds_only_steps_of_my_roles(client_for, users, sop1, sop2, username):
    runs = {"sop1": opened(sop1, users), "sop2": opened(sop2, users)}
    response = client_for(username).get("/tugas/")
    shown = {task.step_run.run_id for task in response.context["tasks"]}
    for sop_name, run in runs.items():
        mine = username == "admin" or username in ALLOWED[(sop_name, "complete")]
        assert (run.pk in shown) == mine


def test_inactive_user_is_logged_out(client_for, users, sop1):
    run = opened(sop1, users)
    client = client_for("kasi")
    users["kasi"].is_active = False
    users["kasi"].save()
    response = client.get(run.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_old_step_times_cannot_be_pushed_by_a_superuser(client_for, users, sop1):
    """Acting on behalf does not lift the time rules."""
    run = opened(sop1, users)
    current = latest(run, 1)
    before = state()
    yesterday = timezone.localtime(current.activated_at - datetime.timedelta(days=1))
    response = client_for("admin").post(
        reverse("step_action", args=[run.pk, 1]),
        {
            "action": "selesai",
            "version": current.version,
            "round": current.round,
            "started_at": yesterday.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert "tidak boleh sebelum langkah sebelumnya selesai" in response.content.decode()
    assert state() == before
