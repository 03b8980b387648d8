"""The run pages from the outside: inbox, runs list, opening a run, its timeline, a step.

Each view: allowed, forbidden (403 same unit, 404 other unit), wrong method, login required,
its side effect; bad input gives a clear message and changes nothing.
"""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags

from activities.core import workflow
from activities.models import Event, Run, Sop, StepRun
from activities.time import timing

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def open_run(sop, user, *, title="Sosialisasi wawasan kebangsaan", now=None, **extra):
    return workflow.open_run(
        sop=sop,
        user=user,
        title=title,
        scheduled_on=extra.pop("scheduled_on", today()),
        place=extra.pop("place", "Aula Kesbangpol"),
        now=now,
    )


def step_run(run, number):
    """The latest round of step `number` of `run`."""
    return (
        StepRun.objects.select_related("step")
        .filter(run=run, step__number=number)
        .order_by("-round")
        .first()
    )


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def snapshot():
    return (
        Event.objects.count(),
        StepRun.objects.count(),
        Run.objects.count(),
        list(StepRun.objects.order_by("pk").values_list("state", "version")),
        list(Run.objects.order_by("pk").values_list("status", flat=True)),
    )


def text(response):
    return response.content.decode()


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def form_data(run, number, action, **fields):
    """What the step form posts for `action`, made from the current round of step `number`."""
    current = step_run(run, number)
    prefix = {"selesai": "", "setujui": "setuju-", "kembalikan": "kembali-"}[action]
    data = {f"{prefix}{name}": value for name, value in fields.items()}
    return data | {
        "action": action,
        f"{prefix}version": current.version,
        f"{prefix}round": current.round,
    }


def step_url(run, number):
    return reverse("step_action", args=[run.pk, number])


def complete(run, number, user, **kwargs):
    current = step_run(run, number)
    return workflow.complete_step(
        run_id=run.pk, number=number, user=user, expected_version=current.version, **kwargs
    )


def approve(run, number, user):
    return workflow.approve_step(run_id=run.pk, number=number, user=user, instruction="Lanjut")


def finish_sop2(run, admin):
    """Drive a SOP 2 run to its end as the superuser (on behalf of every role)."""
    for number in range(1, 10):
        if step_run(run, number).step.is_approval:
            approve(run, number, admin)
        else:
            # A joint step (7: Tim and Kernet/Supir) takes a part for each of its roles.
            while step_run(run, number).state == StepRun.State.ACTIVE:
                complete(run, number, admin)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run


