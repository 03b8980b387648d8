"""Hostile input on every URL: bad values give a page or a message, never a 500, and change nothing.

Run it on PostgreSQL too, which refuses NUL characters in text and integers beyond bigint:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/sopflow .venv/bin/python -m pytest tests/test_hardening.py
"""

import contextlib
import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from activities.core import workflow
from activities.documents import archive
from activities.models import Attachment, Event, Role, Run, StepRun
from activities.text import first_control_character
from tests.test_reports import pdf_text

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
BAD_VALUES = [
    "",
    "0",
    "-1",
    HUGE,
    "-" + HUGE,
    "1e9",
    "abc",
    "１２",
    "ñ😀ß",
    "x" * 5000,
    "\x00",
    "1\x00",
    "a\x00b",
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "2026-02-30",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "0001-01-01 00:00",
    "31/12/9999 23:59",
    "' OR 1=1 --",
    "<script>",
    # Control characters (a pasted vertical tab, an ANSI escape, a bell, C1 and DEL).
    "a\x0bb",
    "\x1b[31mmerah\x1b[0m",
    "\x07",
    "a\x85b\x7f",
    "baris\nbaru",
    "tab\tdi tengah",
]

# The hand-picked values and values drawn around them: any text (NUL, control and astral
# characters), integers beyond every column's range, and dates at and past the calendar's ends
# written the ways the forms read them.
HOSTILE_VALUES = st.one_of(
    st.sampled_from(BAD_VALUES),
    st.text(max_size=80),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.builds(
        datetime.datetime.strftime,
        st.datetimes(min_value=datetime.datetime(1, 1, 1)),
        st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M", "%Y-%m"]),
    ),
)


def hostile_params(names):
    """One to three of `names`, each with a hostile value."""
    return st.dictionaries(st.sampled_from(names), HOSTILE_VALUES, min_size=1, max_size=3)


def valid_text(value):
    """Whether a text area takes `value` as a non-empty text."""
    value = value.strip()
    return bool(value) and first_control_character(value, multiline=True) is None


GET_PARAMS = {
    "run_list": ["sop", "status", "dari", "sampai", "q", "setelah", "sebelum"],
    "archive_list": ["sop", "status", "dari", "sampai", "q", "setelah", "format"],
    "archive_report": ["sop", "status", "dari", "sampai", "q"],
    "run_create": ["sop"],
    "kinerja": ["bulan", "pegawai", "format"],
}
STEP_FIELDS = {
    "selesai": [
        "action",
        "version",
        "round",
        "started_at",
        "completed_at",
        "output",
        "notes",
        "requirements",
    ],
    "setujui": [
        "setuju-version",
        "setuju-round",
        "setuju-deadline",
        "setuju-decision_notes",
        "setuju-started_at",
        "setuju-completed_at",
        "setuju-requirements",
        "setuju-instruction",
    ],
    "kembalikan": ["kembali-version", "kembali-round", "kembali-reason"],
}


def state():
    return (
        Run.objects.count(),
        Event.objects.count(),
        Attachment.objects.count(),
        list(StepRun.objects.order_by("pk").values_list("state", "round", "version")),
        list(Run.objects.order_by("pk").values_list("status", "title", "cancel_reason")),
    )


def open_run(sop, user, **kwargs):
    return workflow.open_run(
        sop=sop,
        user=user,
        title=kwargs.get("title", "Kegiatan uji"),
        scheduled_on=timezone.localdate(),
        place="Aula",
    )


def current(run, number):
    return StepRun.objects.filter(run=run, step__number=number).order_by("-round").first()


@pytest.fixture
def runs(sop1, sop2, users):
    """A running SOP 1 run at its approval step 2, and a finished SOP 2 run."""
    at_approval = open_run(sop1, users["kasi"])
    workflow.complete_step(run_id=at_approval.pk, number=1, user=users["kasi"])
    finished = open_run(sop2, users["admin"])
    for step in sop2.steps.order_by("number"):
        if step.is_approval:
            workflow.approve_step(
                run_id=finished.pk, number=step.number, user=users["admin"], instruction="Ya"
            )
        else:
            # A joint step takes the admin's part (a.n.) for each of its roles.
            for _role in step.roles.all() if step.is_joint else [None]:
                workflow.complete_step(run_id=finished.pk, number=step.number, user=users["admin"])
    return {"approval": at_approval, "finished": finished}


