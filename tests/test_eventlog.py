"""The event-log exports of an SOP (/sop/<id>/log.csv, /sop/<id>/log.xes): content and access."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from activities.monitoring import eventlog
from tests.rundata import Plan, add_runs, straight, wib
from tests.test_hardening import BAD_VALUES, hostile_params

XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def logged_runs(sop2):
    """Two Diskominfo runs on Tuesday 8 September 2026 (a working day): one straight through,
    one where the Kepala Bidang returns step 3 once, so steps 2 and 3 have a second round."""
    assert sop2.unit.calendar.is_working_day(wib(2026, 9, 8, 8).date())
    first = straight(sop2, wib(2026, 9, 8, 8), [10, 5, 5, 5, 5, 5, 60, 10, 5], title="Wawaran A")
    rework = [
        (1, 0, 20, False),
        (2, 5, 10, False),
        (3, 0, 5, True),
        (2, 0, 15, False),
        (3, 0, 5, False),
        *[(n, 0, 5, False) for n in range(4, 10)],
    ]
    second = Plan(wib(2026, 9, 8, 9), rework, title="Wawaran B")
    return add_runs(sop2, [first, second])


def parse_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def parse_xes(response):
    return ET.fromstring(b"".join(response.streaming_content))


def attrs(element):
    return {child.get("key"): child.get("value") for child in element if child.get("key")}


def test_csv_has_one_row_per_start_and_completion(client_for, logged_runs, users):
    response = client_for("kabid").get(f"/sop/{logged_runs[0].sop_id}/log.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = parse_csv(response)
    # 9 rounds in run A, 11 in run B; each a start and a completion.
    assert len(rows) == 2 * (9 + 11)
    first_run = [row for row in rows if row["case_id"] == str(logged_runs[0].pk)]
    assert [row["lifecycle"] for row in first_run[:2]] == ["start", "complete"]
    assert first_run[0]["timestamp"] == "2026-09-08T08:00:00.000+07:00"
    assert first_run[1]["timestamp"] == "2026-09-08T08:10:00.000+07:00"
    assert first_run[1]["office_minutes"] == "10.0"
    assert first_run[1]["standard_minutes"] == "20"
    assert first_run[1]["resource"] == users["subkor"].get_full_name()
    assert first_run[1]["role"] == "Sub Kor DIMC"
    returned = [row for row in rows if row["outcome"] == "dikembalikan"]
    assert [(row["step"], row["round"]) for row in returned] == [("3", "1")]
    assert {row["sop_version"] for row in rows} == {"1"}


def test_xes_is_well_formed_with_the_required_attributes(client_for, logged_runs):
    sop = logged_runs[0].sop
    response = client_for("kabid").get(f"/sop/{sop.pk}/log.xes")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    log = parse_xes(response)
    assert log.tag == f"{XES}log"
    assert log.get("xes.version") == "1849-2016"
    prefixes = {ext.get("prefix") for ext in log.findall(f"{XES}extension")}
    assert prefixes == {"concept", "time", "lifecycle", "org"}
    traces = log.findall(f"{XES}trace")
    assert [attrs(trace)["concept:name"] for trace in traces] == [str(r.pk) for r in logged_runs]
    trace_b = attrs(traces[1])
    assert trace_b["sop_number"] == sop.number
    assert trace_b["sop_version"] == "1"
    assert trace_b["unit"] == "Diskominfo"
    events = [attrs(event) for event in traces[1].findall(f"{XES}event")]
    assert len(events) == 22
    for event in events:
        assert {"concept:name", "time:timestamp", "lifecycle:transition", "org:resource"} <= set(
            event
        )
        assert event["org:role"]
        assert event["standard_minutes"]
    # Events are in time order; the return is the completion of step 3's first round.
    stamps = [event["time:timestamp"] for event in events]
    assert stamps == sorted(stamps)
    returned = [event for event in events if event.get("outcome") == "dikembalikan"]
    assert len(returned) == 1
    assert returned[0]["concept:name"].startswith("3. ")
    assert returned[0]["office_minutes"] == "5.0"
    assert trace_b["title"] == "Wawaran B"


def test_pseudonymous_export_hides_names_but_keeps_people_apart(client_for, logged_runs, users):
    sop = logged_runs[0].sop
    rows = parse_csv(client_for("kabid").get(f"/sop/{sop.pk}/log.csv?samaran=1"))
    resources = {row["resource"] for row in rows}
    names = {u.get_full_name() for u in users.values()} | {u.username for u in users.values()}
    assert not resources & names
    assert all(resource.startswith("pegawai-") for resource in resources)
    assert eventlog.pseudonym(users["subkor"].pk) in resources
    assert eventlog.pseudonym(users["tim"].pk) in resources
    assert len(resources) == 4  # subkor, kabid, tim, supir


def test_period_filter_and_bad_dates(client_for, logged_runs):
    sop = logged_runs[0].sop
    client = client_for("kabid")
    assert parse_csv(client.get(f"/sop/{sop.pk}/log.csv?dari=2026-09-09")) == []
    assert len(parse_csv(client.get(f"/sop/{sop.pk}/log.csv?dari=2026-09-08&sampai=2026-09-08")))
    # Dates that cannot be read fall back to the whole log rather than failing.
    response = client.get(f"/sop/{sop.pk}/log.xes?dari=2026-13-45&sampai=x")
    assert response.status_code == 200
    assert len(parse_xes(response).findall(f"{XES}trace")) == 2


def test_control_characters_do_not_break_the_xml(client_for, sop2):
    add_runs(sop2, [straight(sop2, wib(2026, 9, 8, 8), [5] * 9, title='Bel\x07 <&> "x"')])
    log = parse_xes(client_for("kabid").get(f"/sop/{sop2.pk}/log.xes"))
    assert attrs(log.find(f"{XES}trace"))["title"] == 'Bel <&> "x"'


@pytest.mark.parametrize("username", ["kabid", "subkor", "admin"])
def test_monitors_of_the_unit_download(client_for, sop2, username):
    assert client_for(username).get(f"/sop/{sop2.pk}/log.xes").status_code == 200


@pytest.mark.parametrize("username", ["tim", "supir"])
def test_other_roles_of_the_unit_get_403(client_for, sop2, username):
    assert client_for(username).get(f"/sop/{sop2.pk}/log.csv").status_code == 403


@pytest.mark.parametrize("username", ["kepala", "kasi", "outsider"])
def test_other_units_get_404(client_for, sop2, username):
    assert client_for(username).get(f"/sop/{sop2.pk}/log.xes").status_code == 404


def test_anonymous_is_sent_to_login(client, sop2):
    response = client.get(f"/sop/{sop2.pk}/log.csv")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_post_is_refused(client_for, sop2):
    assert client_for("kabid").post(f"/sop/{sop2.pk}/log.csv").status_code == 405


def test_hostile_parameters_never_fail(client_for, logged_runs):
    client = client_for("admin")
    sop = logged_runs[0].sop
    # Both exports read their parameters through one form: the hand-picked values alternate
    # between them, each value in every parameter at once.
    urls = [reverse(name, args=[sop.pk]) for name in ("sop_log_csv", "sop_log_xes")]
    params = ["dari", "sampai", "samaran"]

    def export(url, query):
        response = client.get(url, query)
        # A NUL in any query value is refused before the view (NulInQueryMiddleware).
        if any("\0" in str(value) for value in query.values()):
            assert response.status_code == 400, (url, query)
            return
        assert response.status_code == 200, (url, query)
        b"".join(response.streaming_content)

    for index, value in enumerate(BAD_VALUES):
        export(urls[index % len(urls)], dict.fromkeys(params, value))

    @given(st.sampled_from(urls), hostile_params(params))
    def any_parameters(url, query):
        export(url, query)

    any_parameters()


def test_a_log_of_more_runs_than_a_download_holds_is_refused_with_a_message(
    client_for, logged_runs, monkeypatch
):
    sop_id = logged_runs[0].sop_id
    monkeypatch.setattr(eventlog, "MAX_RUNS", 1)
    client = client_for("kabid")
    for extension in ("csv", "xes"):
        response = client.get(f"/sop/{sop_id}/log.{extension}?dari=2026-09-01&sampai=2026-09-30")
        assert response.status_code == 302
        assert response["Location"] == (
            f"/sop/{sop_id}/statistik/?dari=2026-09-01&sampai=2026-09-30"
        )
    page = client.get(response["Location"]).content.decode()
    assert "satu log memuat paling banyak 1" in page
    monkeypatch.setattr(eventlog, "MAX_RUNS", 2)  # both runs fit
    assert client.get(f"/sop/{sop_id}/log.csv?dari=2026-09-01&sampai=2026-09-30").status_code == 200