# --- login and methods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/tugas/",
        "/kegiatan/",
        "/kegiatan/baru/?sop=1",
        "/kegiatan/1/",
        "/kegiatan/1/langkah/1/",
    ],
)
def test_pages_require_login(client, seeded, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_cancel_requires_login(client, seeded):
    response = client.post("/kegiatan/1/batal/", {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_navigation_shows_each_reader_his_links(client_for, users):
    """Every reader sees the five pages of his work; Plt./Plh. those who appoint, Webhook those
    who may subscribe, Administrasi the staff; the current page's link is marked, and the
    labels follow the reader's language."""
    from activities.core import policy

    for username, user in users.items():
        page = text(client_for(username).get("/kegiatan/"))
        nav = page[page.index('<ul class="navbar-nav') : page.index("</ul>")]
        assert f'<a class="nav-link active" href="{reverse("run_list")}">Kegiatan</a>' in nav
        assert f'<a class="nav-link" href="{reverse("sop_list")}">SOP</a>' in nav
        shown = {
            "Plt./Plh.": policy.has_anywhere(user, "appoint_acting"),
            "Webhook": policy.may_subscribe_webhooks(user),
            "Administrasi": user.is_staff,
        }
        assert {label for label in shown if f">{label}</a>" in nav} == {
            label for label, may in shown.items() if may
        }, username
    assert any(policy.has_anywhere(user, "appoint_acting") for user in users.values())
    assert any(user.is_staff for user in users.values())
    client = client_for("kasi")
    client.post("/i18n/setlang/", {"language": "en", "next": "/tugas/"})
    english = text(client.get("/tugas/"))
    translation.deactivate()
    assert f'<a class="nav-link active" href="{reverse("inbox")}">Tasks' in english


def test_home_redirects_to_inbox(client_for):
    response = client_for("kasi").get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tugas/"),
        ("post", "/kegiatan/"),
        ("post", "/kegiatan/{pk}/"),
        ("get", "/kegiatan/{pk}/batal/"),
        ("put", "/kegiatan/baru/?sop={sop}"),
        ("delete", "/kegiatan/{pk}/langkah/1/"),
    ],
)
def test_wrong_method_is_405(client_for, users, sop1, method, path):
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    response = getattr(client_for("kasi"), method)(path.format(pk=run.pk, sop=sop1.pk))
    assert response.status_code == 405
    assert snapshot() == before


# --- inbox ---------------------------------------------------------------------------------


def test_inbox_lists_my_active_steps_oldest_first(client_for, users, sop1, sop2):
    old = open_run(
        sop1, users["kasi"], title="Lama", now=timezone.now() - datetime.timedelta(days=30)
    )
    new = open_run(sop1, users["kasi"], title="Baru")
    open_run(sop2, users["subkor"], title="Wawaran Diskominfo")
    response = client_for("kasi").get("/tugas/")
    assert response.status_code == 200
    page = text(response)
    assert page.index("Lama") < page.index("Baru")
    assert "Wawaran Diskominfo" not in page
    assert step_url(old, 1) in page and step_url(new, 1) in page
    # Thirty days waiting on a 15-minute step is overdue; the new one is not (yet).
    tasks = {task.step_run.run_id: task for task in response.context["tasks"]}
    assert tasks[old.pk].overdue and tasks[old.pk].elapsed_minutes > 15
    assert not tasks[new.pk].overdue
    assert page.count("Terlambat") == 1


def test_inbox_shows_only_steps_of_my_role(client_for, users, sop1):
    open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    response = client_for("staf").get("/tugas/")
    assert "Sosialisasi ormas" not in text(response)
    assert "Tidak ada tugas yang menunggu Anda." in text(response)


def test_inbox_moves_with_the_step(client_for, users, sop1):
    run = open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    complete(run, 1, users["kasi"])
    assert "Sosialisasi ormas" not in text(client_for("kasi").get("/tugas/"))
    assert "Sosialisasi ormas" in text(client_for("kepala").get("/tugas/"))


def test_inbox_htmx_returns_the_task_list_only(client_for, users, sop1):
    open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    response = client_for("kasi").get("/tugas/", headers={"HX-Request": "true"})
    page = text(response)
    assert "Sosialisasi ormas" in page
    assert "<html" not in page
    assert 'id="inbox-count"' in page and ">1</span>" in page
    assert "HX-Request" in response["Vary"]


def test_inbox_badge_stops_at_99_plus_and_the_inbox_pages(client_for, users, sop1):
    bulk_runs(sop1, users["kasi"], 99)
    client = client_for("kasi")
    assert '<span class="badge text-bg-warning" id="inbox-count">99</span>' in text(
        client.get("/kegiatan/")
    )
    bulk_runs(sop1, users["kasi"], 30, title="Tambahan {n:03d}")
    assert '<span class="badge text-bg-warning" id="inbox-count">99+</span>' in text(
        client.get("/kegiatan/")
    )
    first, third = client.get("/tugas/"), client.get("/tugas/?halaman=3")
    assert len(first.context["tasks"]) == 50 and first.context["next_page"] == 2
    assert len(third.context["tasks"]) == 29 and third.context["next_page"] is None
    assert "?halaman=2" in text(third)
    # The pages together hold every task once, soonest due first.
    pages = [client.get(f"/tugas/?halaman={n}").context["tasks"] for n in (1, 2, 3)]
    ids = [task.step_run.pk for page in pages for task in page]
    assert len(set(ids)) == 129
    # A page number that is not one shows the first page.
    assert client.get("/tugas/?halaman=x").context["tasks"][0].step_run.pk == ids[0]


# --- runs list -----------------------------------------------------------------------------


def test_run_list_shows_my_units_runs_with_current_step(client_for, users, sop1, sop2):
    mine = open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    complete(mine, 1, users["kasi"])
    open_run(sop2, users["subkor"], title="Wawaran keliling")
    response = client_for("staf").get("/kegiatan/")
    page = text(response)
    assert response.status_code == 200
    assert "Sosialisasi ormas" in page
    assert "Wawaran keliling" not in page
    assert "Rekomendasi dari Kepala kantor" in page  # step 2, the current one
    assert "Kepala" in page


def test_run_list_offers_to_open_only_what_i_may_open(client_for, sop1):
    create = f"{reverse('run_create')}?sop={sop1.pk}"
    assert create in text(client_for("kasi").get("/kegiatan/"))
    assert create not in text(client_for("staf").get("/kegiatan/"))


def test_run_list_filters(client_for, users, sop1):
    kasi = users["kasi"]
    open_run(sop1, kasi, title="Sosialisasi ormas", scheduled_on=datetime.date(2026, 3, 2))
    cancelled = open_run(
        sop1, kasi, title="Sosialisasi pemilu", scheduled_on=datetime.date(2026, 5, 4)
    )
    workflow.cancel_run(run_id=cancelled.pk, user=kasi, reason="Anggaran dialihkan")
    client = client_for("kasi")

    def titles(**params):
        response = client.get("/kegiatan/", params)
        assert response.status_code == 200
        assert not response.context["errors"], response.context["errors"]
        return {run.title for run in response.context["runs"]}

    assert titles() == {"Sosialisasi ormas", "Sosialisasi pemilu"}
    assert titles(status="cancelled") == {"Sosialisasi pemilu"}
    assert titles(status="running", sop=sop1.pk) == {"Sosialisasi ormas"}
    assert titles(q="PEMILU") == {"Sosialisasi pemilu"}
    assert titles(dari="2026-04-01") == {"Sosialisasi pemilu"}
    assert titles(sampai="2026-04-01") == {"Sosialisasi ormas"}
    assert titles(dari="2026-03-02", sampai="2026-03-02") == {"Sosialisasi ormas"}
    assert titles(q="tidak ada") == set()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "hilang"}, "Status “hilang” tidak dikenal."),
        ({"dari": "kemarin"}, "Masukkan tanggal yang valid"),
        ({"sop": "abc"}, "SOP yang dipilih tidak tersedia."),
        ({"sop": "999999"}, "SOP yang dipilih tidak tersedia."),
        ({"dari": "2026-05-01", "sampai": "2026-04-01"}, "tidak boleh sebelum"),
        ({"setelah": "bukan-kursor"}, "Alamat halaman tidak dikenal"),
        ({"sebelum": "99999999999999999999999.1"}, "Alamat halaman tidak dikenal"),
    ],
)
def test_run_list_invalid_filters_are_explained(client_for, users, sop1, params, message):
    open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    response = client_for("kasi").get("/kegiatan/", params)
    assert response.status_code == 200
    assert any(message in error for error in response.context["errors"])
    assert message in text(response)
    # The invalid part is left out; the list still shows.
    assert "Sosialisasi ormas" in text(response)


def test_run_list_other_units_sop_is_not_a_filter(client_for, users, sop1, sop2):
    response = client_for("kasi").get("/kegiatan/", {"sop": sop2.pk})
    assert "SOP yang dipilih tidak tersedia." in text(response)


def bulk_runs(sop, user, count, *, start=None, title="Kegiatan {n:03d}"):
    """`count` running runs of `sop` with step 1 active, opened a minute apart."""
    start = start or timezone.now() - datetime.timedelta(days=count)
    runs = Run.objects.bulk_create(
        Run(
            sop=sop,
            unit=sop.unit,
            title=title.format(n=n),
            scheduled_on=today(),
            place="Aula",
            opened_by=user,
            opened_at=start + datetime.timedelta(minutes=n),
        )
        for n in range(count)
    )
    steps = list(sop.steps.order_by("number"))
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            step=step,
            state=StepRun.State.ACTIVE if step.number == 1 else StepRun.State.WAITING,
            activated_at=run.opened_at if step.number == 1 else None,
            version=1 if step.number == 1 else 0,
        )
        for run in runs
        for step in steps
    )
    return runs


