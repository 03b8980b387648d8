"""The REST API from the outside: it refuses exactly what the pages refuse, through the same
policy and transitions; keys with scopes, expiry, revocation and throttling; errors as
problem+json; paged lists; the OpenAPI 3.1 description and its documentation page."""

import datetime
import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.core import workflow
from activities.models import ApiKey, Event, Run, StepRun

pytestmark = pytest.mark.django_db

UNITS = {
    "sop1": {"kasi", "staf", "kepala", "kasubag_tu", "pengelola"},
    "sop2": {"kabid", "subkor", "tim", "supir"},
}
EVERYONE = sorted(UNITS["sop1"] | UNITS["sop2"] | {"admin", "outsider"})
# The page's answer to a change → the API's.
ANSWERS = {302: 200, 403: 403, 404: 404}


def key_for(user, scope="write", days=30):
    _key, token = ApiKey.issue(
        user=user,
        name="uji",
        scope=scope,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return token


def call(client, method, url, token, body=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **headers
    )


def opened(sop, users):
    return workflow.open_run(
        sop=sop,
        user=users["admin"],
        title="Kegiatan uji",
        scheduled_on=timezone.localdate(),
        place="Aula",
    )


def current(run, number):
    return StepRun.objects.filter(run=run, step__number=number).order_by("-round").first()


def state():
    return (
        Run.objects.count(),
        Event.objects.count(),
        list(StepRun.objects.order_by("pk").values_list("state", "round", "version")),
    )


def is_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


@pytest.mark.parametrize("sop_name", ["sop1", "sop2"])
@pytest.mark.parametrize("username", EVERYONE)
def test_reading_a_run_is_refused_as_on_its_page(request, client, users, sop_name, username):
    run = opened(request.getfixturevalue(sop_name), users)
    client.force_login(users[username])
    page = client.get(run.get_absolute_url()).status_code
    client.logout()
    answer = call(client, "get", f"/api/v1/runs/{run.pk}", key_for(users[username]))
    assert answer.status_code == page
    if page == 404:
        is_problem(answer, 404)


def _page_complete(client, user, run):
    step_run = current(run, 1)
    client.force_login(user)
    response = client.post(
        reverse("step_action", args=[run.pk, 1]),
        {"action": "selesai", "round": step_run.round, "version": step_run.version},
    )
    client.logout()
    return response.status_code


@pytest.mark.parametrize("sop_name", ["sop1", "sop2"])
@pytest.mark.parametrize("username", EVERYONE)
def test_completing_step_one_is_refused_as_on_its_page(request, client, users, sop_name, username):
    sop = request.getfixturevalue(sop_name)
    page = _page_complete(client, users[username], opened(sop, users))
    run = opened(sop, users)
    step_run = current(run, 1)
    before = StepRun.objects.filter(run=run).values_list("state", "version")
    before = list(before)
    answer = call(
        client,
        "post",
        f"/api/v1/runs/{run.pk}/steps/1/complete",
        key_for(users[username]),
        {"round": step_run.round, "version": step_run.version},
    )
    assert answer.status_code == ANSWERS[page], answer.content
    if answer.status_code == 200:
        assert current(run, 1).state == StepRun.State.DONE
        assert current(run, 2).state == StepRun.State.ACTIVE
    else:
        is_problem(answer, ANSWERS[page])
        assert list(StepRun.objects.filter(run=run).values_list("state", "version")) == before


def test_the_done_means_walk(client, users, sop1, sop2):
    """A Kasi's key opens a Kesbangpol run and completes step 1, reads it back; the Kepala's
    key approves step 2 with a disposisi; the other unit's key gets 404."""
    kasi, kepala, kabid = (key_for(users[name]) for name in ("kasi", "kepala", "kabid"))
    opened_run = call(
        client,
        "post",
        "/api/v1/runs",
        kasi,
        {
            "sop": sop1.pk,
            "title": "Sosialisasi wawasan kebangsaan",
            "scheduled_on": timezone.localdate().isoformat(),
            "place": "Aula Kesbangpol",
        },
    )
    assert opened_run.status_code == 201, opened_run.content
    run = opened_run.json()
    first = next(r for r in run["rounds"] if r["step"] == 1)
    done = call(
        client,
        "post",
        f"/api/v1/runs/{run['id']}/steps/1/complete",
        kasi,
        {"round": first["round"], "version": first["version"], "output": "Nota pertimbangan"},
    )
    assert done.status_code == 200, done.content
    read = call(client, "get", f"/api/v1/runs/{run['id']}", kasi).json()
    assert read["active_step"] == 2
    step1 = next(r for r in read["rounds"] if r["step"] == 1)
    assert step1["state"] == "done" and step1["completed_by"] == "kasi"
    assert step1["output"] == "Nota pertimbangan" and step1["actual_minutes"] is not None
    second = next(r for r in read["rounds"] if r["step"] == 2)
    approved = call(
        client,
        "post",
        f"/api/v1/runs/{run['id']}/steps/2/approve",
        kepala,
        {"round": second["round"], "version": second["version"], "instruction": "Laksanakan"},
    )
    assert approved.status_code == 200, approved.content
    step2 = current(Run.objects.get(pk=run["id"]), 2)
    assert step2.decision == StepRun.Decision.APPROVED and step2.instruction == "Laksanakan"
    assert step2.completed_by == users["kepala"]
    is_problem(call(client, "get", f"/api/v1/runs/{run['id']}", kabid), 404)
    kinds = list(Event.objects.filter(run_id=run["id"]).values_list("kind", flat=True))
    assert kinds == ["opened", "activated", "completed", "activated", "approved", "activated"]


def test_the_wrong_role_and_a_step_not_offered_are_refused(client, users, sop1):
    run = opened(sop1, users)
    step_run = current(run, 1)
    body = {"round": step_run.round, "version": step_run.version, "instruction": "x"}
    url = f"/api/v1/runs/{run.pk}/steps/1"
    before = state()
    # Step 1 is a work step: it offers no approval (the page shows no such form).
    is_problem(call(client, "post", f"{url}/approve", key_for(users["kasi"]), body), 422)
    is_problem(call(client, "post", f"{url}/complete", key_for(users["staf"]), body), 403)
    is_problem(call(client, "post", f"{url}/complete", key_for(users["kabid"]), body), 404)
    assert state() == before


def test_a_read_only_key_cannot_write(client, users, sop1):
    run = opened(sop1, users)
    step_run = current(run, 1)
    token = key_for(users["kasi"], scope="read")
    before = state()
    assert call(client, "get", f"/api/v1/runs/{run.pk}", token).status_code == 200
    body = is_problem(
        call(
            client,
            "post",
            f"/api/v1/runs/{run.pk}/steps/1/complete",
            token,
            {"round": step_run.round, "version": step_run.version},
        ),
        403,
    )
    assert "membaca" in body["detail"]
    payload = {"sop": sop1.pk, "title": "x", "scheduled_on": "2026-12-01", "place": "x"}
    is_problem(call(client, "post", "/api/v1/runs", token, payload), 403)
    assert state() == before


def test_a_form_of_an_earlier_version_is_stale_and_bad_input_names_its_field(client, users, sop1):
    run = opened(sop1, users)
    step_run = current(run, 1)
    token = key_for(users["kasi"])
    url = f"/api/v1/runs/{run.pk}/steps/1/complete"
    before = state()
    stale = {"round": step_run.round, "version": step_run.version + 1}
    assert is_problem(call(client, "post", url, token, stale), 409)["detail"]
    future = {
        "round": step_run.round,
        "version": step_run.version,
        "completed_at": (timezone.now() + datetime.timedelta(days=2)).isoformat(),
    }
    body = is_problem(call(client, "post", url, token, future), 422)
    assert "completed_at" in body["errors"]
    is_problem(call(client, "post", url, token, {"round": "satu"}), 422)
    assert state() == before
    approve = f"/api/v1/runs/{run.pk}/steps/2/approve"
    # Step 2 is not active yet: refused as the page refuses it.
    stale_approval = stale | {"instruction": "Laksanakan"}
    refused = call(client, "post", approve, key_for(users["kepala"]), stale_approval)
    assert is_problem(refused, 409)["detail"]
    assert state() == before


def test_keys_revoked_expired_unknown_or_missing_are_401(client, users):
    kasi = users["kasi"]
    token = key_for(kasi)
    assert call(client, "get", "/api/v1/sops", token).status_code == 200
    ApiKey.objects.get(user=kasi).revoke()
    assert "dicabut" in is_problem(call(client, "get", "/api/v1/sops", token), 401)["detail"]
    expired = key_for(kasi, days=-1)
    response = call(client, "get", "/api/v1/sops", expired)
    assert "kedaluwarsa" in is_problem(response, 401)["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    is_problem(call(client, "get", "/api/v1/sops", "sopflow_tebakan"), 401)
    is_problem(client.get("/api/v1/sops"), 401)
    users["staf"].is_active = False
    users["staf"].save()
    is_problem(call(client, "get", "/api/v1/sops", key_for(users["staf"])), 401)


def test_keys_are_stored_hashed_and_last_use_is_stamped_once_a_minute(client, users):
    key, token = ApiKey.issue(
        user=users["kasi"],
        name="dasbor",
        scope="read",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    assert key.hashed == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    with CaptureQueriesContext(connection) as first:
        call(client, "get", "/api/v1/sops", token)
    with CaptureQueriesContext(connection) as second:
        call(client, "get", "/api/v1/sops", token)
    stamps = [
        q for q in first.captured_queries if "last_used_at" in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert len(stamps) == 1
    assert not [q for q in second.captured_queries if "UPDATE" in q["sql"] and "api" in q["sql"]]
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_requests_are_throttled_per_key(client, users, settings):
    settings.SOPFLOW_API_RATE = "3/m"
    token, other = key_for(users["kasi"]), key_for(users["kasi"])
    answers = [call(client, "get", "/api/v1/sops", token).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    response = call(client, "get", "/api/v1/sops", token)
    is_problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert call(client, "get", "/api/v1/sops", other).status_code == 200


def test_runs_are_keyset_paged_and_bounded(client, users, sop1):
    runs = [opened(sop1, users) for _ in range(5)]
    token = key_for(users["kepala"])
    seen, cursor = [], None
    while True:
        url = "/api/v1/runs?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "get", url, token).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [run.pk for run in reversed(runs)]
    is_problem(call(client, "get", "/api/v1/runs?limit=101", token), 422)
    is_problem(call(client, "get", "/api/v1/runs?cursor=abc", token), 422)
    body = is_problem(call(client, "get", "/api/v1/runs?dari=2026-13-01", token), 422)
    assert "dari" in body["errors"]
    assert call(client, "get", f"/api/v1/runs?sop={sop1.pk}&status=running", token).json()["items"]


def test_inbox_statistics_steps_versions_and_events(client, users, sop1, sop2):
    run = opened(sop1, users)
    kasi = key_for(users["kasi"])
    inbox = call(client, "get", "/api/v1/inbox", kasi).json()
    assert [(item["run"], item["step"]) for item in inbox["items"]] == [(run.pk, 1)]
    assert call(client, "get", "/api/v1/inbox", key_for(users["kepala"])).json()["items"] == []
    steps = call(client, "get", f"/api/v1/sops/{sop1.pk}/steps", kasi).json()
    assert [step["number"] for step in steps] == list(range(1, 16))
    assert steps[1]["return_to"] == 1 and steps[1]["roles"] == ["Kepala"]
    versions = call(client, "get", f"/api/v1/sops/{sop1.pk}/versions", kasi).json()
    assert sop1.pk in [version["id"] for version in versions]
    stats = call(client, "get", f"/api/v1/sops/{sop1.pk}/statistics", kasi).json()
    assert stats["opened"] >= 1 and len(stats["steps"]) == 15
    is_problem(
        call(client, "get", f"/api/v1/sops/{sop1.pk}/statistics", key_for(users["staf"])), 403
    )
    is_problem(call(client, "get", f"/api/v1/sops/{sop2.pk}", kasi), 404)
    events = call(client, "get", f"/api/v1/runs/{run.pk}/events?limit=1", kasi).json()
    assert [event["kind"] for event in events["items"]] == ["opened"]
    rest = call(client, "get", f"/api/v1/runs/{run.pk}/events?cursor={events['next_cursor']}", kasi)
    assert [event["kind"] for event in rest.json()["items"]] == ["activated"]


def test_openapi_31_description_and_local_documentation(client):
    description = client.get("/api/v1/openapi.json").json()
    assert description["openapi"].startswith("3.1")
    assert "/api/v1/runs/{run_id}/steps/{number}/approve" in description["paths"]
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert "'self'" in page["Content-Security-Policy"]


def test_a_key_made_in_the_app_is_shown_once_works_and_is_revoked_there(client, users):
    kasi = users["kasi"]
    client.force_login(kasi)
    made = client.post(reverse("api_keys"), {"name": "Dasbor", "scope": "write", "days": "90"})
    html = made.content.decode()
    key = ApiKey.objects.get(user=kasi)
    token = html.split('<pre class="mb-0 mt-2 user-select-all"><code>')[1].split("</code>")[0]
    assert token.startswith("sopflow_") and key.hashed == hashlib.sha256(token.encode()).hexdigest()
    assert token not in client.get(reverse("api_keys")).content.decode()
    assert "no-store" in made["Cache-Control"]
    assert call(client, "get", "/api/v1/sops", token).status_code == 200
    client.force_login(users["staf"])
    assert client.post(reverse("api_key_revoke", args=[key.pk])).status_code == 404
    client.force_login(kasi)
    client.post(reverse("api_key_revoke", args=[key.pk]))
    is_problem(call(client, "get", "/api/v1/sops", token), 401)
    history = list(key.history.order_by("history_date").values_list("history_type", "revoked_at"))
    assert [kind for kind, _ in history] == ["+", "~"] and history[-1][1] is not None
    refused = client.post(reverse("api_keys"), {"name": "", "scope": "write", "days": "7"})
    assert refused.status_code == 200 and ApiKey.objects.filter(user=kasi).count() == 1


def test_the_admin_makes_a_key_for_a_user_and_revokes_it(client, users):
    client.force_login(users["admin"])
    expires = (timezone.localtime() + datetime.timedelta(days=10)).strftime("%Y-%m-%d")
    response = client.post(
        reverse("admin:activities_apikey_add"),
        {
            "user": users["kepala"].pk,
            "name": "Dasbor command center",
            "scope": "read",
            "expires_at_0": expires,
            "expires_at_1": "10:00:00",
        },
        follow=True,
    )
    key = ApiKey.objects.get(user=users["kepala"])
    shown = [str(message) for message in response.context["messages"]]
    token = next(word for text in shown for word in text.split() if word.startswith("sopflow_"))
    assert key.hashed == hashlib.sha256(token.encode()).hexdigest()
    assert key.created_by == users["admin"] and key.scope == "read"
    assert call(client, "get", "/api/v1/inbox", token).status_code == 200
    client.post(
        reverse("admin:activities_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    is_problem(call(client, "get", "/api/v1/inbox", token), 401)
    assert key.history.count() == 2


def test_errors_raised_before_the_api_are_problems_too(client, users):
    token = key_for(users["kasi"])
    response = call(client, "get", "/api/v1/inbox?x=%00", token)
    is_problem(response, 400)
    is_problem(call(client, "get", "/api/v1/tidak-ada", token), 404)
    is_problem(call(client, "get", "/api/v1/runs/abc", token), 422)