@pytest.mark.parametrize("name", GET_PARAMS)
def test_get_parameters_never_fail(client_for, runs, name):
    client = client_for("admin")
    url = reverse(name)
    before = state()
    # Every hand-picked value reaches every parameter of the page in one request...
    for value in BAD_VALUES:
        response = client.get(url, dict.fromkeys(GET_PARAMS[name], value))
        assert response.status_code < 500, value

    # ...and drawn values meet one another, repeated and in a partial (htmx) request.
    @given(hostile_params(GET_PARAMS[name]))
    def any_parameters(params):
        assert client.get(url, params).status_code < 500, params
        duplicated = {param: [value, "1", value] for param, value in params.items()}
        assert client.get(url, duplicated).status_code < 500, params
        partial = client.get(url, params, headers={"HX-Request": "true"})
        assert partial.status_code < 500, params

    any_parameters()
    assert state() == before


def test_open_form_fields_never_fail(client_for, sop1, runs):
    client = client_for("kasi")
    url = f"{reverse('run_create')}?sop={sop1.pk}"
    before = state()
    for field in ["title", "scheduled_on", "place", "notes"]:
        for value in BAD_VALUES:
            # The date is refused unless it is the field under test, so nothing is opened.
            data = {"title": "Sosialisasi", "scheduled_on": "0001-01-01", "place": "Aula"}
            data[field] = value
            response = client.post(url, data)
            assert response.status_code < 500, (field, value)
    assert state() == before


def every_value_and_drawn_ones(fields, post):
    """`post(field, value)` for each hand-picked value (the fields taking turns) and for drawn
    pairs of any field and any hostile value."""
    for index, value in enumerate(BAD_VALUES):
        post(fields[index % len(fields)], value)

    @given(st.sampled_from(fields), HOSTILE_VALUES)
    def any_field(field, value):
        post(field, value)

    any_field()