def test_run_list_keyset_pages_keep_the_filters(client_for, users, sop1):
    bulk_runs(sop1, users["kasi"], 60, title="Sosialisasi {n:03d}")
    bulk_runs(sop1, users["kasi"], 5, title="Rapat {n:03d}")
    client = client_for("kasi")

    first = client.get("/kegiatan/", {"q": "sosialisasi", "status": "running"})
    first_titles = [run.title for run in first.context["runs"]]
    assert first_titles == [f"Sosialisasi {n:03d}" for n in range(59, 34, -1)]
    assert first.context["previous_cursor"] is None
    next_url = (
        re.search(r'href="(\?[^"]*setelah=[^"]*)"', text(first)).group(1).replace("&amp;", "&")
    )
    assert "q=sosialisasi" in next_url and "status=running" in next_url

    second = client.get("/kegiatan/" + next_url)
    assert [run.title for run in second.context["runs"]] == [
        f"Sosialisasi {n:03d}" for n in range(34, 9, -1)
    ]
    third = client.get("/kegiatan/", {"q": "sosialisasi", "setelah": second.context["next_cursor"]})
    assert [run.title for run in third.context["runs"]] == [
        f"Sosialisasi {n:03d}" for n in range(9, -1, -1)
    ]
    assert third.context["next_cursor"] is None

    back = client.get(
        "/kegiatan/", {"q": "sosialisasi", "sebelum": third.context["previous_cursor"]}
    )
    assert [run.title for run in back.context["runs"]] == [
        run.title for run in second.context["runs"]
    ]
    back_to_first = client.get(
        "/kegiatan/", {"q": "sosialisasi", "sebelum": back.context["previous_cursor"]}
    )
    assert [run.title for run in back_to_first.context["runs"]] == first_titles
    assert back_to_first.context["previous_cursor"] is None


def test_run_list_keyset_breaks_ties_on_id(client_for, users, sop1):
    same_moment = timezone.now() - datetime.timedelta(days=1)
    runs = bulk_runs(sop1, users["kasi"], 30, start=same_moment)
    Run.objects.filter(pk__in=[run.pk for run in runs]).update(opened_at=same_moment)
    client = client_for("kasi")
    first = client.get("/kegiatan/")
    second = client.get("/kegiatan/", {"setelah": first.context["next_cursor"]})
    seen = [run.pk for run in first.context["runs"]] + [run.pk for run in second.context["runs"]]
    assert seen == sorted((run.pk for run in runs), reverse=True)


def test_run_list_htmx_swaps_only_the_results(client_for, users, sop1):
    open_run(sop1, users["kasi"], title="Sosialisasi ormas")
    response = client_for("kasi").get("/kegiatan/", {"q": "ormas"}, headers={"HX-Request": "true"})
    page = text(response)
    assert "Sosialisasi ormas" in page
    assert "<form" not in page and "<html" not in page
    assert "HX-Request" in response["Vary"]
    full = client_for("kasi").get(
        "/kegiatan/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in text(full)


# --- opening a run -------------------------------------------------------------------------


def create_url(sop):
    return f"{reverse('run_create')}?sop={sop.pk}"


def run_data(**overrides):
    data = {
        "title": "Sosialisasi wawasan kebangsaan",
        "scheduled_on": (today() + datetime.timedelta(days=7)).isoformat(),
        "place": "Aula Kesbangpol",
        "notes": "Peserta 100 orang",
    }
    return data | overrides


def test_open_run_form_names_the_sop(client_for, sop1):
    response = client_for("kasi").get(create_url(sop1))
    assert response.status_code == 200
    page = text(response)
    assert sop1.name in page
    assert 'name="title"' in page and 'type="date"' in page
    assert "Anda bertindak atas nama" not in page


def test_open_run_creates_it_and_activates_step_1(client_for, users, sop1):
    response = client_for("kasi").post(create_url(sop1), run_data())
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    assert (run.title, run.place, run.notes, run.opened_by) == (
        "Sosialisasi wawasan kebangsaan",
        "Aula Kesbangpol",
        "Peserta 100 orang",
        users["kasi"],
    )
    assert step_run(run, 1).state == StepRun.State.ACTIVE
    follow = client_for("kasi").get(response["Location"])
    assert "Langkah 1 (Kasi) sekarang aktif." in " ".join(messages_of(follow))


def test_open_run_allows_backfilling_up_to_a_year(client_for, sop1):
    last_month = (today() - datetime.timedelta(days=30)).isoformat()
    response = client_for("kasi").post(create_url(sop1), run_data(scheduled_on=last_month))
    assert response.status_code == 302
    assert Run.objects.get().scheduled_on.isoformat() == last_month


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Judul kegiatan wajib diisi."),
        ({"title": "   "}, "title", "Judul kegiatan wajib diisi."),
        ({"place": ""}, "place", "Tempat kegiatan wajib diisi."),
        ({"scheduled_on": ""}, "scheduled_on", "Tanggal pelaksanaan wajib diisi."),
        ({"scheduled_on": "31-02-2026"}, "scheduled_on", "Masukkan tanggal yang valid"),
        ({"scheduled_on": "besok"}, "scheduled_on", "Masukkan tanggal yang valid"),
        (
            {"scheduled_on": (today() - datetime.timedelta(days=400)).isoformat()},
            "scheduled_on",
            "paling lama satu tahun yang lalu",
        ),
        ({"scheduled_on": "2062-01-01"}, "scheduled_on", "paling jauh dua tahun ke depan"),
    ],
)
def test_open_run_bad_input(client_for, sop1, overrides, field, message):
    before = snapshot()
    response = client_for("kasi").post(create_url(sop1), run_data(**overrides))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("query", ["", "?sop=", "?sop=abc", "?sop=1.5"])
def test_open_run_without_a_sop_explains(client_for, query):
    response = client_for("kasi").get(reverse("run_create") + query, follow=True)
    assert response.redirect_chain[-1][0] == reverse("run_list")
    assert "Pilih SOP yang akan dijalankan" in " ".join(messages_of(response))


@pytest.mark.parametrize("method", ["get", "post"])
def test_open_run_unknown_or_other_units_sop_is_404(client_for, sop2, method):
    before = snapshot()
    client = client_for("kasi")
    data = run_data() if method == "post" else None
    for url in [
        create_url(sop2),
        "/kegiatan/baru/?sop=987654",
        "/kegiatan/baru/?sop=99999999999999999999",
    ]:
        assert getattr(client, method)(url, data).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_open_run_without_step_1_role_is_403(client_for, sop1, method):
    before = snapshot()
    data = run_data() if method == "post" else None
    response = getattr(client_for("staf"), method)(create_url(sop1), data)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("status", [Sop.Status.DRAFT, Sop.Status.RETIRED])
def test_open_run_of_an_inactive_sop_is_refused(client_for, sop1, status):
    Sop.objects.filter(pk=sop1.pk).update(status=status)
    client = client_for("kasi")
    page = text(client.get(create_url(sop1)))
    assert "SOP ini tidak berlaku" in page
    assert 'name="title"' not in page
    before = snapshot()
    response = client.post(create_url(sop1), run_data())
    assert response.status_code == 200
    assert "SOP ini tidak berlaku" in text(response)
    assert snapshot() == before


def test_superuser_opens_on_behalf(client_for, users, sop2):
    client = client_for("admin")
    assert "Anda bertindak atas nama Sub Kor DIMC" in text(client.get(create_url(sop2)))
    client.post(create_url(sop2), run_data())
    event = Event.objects.get(kind=Event.Kind.OPENED)
    assert event.actor == users["admin"] and event.on_behalf


def test_forms_carry_the_csrf_token(users, sop1):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["kasi"])
    # Without the token the POST is refused and nothing is opened.
    assert client.post(create_url(sop1), run_data()).status_code == 403
    assert not Run.objects.exists()
    page = text(client.get(create_url(sop1)))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(create_url(sop1), run_data(csrfmiddlewaretoken=token))
    assert response.status_code == 302
    run = Run.objects.get()
    # The step form carries it too.
    page = text(client.get(step_url(run, 1)))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    response = client.post(
        step_url(run, 1),
        {"csrfmiddlewaretoken": token, "action": "selesai", "version": version, "round": 1},
    )
    assert response.status_code == 302
    assert step_run(run, 1).state == StepRun.State.DONE


# --- run page ------------------------------------------------------------------------------


def test_run_page_shows_header_timeline_and_totals(client_for, users, sop1):
    run = open_run(
        sop1, users["kasi"], title="Sosialisasi ormas", scheduled_on=datetime.date(2026, 11, 23)
    )
    complete(run, 1, users["kasi"], output="Nota Dinas No. 5", notes="Dibahas di rapat")
    response = client_for("kasi").get(run.get_absolute_url())
    assert response.status_code == 200
    page = text(response)
    for expected in [
        "Sosialisasi ormas",
        sop1.name,
        "Senin, 23 November 2026",
        "Aula Kesbangpol",
        "Budi Santoso",  # opened by and performer
        "Nota Dinas No. 5",
        "Dibahas di rapat",
        "5 hari 4 jam 45 menit",
        "Tepat waktu",
        reverse("run_report", args=[run.pk]),
    ]:
        assert expected in page, expected
    steps = response.context["timeline"]
    assert [item.step.number for item in steps] == list(range(1, 16))
    # The Kasi may not act on step 2 (the Kepala's) but may cancel.
    assert step_url(run, 2) not in page
    assert "Menunggu langkah 2: Kepala." in page
    assert reverse("run_cancel", args=[run.pk]) in page