@contextlib.contextmanager
def rolled_back():
    """A savepoint undone after: each hostile post starts from the same run."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.mark.parametrize("action", ["setujui", "kembalikan"])
def test_step_form_fields_never_fail(client_for, runs, action):
    run = runs["approval"]
    client = client_for("kepala")
    url = reverse("step_action", args=[run.pk, 2])
    before = state()

    def post(field, value):
        with rolled_back():
            # Every other field valid except one that keeps the transition from happening.
            step_run = current(run, 2)
            data = {
                "action": action,
                "setuju-version": step_run.version,
                "setuju-round": step_run.round,
                "setuju-instruction": "",
                "kembali-version": step_run.version,
                "kembali-round": step_run.round,
                "kembali-reason": "",
                field: value,
            }
            response = client.post(url, data)
            assert response.status_code < 500, (field, value)
            # Any text without a control character is a valid disposisi or reason.
            if field.endswith(("instruction", "reason")) and valid_text(value):
                assert state() != before, (field, value)
            else:
                assert state() == before, (field, value)

    every_value_and_drawn_ones(STEP_FIELDS[action], post)
    assert state() == before


def test_complete_form_fields_never_fail(client_for, sop2, users):
    run = open_run(sop2, users["subkor"])
    client = client_for("subkor")
    url = reverse("step_action", args=[run.pk, 1])
    before = state()

    def post(field, value):
        step_run = current(run, 1)
        data = {
            "action": "selesai",
            "version": step_run.version,
            "round": step_run.round,
            # A completion before the activation refuses the step whatever else is sent.
            "started_at": "2000-01-01T08:00",
            "completed_at": "2000-01-01T07:00",
        }
        data[field] = value
        response = client.post(url, data)
        assert response.status_code < 500, (field, value)
        assert state() == before, (field, value)

    every_value_and_drawn_ones(STEP_FIELDS["selesai"], post)


@pytest.mark.parametrize("field", ["action", "reason", "lampiran", "csrfmiddlewaretoken"])
def test_cancel_and_odd_fields_never_fail(client_for, runs, field):
    run = runs["approval"]
    client = client_for("kasi")
    before = state()
    # Any other reason is a valid one and would cancel the run.
    values = [v for v in BAD_VALUES if field != "reason" or not valid_text(v)]
    for value in values:
        response = client.post(reverse("run_cancel", args=[run.pk]), {"reason": "", field: value})
        assert response.status_code < 500, value
    assert state() == before


def test_a_file_field_sent_as_text_or_empty(client_for, runs):
    run = runs["approval"]
    client = client_for("kepala")
    step_run = current(run, 2)
    before = state()
    url = reverse("step_action", args=[run.pk, 2])
    base = {"action": "setujui", "setuju-version": step_run.version, "setuju-round": 99}
    for lampiran in ["teks", "", SimpleUploadedFile("a.jpg", b"")]:
        response = client.post(url, {**base, "lampiran": lampiran})
        assert response.status_code < 500
    nameless_file = (
        b"--x\r\n"
        b'Content-Disposition: form-data; name="action"\r\n\r\nsetujui\r\n'
        b"--x\r\n"
        b'Content-Disposition: form-data; name="lampiran"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b"--x--\r\n"
    )
    for body in [b"", b"--x--\r\n", nameless_file, b"garbage"]:
        response = client.post(url, body, content_type="multipart/form-data; boundary=x")
        assert response.status_code < 500
    assert state() == before


@pytest.mark.parametrize(
    "name,extra",
    [
        ("run_detail", []),
        ("run_report", []),
        ("run_cancel", []),
        ("step_action", [1]),
        ("step_action", [2**63]),
        ("attachment_download", [1]),
        ("attachment_thumbnail", [2**63]),
        ("sop_detail", []),
        ("sop_pdf", []),
        ("sop_log_csv", []),
        ("sop_log_xes", []),
    ],
)
def test_ids_out_of_range_are_404(client_for, runs, name, extra):
    client = client_for("admin")
    before = state()
    for pk in [0, 2**31, 2**63, int(HUGE)]:
        url = reverse(name, args=[pk, *extra])
        response = client.post(url) if name == "run_cancel" else client.get(url)
        assert response.status_code == 404, url
        if name == "step_action":
            assert client.post(url, {"action": "selesai"}).status_code == 404
    assert state() == before


def test_an_existing_run_with_a_huge_step_number_is_404(client_for, runs):
    client = client_for("admin")
    url = reverse("step_action", args=[runs["approval"].pk, 2**63])
    assert client.get(url).status_code == 404


def closed_copies(run, count):
    """`count` finished copies of the finished `run`, each with its step runs."""
    run.refresh_from_db()
    step_runs = list(StepRun.objects.filter(run=run))
    copies = Run.objects.bulk_create(
        Run(
            sop=run.sop,
            unit=run.unit,
            title=f"Salinan {n}",
            scheduled_on=run.scheduled_on,
            place=run.place,
            opened_by=run.opened_by,
            opened_at=run.opened_at,
            status=Run.Status.FINISHED,
            finished_at=run.finished_at,
        )
        for n in range(count)
    )
    fields = ["step_id", "state", "round", "activated_at", "started_at", "completed_at"]
    StepRun.objects.bulk_create(
        StepRun(run=copy, **{name: getattr(sr, name) for name in fields})
        for copy in copies
        for sr in step_runs
    )


@pytest.mark.parametrize(
    "query", ["", "?status=finished", "?format=csv", "?format=xlsx", "?q=salinan&dari=2000-01-01"]
)
def test_archive_queries_do_not_grow_with_runs(
    client_for, runs, query, django_assert_max_num_queries
):
    client = client_for("admin")
    url = "/arsip/" + query

    def queries():
        with django_assert_max_num_queries(12) as captured:
            response = client.get(url)
            # A streamed CSV runs its queries while it is read.
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(captured)

    closed_copies(runs["finished"], 2)
    few = queries()
    closed_copies(runs["finished"], 60)
    assert queries() == few


def test_period_report_queries_do_not_grow_with_runs(runs, django_assert_max_num_queries):
    from activities.models import Unit

    units = list(Unit.objects.all())
    today = timezone.localdate()

    def queries():
        with django_assert_max_num_queries(12) as captured:
            report = archive.build_archive_report(units, today, today)
        return len(captured), report.finished

    closed_copies(runs["finished"], 2)
    few, count = queries()
    closed_copies(runs["finished"], 60)
    many, more = queries()
    assert (many, more) == (few, count + 60)


def test_a_kepala_who_also_works_in_another_unit_archives_only_his_own(client_for, runs, users):
    """Kepala of Kesbangpol who also sits in Diskominfo's Tim: the Diskominfo run (finished)
    is his to see as a run, never in his archive, export or period report."""
    Role.objects.get(unit=runs["finished"].unit, name="Tim").members.add(users["kepala"])
    client = client_for("kepala")
    title = runs["finished"].title
    assert client.get(runs["finished"].get_absolute_url()).status_code == 200
    assert title not in [run.title for run in client.get("/arsip/").context["rows"]]
    csv_body = b"".join(client.get("/arsip/?format=csv").streaming_content).decode()
    assert runs["finished"].unit.short_name not in csv_body
    sop_choice = client.get("/arsip/", {"sop": runs["finished"].sop_id})
    assert "SOP yang dipilih tidak dikenal." in sop_choice.content.decode()
    today = timezone.localdate().isoformat()
    report = client.get("/arsip/laporan.pdf", {"dari": today, "sampai": today})
    assert report.status_code == 200
    text = " ".join(pdf_text(report.content))
    assert "Kesbangpol" in text or "Kesatuan Bangsa" in text
    assert runs["finished"].sop.name not in text


JUNK_BODIES = [
    b"garbage",
    b"--x--\r\n",
    b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n',
    # A file part whose base64 cannot be decoded: the parser refuses the whole body.
    b'--x\r\nContent-Disposition: form-data; name="f"; filename="a.jpg"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nA\r\n--x--\r\n",
    b"--x\r\nContent-Disposition: form-data; name*=utf-8''%ff\r\n\r\n\xff\x00\r\n--x--",
]
JUNK_TYPES = [
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "multipart/form-data; boundary=" + "x" * 300,
    "application/x-www-form-urlencoded; charset=bogus",
]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged in"])
def test_junk_bodies_to_unknown_urls_are_404(users, logged_in):
    """The 404 page must not read the body: Django's default one checks a POST's CSRF token,
    which parses it, and an unparsable body turned the 404 into a 500."""
    client = Client(enforce_csrf_checks=True)
    if logged_in:
        client.force_login(users["kasi"])
    client.get("/tugas/")  # the CSRF cookie, as a browser would have it
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    for path in ["/tidak-ada/", "/kegiatan/1/tidak-ada/", "/wp-login.php"]:
        for content_type in JUNK_TYPES:
            for body in JUNK_BODIES:
                response = client.generic(
                    "POST", path, body, content_type=content_type, HTTP_X_CSRFTOKEN=token
                )
                assert response.status_code == 404, (path, content_type, body)
                assert "Halaman tidak ditemukan" in response.content.decode()


def test_junk_bodies_to_real_urls_are_refused_clearly(client_for, runs):
    client = client_for("kepala")
    run = runs["approval"]
    before = state()
    for path in [reverse("step_action", args=[run.pk, 2]), reverse("run_cancel", args=[run.pk])]:
        for content_type in JUNK_TYPES:
            for body in JUNK_BODIES:
                response = client.generic("POST", path, body, content_type=content_type)
                assert response.status_code in (302, 400, 403), (path, content_type, body)
    assert state() == before


def test_an_oversize_body_is_413_before_it_is_read(client_for, runs, settings):
    settings.SOPFLOW_REQUEST_MAX_BYTES = 10_000
    client = client_for("kepala")
    url = reverse("step_action", args=[runs["approval"].pk, 2])
    before = state()
    body = b"--x\r\n" + b"a" * 20_000
    response = client.generic("POST", url, body, content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413
    assert "Kiriman terlalu besar" in response.content.decode()
    assert response["Connection"] == "close"
    # At the limit it goes through to the form (which refuses it for its own reasons).
    response = client.generic("POST", url, b"a=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert state() == before


def test_too_many_fields_or_files_is_400(client_for, runs):
    client = client_for("kepala")
    url = reverse("step_action", args=[runs["approval"].pk, 2])
    before = state()
    fields = {f"f{n}": "x" for n in range(400)}
    assert client.post(url, fields).status_code == 400
    files = {"lampiran": [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(60)]}
    response = client.post(url, {"action": "setujui", **files})
    assert response.status_code == 400
    assert "Permintaan tidak valid" in response.content.decode()
    assert state() == before