def test_run_page_offers_the_current_step_to_its_role(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    page = text(client_for("kepala").get(run.get_absolute_url()))
    assert step_url(run, 2) in page
    assert reverse("run_cancel", args=[run.pk]) not in page


def test_run_page_shows_every_round_and_the_return_reason(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Personil kurang")
    page = text(client_for("staf").get(run.get_absolute_url()))
    assert "Putaran 2" in page
    assert "Personil kurang" in page
    assert "Dikembalikan" in page


def test_a_round_prints_every_fact_it_recorded(client_for, users, sop1):
    """Each round on the run page lists who did it and as whom, when, how long against the
    standard, the requirements checked, its step data, output and notes, the disposisi with
    its deadline and notes, and why it was returned: escaped, line breaks kept, and in the
    reader's language."""
    step1 = sop1.steps.get(number=1)
    step1.data_fields = [
        {"key": "peserta", "label": "Jumlah peserta", "type": "number", "required": True}
    ]
    step1.save()
    requirement = step1.requirement_items()[0]
    run = open_run(sop1, users["kasi"])
    peserta = {"key": "peserta", "label": "Jumlah peserta", "type": "number", "number": "40"}
    complete(run, 1, users["kasi"], data=[peserta])
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Personil\nkurang")
    complete(
        run,
        1,
        users["kasi"],
        output="Nota <b>dinas</b>\nNo. 5",
        notes="Dibahas di rapat",
        requirements_checked=[requirement],
        data=[peserta],
    )
    deadline = today() + datetime.timedelta(days=7)
    workflow.approve_step(
        run_id=run.pk,
        number=2,
        user=users["kepala"],
        instruction="Laksanakan\nsegera",
        deadline=deadline,
        decision_notes="Undang camat",
    )
    client = client_for("staf")
    page = text(client.get(run.get_absolute_url()))
    kasi = sop1.role_name(sop1.steps.get(number=1).roles.get())
    assert f'<dt>Oleh</dt><dd>Budi Santoso <span class="text-muted">({kasi})</span></dd>' in page
    assert "<dt>Waktu</dt><dd>" in page and "<dt>Lama</dt><dd>" in page
    assert '<span class="text-muted">· selisih ' in page
    assert f"&check; {requirement}</span>" in page
    assert "<dt>Jumlah peserta</dt><dd data-step-value>40</dd>" in page
    assert "<dt>Output</dt><dd>Nota &lt;b&gt;dinas&lt;/b&gt;<br>No. 5</dd>" in page
    assert "<dt>Catatan</dt><dd>Dibahas di rapat</dd>" in page
    assert "<dt>Disposisi</dt><dd>Laksanakan<br>segera" in page
    assert f"batas waktu {timing.day_text(deadline)}</span>" in page
    assert '<span class="d-block text-muted">Undang camat</span>' in page
    assert "<dt>Alasan dikembalikan</dt><dd>Personil<br>kurang</dd>" in page
    assert "Putaran 2" in page and "Disetujui" in page and "Dikembalikan" in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/tugas/"})
    english = text(client.get(run.get_absolute_url()))
    translation.deactivate()
    assert "<dt>By</dt>" in english and "<dt>Reason for return</dt>" in english
    assert "Round 2" in english and "Putaran 2" not in english
    assert "<dt>Oleh</dt>" not in english


def test_run_page_marks_actions_on_behalf(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["admin"])
    page = text(client_for("kasi").get(run.get_absolute_url()))
    assert "Administrator" in page and "a.n." in page


def test_run_header_marks_opening_and_cancelling_on_behalf(client_for, users, sop1):
    by_kasi = open_run(sop1, users["kasi"], title="Dibuka sendiri")
    page = " ".join(strip_tags(text(client_for("staf").get(by_kasi.get_absolute_url()))).split())
    assert "Budi Santoso, " in page and "a.n." not in page

    run = open_run(sop1, users["admin"])
    workflow.cancel_run(run_id=run.pk, user=users["admin"], reason="Narasumber berhalangan")
    page = " ".join(strip_tags(text(client_for("staf").get(run.get_absolute_url()))).split())
    assert "Administrator (a.n. Kasi), " in page
    assert "oleh Administrator (a.n. Kasi): Narasumber berhalangan" in page


def test_the_page_of_a_run_not_cancelled_reads_none_of_its_events(client_for, users, sop1):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run = open_run(sop1, users["admin"])
    client = client_for("staf")
    with CaptureQueriesContext(connection) as queries:
        page = " ".join(strip_tags(text(client.get(run.get_absolute_url()))).split())
    assert "Administrator (a.n. Kasi), " in page
    assert not [q for q in queries.captured_queries if "activities_event" in q["sql"]]


def test_the_role_a_step_was_done_as_prints_even_when_the_step_no_longer_names_it(
    client_for, users, sop1
):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    first = step_run(run, 1)
    role = first.completed_as
    first.step.roles.remove(role)
    page = " ".join(strip_tags(text(client_for("staf").get(run.get_absolute_url()))).split())
    assert f"Budi Santoso ({role.name})" in page


def test_pages_of_a_run_whose_steps_ask_for_no_data_read_none(client_for, users, sop1):
    from django.db import connection

    sop1.steps.update(data_fields=[])
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    client = client_for("kasi")
    for url in (run.get_absolute_url(), step_url(run, 1)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        assert not [q for q in queries.captured_queries if "activities_stepvalue" in q["sql"]]


def test_run_page_of_other_unit_is_404(client_for, users, sop2):
    run = open_run(sop2, users["subkor"])
    assert client_for("kasi").get(run.get_absolute_url()).status_code == 404
    assert client_for("outsider").get(run.get_absolute_url()).status_code == 404
    assert client_for("kasi").get("/kegiatan/99999999/").status_code == 404
    assert client_for("kasi").get("/kegiatan/99999999999999999999999/").status_code == 404
    assert (
        client_for("kasi").get(f"/kegiatan/{run.pk}/langkah/99999999999999999999/").status_code
        == 404
    )


def test_finished_run_page_offers_no_action(client_for, users, sop2):
    run = finish_sop2(open_run(sop2, users["subkor"]), users["admin"])
    page = text(client_for("subkor").get(run.get_absolute_url()))
    assert "Selesai" in page
    assert reverse("run_cancel", args=[run.pk]) not in page
    assert "Kerjakan" not in page


# --- cancelling ----------------------------------------------------------------------------


def test_cancel_run(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    response = client_for("kasi").post(
        reverse("run_cancel", args=[run.pk]), {"reason": "Anggaran dialihkan"}, follow=True
    )
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.cancel_reason == "Anggaran dialihkan"
    assert "dibatalkan" in " ".join(messages_of(response))
    assert Event.objects.filter(run=run, kind=Event.Kind.CANCELLED).count() == 1
    assert "Anggaran dialihkan" in text(response)


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_needs_a_reason(client_for, users, sop1, reason):
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    response = client_for("kasi").post(
        reverse("run_cancel", args=[run.pk]), {"reason": reason}, follow=True
    )
    assert "Alasan pembatalan wajib diisi." in messages_of(response)
    assert snapshot() == before


def test_cancel_permissions(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    url = reverse("run_cancel", args=[run.pk])
    before = snapshot()
    assert client_for("staf").post(url, {"reason": "x"}).status_code == 403
    assert client_for("kabid").post(url, {"reason": "x"}).status_code == 404
    assert snapshot() == before


def test_cancel_a_closed_run_changes_nothing(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason="Pertama")
    before = snapshot()
    response = client_for("kasi").post(
        reverse("run_cancel", args=[run.pk]), {"reason": "Kedua"}, follow=True
    )
    assert "Kegiatan ini sudah dibatalkan; tidak ada lagi yang dapat diubah." in messages_of(
        response
    )
    assert snapshot() == before


# --- the step form -------------------------------------------------------------------------


def test_process_step_form_shows_the_mutu_baku(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    response = client_for("kasi").get(step_url(run, 1))
    assert response.status_code == 200
    page = text(response)
    assert 'enctype="multipart/form-data"' in page
    assert 'name="lampiran"' in page
    for item in ["Komputer", "DPA", "Jadwal Kegiatan"]:
        assert f'value="{item}"' in page
    assert "15 Menit" in page
    assert "Nota Dinas</textarea>" in page  # output prefilled with the expected output
    assert 'type="datetime-local"' in page
    assert f'name="version" value="{step_run(run, 1).version}"' in page
    assert local(step_run(run, 1).activated_at) in page  # start defaults to the activation
    assert "Setujui" not in page


def test_complete_step(client_for, users, sop1):
    run = open_run(sop1, users["kasi"], now=timezone.now() - datetime.timedelta(hours=2))
    started = timezone.now() - datetime.timedelta(minutes=90)
    finished = timezone.now() - datetime.timedelta(minutes=60)
    response = client_for("kasi").post(
        step_url(run, 1),
        form_data(
            run,
            1,
            "selesai",
            requirements=["Komputer", "DPA"],
            started_at=local(started),
            completed_at=local(finished),
            output="Nota Dinas 005/2026",
            notes="Sudah diparaf",
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == run.get_absolute_url()
    assert "Langkah 1 selesai. Berikutnya langkah 2: Kepala." in messages_of(response)
    done = step_run(run, 1)
    assert done.state == StepRun.State.DONE
    assert (done.output, done.notes) == ("Nota Dinas 005/2026", "Sudah diparaf")
    assert done.requirements_checked_list() == ["Komputer", "DPA"]
    assert local(done.started_at) == local(started) and local(done.completed_at) == local(finished)
    assert done.completed_by == users["kasi"]
    assert step_run(run, 2).state == StepRun.State.ACTIVE


def test_complete_step_with_default_times(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    current = step_run(run, 1)
    client = client_for("kasi")
    page = text(client.get(step_url(run, 1)))
    # Submitting the form as shown: the minute-precision defaults stand for the exact moments.
    started = re.search(r'name="started_at" value="([^"]+)"', page).group(1)
    completed = re.search(r'name="completed_at" value="([^"]+)"', page).group(1)
    response = client.post(
        step_url(run, 1),
        form_data(run, 1, "selesai", started_at=started, completed_at=completed),
    )
    assert response.status_code == 302, response.context["forms"]["selesai"].errors
    done = step_run(run, 1)
    assert done.state == StepRun.State.DONE
    assert done.started_at == current.activated_at


def test_last_step_finishes_the_run(client_for, users, sop2):
    run = open_run(sop2, users["subkor"])
    for number in range(1, 9):
        if step_run(run, number).step.is_approval:
            approve(run, number, users["kabid"])
        else:
            # Step 7 takes a part for each of its two roles.
            while step_run(run, number).state == StepRun.State.ACTIVE:
                complete(run, number, users["admin"])
    response = client_for("kabid").post(step_url(run, 9), form_data(run, 9, "selesai"), follow=True)
    assert "Langkah 9 selesai. Kegiatan ini selesai." in messages_of(response)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED


def test_approval_step_form_offers_approve_and_return(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"], output="Nota Dinas 005", notes="Mohon arahan")
    response = client_for("kepala").get(step_url(run, 2))
    page = text(response)
    assert "Setujui" in page
    assert "Kembalikan ke langkah 1" in page
    assert 'name="setuju-instruction"' in page and 'name="kembali-reason"' in page
    # The previous step's output and notes are there to read.
    assert "Nota Dinas 005" in page and "Mohon arahan" in page


def test_approve_step(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    deadline = today() + datetime.timedelta(days=3)
    response = client_for("kepala").post(
        step_url(run, 2),
        form_data(
            run,
            2,
            "setujui",
            instruction="Laksanakan, koordinasi dengan Kasubag TU",
            deadline=deadline.isoformat(),
            decision_notes="Anggaran sesuai DPA",
        ),
        follow=True,
    )
    assert "Langkah 2 selesai. Berikutnya langkah 3: Kasi." in messages_of(response)
    approved = step_run(run, 2)
    assert approved.decision == StepRun.Decision.APPROVED
    assert approved.instruction == "Laksanakan, koordinasi dengan Kasubag TU"
    assert approved.deadline == deadline
    assert approved.decision_notes == "Anggaran sesuai DPA"
    page = text(response)
    assert "Laksanakan, koordinasi dengan Kasubag TU" in page and "Disetujui" in page


def test_return_step(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    response = client_for("kepala").post(
        step_url(run, 2),
        form_data(run, 2, "kembalikan", reason="Personil belum lengkap"),
        follow=True,
    )
    assert "Langkah 2 dikembalikan. Langkah 1 (Kasi) aktif lagi." in messages_of(response)
    returned = StepRun.objects.get(run=run, step__number=2, round=1)
    assert returned.state == StepRun.State.RETURNED
    assert returned.return_reason == "Personil belum lengkap"
    again = step_run(run, 1)
    assert (again.round, again.state) == (2, StepRun.State.ACTIVE)
    # The Kasi sees why it came back.
    page = text(client_for("kasi").get(step_url(run, 1)))
    assert "Personil belum lengkap" in page
    assert "Putaran sebelumnya" in page


def approval_ready(sop1, users):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    return run


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"action": "setujui", "setuju-instruction": ""},
            "instruction",
            "Isi disposisi wajib diisi.",
        ),
        (
            {"action": "setujui", "setuju-instruction": "  "},
            "instruction",
            "Isi disposisi wajib diisi.",
        ),
        (
            {"action": "setujui", "setuju-instruction": "Ok", "setuju-deadline": "2020-01-01"},
            "deadline",
            "Batas waktu disposisi tidak boleh sebelum tanggal persetujuan",
        ),
        (
            {"action": "setujui", "setuju-instruction": "Ok", "setuju-deadline": "2062-11-23"},
            "deadline",
            "Batas waktu disposisi paling jauh dua tahun ke depan.",
        ),
        (
            {"action": "setujui", "setuju-instruction": "Ok", "setuju-deadline": "kapan-kapan"},
            "deadline",
            "Masukkan tanggal yang valid",
        ),
        (
            {"action": "kembalikan", "kembali-reason": ""},
            "reason",
            "Alasan pengembalian wajib diisi.",
        ),
        (
            {"action": "kembalikan", "kembali-reason": " \n "},
            "reason",
            "Alasan pengembalian wajib diisi.",
        ),
    ],
)
def test_approval_bad_input(client_for, users, sop1, data, field, message):
    run = approval_ready(sop1, users)
    version = step_run(run, 2).version
    before = snapshot()
    response = client_for("kepala").post(
        step_url(run, 2),
        data
        | {
            "setuju-version": version,
            "kembali-version": version,
            "setuju-round": 1,
            "kembali-round": 1,
        },
    )
    assert response.status_code == 200
    form = response.context["forms"][data["action"]]
    assert any(message in error for error in form.errors[field])
    assert message in text(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        (
            {"started_at": -30, "completed_at": -60},
            "completed_at",
            "Waktu selesai harus sesudah waktu mulai.",
        ),
        ({"completed_at": +60}, "completed_at", "Waktu selesai tidak boleh di masa depan."),
        (
            {"started_at": +30, "completed_at": +60},
            "started_at",
            "Waktu mulai tidak boleh di masa depan.",
        ),
        (
            {"started_at": -300},
            "started_at",
            "Waktu mulai tidak boleh sebelum langkah sebelumnya selesai",
        ),
        ({"started_at": "kemarin sore"}, "started_at", "Masukkan tanggal dan jam yang valid"),
        (
            {"completed_at": "2026-13-01T10:00"},
            "completed_at",
            "Masukkan tanggal dan jam yang valid",
        ),
    ],
)
def test_complete_step_bad_times(client_for, users, sop1, times, field, message):
    now = timezone.now()
    run = open_run(sop1, users["kasi"], now=now - datetime.timedelta(hours=3))
    data = form_data(run, 1, "selesai")
    for name, value in times.items():
        data[name] = (
            local(now + datetime.timedelta(minutes=value)) if isinstance(value, int) else value
        )
    before = snapshot()
    response = client_for("kasi").post(step_url(run, 1), data)
    assert response.status_code == 200
    errors = response.context["forms"]["selesai"].errors
    assert any(message in error for error in errors[field]), errors
    assert message in text(response)
    assert snapshot() == before


def test_rejected_uploads_change_nothing(client_for, users, sop1, monkeypatch):
    def refuse(files, **_ids_and_times):
        raise ValidationError(["undangan.exe: jenis berkas tidak diizinkan."])

    monkeypatch.setattr("activities.core.uploads.validate_uploads", refuse)
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    response = client_for("kasi").post(step_url(run, 1), form_data(run, 1, "selesai"))
    assert response.status_code == 200
    assert "undangan.exe: jenis berkas tidak diizinkan." in text(response)
    assert snapshot() == before


def test_valid_uploads_are_passed_to_the_workflow(client_for, users, sop1, monkeypatch):
    passed = {}
    monkeypatch.setattr(
        "activities.core.uploads.validate_uploads", lambda files, **_ids_and_times: ["checked"]
    )
    monkeypatch.setattr(
        "activities.core.uploads.store",
        lambda run, step_run, uploads, actor, at: passed.update(uploads=uploads),
    )
    run = open_run(sop1, users["kasi"])
    client_for("kasi").post(step_url(run, 1), form_data(run, 1, "selesai"))
    assert passed == {"uploads": ["checked"]}


def test_non_active_step_is_read_only(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    response = client.get(step_url(run, 3))
    assert response.status_code == 200
    page = text(response)
    assert "Langkah 3 belum aktif" in page
    assert 'name="action"' not in page
    before = snapshot()
    response = client.post(step_url(run, 3), form_data(run, 3, "selesai"), follow=True)
    assert "Langkah 3 belum aktif; langkah sebelumnya belum selesai." in messages_of(response)
    assert snapshot() == before


def test_done_step_names_who_did_it(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    page = text(client_for("kasi").get(step_url(run, 1)))
    assert "Langkah 1 sudah diselesaikan oleh Budi Santoso pada " in page


def test_repeated_submit_gets_a_clear_message(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    data = form_data(run, 1, "selesai")
    client = client_for("kasi")
    assert client.post(step_url(run, 1), data).status_code == 302
    before = snapshot()
    response = client.post(step_url(run, 1), data, follow=True)
    assert "Langkah 1 sudah diselesaikan oleh Budi Santoso pada " in messages_of(response)[-1]
    assert snapshot() == before


def test_an_approval_that_loses_to_a_return_says_who_returned_it_and_when(client_for, users, sop1):
    run = approval_ready(sop1, users)
    approval = form_data(run, 2, "setujui", instruction="Setuju")
    returned = workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulang")
    before = snapshot()
    response = client_for("kepala").post(step_url(run, 2), approval, follow=True)
    name = users["kepala"].get_full_name()
    when = timezone.localtime(returned.entered_at).strftime("%H:%M")
    [message] = messages_of(response)
    assert message.startswith(f"Langkah 2 sudah dikembalikan ke langkah 1 oleh {name} pada ")
    assert message.endswith(f"{when}.")
    assert snapshot() == before


def test_stale_version_gets_a_clear_message(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    data = form_data(run, 1, "selesai")
    data["version"] += 5
    before = snapshot()
    response = client_for("kasi").post(step_url(run, 1), data, follow=True)
    assert "Langkah ini baru saja diubah orang lain." in " ".join(messages_of(response))
    assert response.redirect_chain[-1][0] == step_url(run, 1)
    assert snapshot() == before


def test_form_of_an_earlier_round_is_refused(client_for, users, sop1):
    """A form loaded before the step was returned must not complete the new round."""
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    page = text(client.get(step_url(run, 1)))
    old_form = {
        "action": "selesai",
        "version": re.search(r'name="version" value="(\d+)"', page).group(1),
        "round": re.search(r'name="round" value="(\d+)"', page).group(1),
        "notes": "dari formulir lama",
    }
    complete(run, 1, users["kasi"])
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulang")
    assert step_run(run, 1).round == 2
    before = snapshot()
    response = client.post(step_url(run, 1), old_form, follow=True)
    assert "sudah dikembalikan dan dibuka lagi" in " ".join(messages_of(response))
    assert snapshot() == before


def test_unknown_action_changes_nothing(client_for, users, sop1):
    run = approval_ready(sop1, users)
    before = snapshot()
    # A process action on an approval step, and nonsense.
    for action in ["selesai", "hapus", ""]:
        response = client_for("kepala").post(
            step_url(run, 2),
            {"action": action, "version": step_run(run, 2).version, "round": 1},
            follow=True,
        )
        assert "Tindakan tidak dikenal." in " ".join(messages_of(response))
    assert snapshot() == before


def test_missing_version_is_explained(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    response = client_for("kasi").post(step_url(run, 1), {"action": "selesai"})
    assert "Formulir tidak lengkap." in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("number", [0, 16, 99])
def test_tampered_step_number_is_404(client_for, users, sop1, number):
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    client = client_for("kasi")
    assert client.get(step_url(run, number)).status_code == 404
    data = {"action": "selesai", "version": 1, "round": 1}
    assert client.post(step_url(run, number), data).status_code == 404
    assert snapshot() == before


def test_step_of_other_units_run_is_404(client_for, users, sop2):
    run = open_run(sop2, users["subkor"])
    before = snapshot()
    client = client_for("kasi")
    assert client.get(step_url(run, 1)).status_code == 404
    assert client.post(step_url(run, 1), form_data(run, 1, "selesai")).status_code == 404
    assert snapshot() == before


def test_step_of_another_role_is_403(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    before = snapshot()
    client = client_for("staf")
    assert client.get(step_url(run, 1)).status_code == 403
    data = form_data(run, 1, "selesai")
    assert client.post(step_url(run, 1), data).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("close", ["finish", "cancel"])
def test_closed_run_steps_are_read_only(client_for, users, sop2, close):
    run = open_run(sop2, users["subkor"])
    if close == "finish":
        finish_sop2(run, users["admin"])
        expected = "Kegiatan ini sudah selesai; langkahnya hanya dapat dilihat."
    else:
        workflow.cancel_run(run_id=run.pk, user=users["subkor"], reason="Hujan")
        expected = "Kegiatan ini dibatalkan; langkahnya hanya dapat dilihat."
    client = client_for("subkor")
    page = text(client.get(step_url(run, 1)))
    assert expected in page and 'name="action"' not in page
    before = snapshot()
    response = client.post(step_url(run, 1), form_data(run, 1, "selesai"), follow=True)
    assert expected in messages_of(response)
    assert snapshot() == before


def test_superuser_sees_the_on_behalf_notice(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    page = text(client_for("admin").get(step_url(run, 1)))
    assert "Anda bertindak atas nama Kasi." in page


def test_two_role_step_is_open_to_both_roles(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    for number in range(1, 11):
        if step_run(run, number).step.is_approval:
            approve(run, number, users["admin"])
        else:
            complete(run, number, users["admin"])
    assert client_for("kasi").get(step_url(run, 11)).status_code == 200
    assert client_for("staf").get(step_url(run, 11)).status_code == 200
    assert client_for("kepala").get(step_url(run, 11)).status_code == 403


# --- query budgets -------------------------------------------------------------------------


def count_queries(client, url):
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


QUERY_COUNTS = {}


@pytest.mark.parametrize(
    ("name", "url", "budget"),
    [("inbox", "/tugas/", 14), ("run_list", "/kegiatan/", 13), ("run_detail", "detail", 20)],
)
def test_query_budget_is_flat(
    client_for, users, sop1, name, url, budget, django_assert_max_num_queries
):
    run = open_run(sop1, users["kasi"])
    complete(run, 1, users["kasi"])
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulang")
    client = client_for("kasi")
    url = run.get_absolute_url() if url == "detail" else url
    with django_assert_max_num_queries(budget):
        client.get(url)
    one = count_queries(client, url)
    bulk_runs(sop1, users["kasi"], 199)
    assert Run.objects.count() == 200
    many = count_queries(client, url)
    QUERY_COUNTS[name] = (one, many)
    print(f"{name}: {one} queries with 1 run, {many} with 200")
    assert one == many
    if name == "inbox":
        page = client.get(url).context
        assert len(page["tasks"]) == 50 and page["next_page"] == 2
        last = client.get(f"{url}?halaman=4").context
        assert len(last["tasks"]) == 50 and last["next_page"] is None
        assert last["previous_page"] == 3
    if name == "run_list":
        assert len(client.get(url).context["runs"]) == 25


def test_step_page_query_count_does_not_grow_with_rounds(client_for, users, sop1):
    run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    complete(run, 1, users["kasi"])
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulang")
    one = count_queries(client, step_url(run, 1))
    for _round in range(5):
        complete(run, 1, users["kasi"])
        workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Lagi")
    assert StepRun.objects.filter(run=run).aggregate(Max("round"))["round__max"] == 7
    assert count_queries(client, step_url(run, 1)) == one


def test_runs_list_refuses_a_far_off_year_with_a_message(client_for):
    response = client_for("kasi").get("/kegiatan/", {"dari": "9999-12-31"})
    assert response.status_code == 200
    assert "Tahun harus antara 2000 dan 2100" in response.content.decode()


def test_a_form_sent_in_the_next_minute_still_completes_after_the_start(client_for, users, sop1):
    import time_machine

    wib = datetime.timezone(datetime.timedelta(hours=7))
    with time_machine.travel(datetime.datetime(2026, 11, 23, 9, 5, 30, tzinfo=wib), tick=False):
        run = open_run(sop1, users["kasi"])
    client = client_for("kasi")
    with time_machine.travel(datetime.datetime(2026, 11, 23, 9, 5, 50, tzinfo=wib), tick=False):
        page = text(client.get(step_url(run, 1)))
    started = re.search(r'name="started_at" value="([^"]+)"', page).group(1)
    completed = re.search(r'name="completed_at" value="([^"]+)"', page).group(1)
    assert started == completed == "2026-11-23T09:05"
    with time_machine.travel(datetime.datetime(2026, 11, 23, 9, 6, 5, tzinfo=wib), tick=False):
        response = client.post(
            step_url(run, 1),
            form_data(run, 1, "selesai", started_at=started, completed_at=completed),
        )
    assert response.status_code == 302, response.context["forms"]["selesai"].errors
    done = step_run(run, 1)
    assert (
        done.started_at < done.completed_at <= datetime.datetime(2026, 11, 23, 9, 6, 5, tzinfo=wib)
    )


def test_the_step_page_shows_the_records_of_the_rounds_it_lists(client_for, users, sop1):
    """The step page reads the attachments and step data of the rounds it shows only: an
    earlier round of the step in full, the round that handed the step over with its files, and
    a closed step's own round."""
    from activities.core import uploads
    from tests.test_offline import photos

    step1 = sop1.steps.get(number=1)
    step1.data_fields = [
        {"key": "peserta", "label": "Jumlah peserta", "type": "number", "required": True}
    ]
    step1.save()
    run = open_run(sop1, users["kasi"])

    def complete_step_1(peserta, files=()):
        current = step_run(run, 1)
        entry = {"key": "peserta", "label": "Jumlah peserta", "type": "number", "number": peserta}
        workflow.complete_step(
            run_id=run.pk,
            number=1,
            user=users["kasi"],
            expected_version=current.version,
            attachments=files,
            data=[entry],
        )
        return current

    first = complete_step_1("40", uploads.validate_uploads(photos(1)))
    name = first.attachments.get().original_name
    kepala_page = text(client_for("kepala").get(step_url(run, 2)))
    assert "Dari langkah 1" in kepala_page and name in kepala_page
    workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason="Ulangi")
    kasi_page = text(client_for("kasi").get(step_url(run, 1)))
    assert "Putaran sebelumnya" in kasi_page
    assert "Jumlah peserta" in kasi_page and "40" in kasi_page and name in kasi_page
    # The active round is a form: its data is asked for, not shown.
    assert 'name="data_peserta"' in kasi_page
    # Once done, the step is read-only: its last round is shown in full too.
    complete_step_1("45")
    done_page = text(client_for("kasi").get(step_url(run, 1)))
    assert 'name="data_peserta"' not in done_page
    assert "40" in done_page and "45" in done_page and name in done_page
