"""The SOP library (/sop/) and the SOP in the official table layout (/sop/<id>/)."""

import copy
import html
import json
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from activities.authoring.definitions import load_sop, read_sop_file
from activities.models import Sop

SOP1_NAME = "Mekanisme Pelaksanaan Kegiatan Sosialisasi Kepada Masyarakat"
SOP2_NAME = "Penyebaran Informasi melalui Mobil Wawaran Keliling"


class FlowCells(HTMLParser):
    """Collects, per step row of the step table, the role columns that hold a symbol."""

    def __init__(self):
        super().__init__()
        self.step = None
        self.symbols = {}
        self.columns = []
        self.in_header = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "thead":
            self.in_header = True
        if tag == "tr" and "data-step" in attrs:
            self.step = int(attrs["data-step"])
            self.symbols[self.step] = {}
        if tag == "th" and self.in_header and "data-role" in attrs:
            self.columns.append(attrs["data-role"])
        if tag == "td" and self.step is not None and "data-symbol" in attrs:
            self.symbols[self.step][attrs["data-role"]] = attrs["data-symbol"]

    def handle_endtag(self, tag):
        if tag == "thead":
            self.in_header = False
        if tag == "tr":
            self.step = None


def flow_cells(response):
    parser = FlowCells()
    parser.feed(response.content.decode())
    return parser


def bigger_copy(name, extra_steps):
    """SOP 1 under another name with `extra_steps` more process steps before its last step."""
    data = copy.deepcopy(
        read_sop_file(settings.BASE_DIR / "fixtures/sop-kesbangpol-sosialisasi.json")
    )
    data["sop"]["name"] = name
    data["sop"]["status"] = "draft"
    *body, last = data["steps"]
    for offset in range(extra_steps):
        body.append(
            {
                "number": len(body) + 1,
                "roles": ["Staf seksi" if offset % 2 else "Kasi"],
                "kind": "process",
                "activity": f"Langkah tambahan {offset + 1}",
                "requirements": "Komputer",
                "standard": "5 menit",
                "output": "Catatan",
            }
        )
    last = dict(last, number=len(body) + 1)
    data["steps"] = [*body, last]
    # The file is read back as JSON by the loader's own rules, as an administrator's would be.
    return load_sop(json.loads(json.dumps(data)))[0]


@pytest.mark.parametrize("name", ["sop_list", "sop_detail", "sop_pdf"])
def test_anonymous_users_are_sent_to_login(client, sop1, name):
    url = reverse(name) if name == "sop_list" else reverse(name, args=[sop1.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_kasi_sees_the_sops_of_his_unit_only(client_for, sop1):
    response = client_for("kasi").get(reverse("sop_list"))

    assert response.status_code == 200
    content = response.content.decode()
    assert SOP1_NAME in content
    assert SOP2_NAME not in content
    assert sop1.get_absolute_url() in content
    assert "5 hari 4 jam 45 menit" in content
    assert [entry.step_count for entry in response.context["entries"]] == [15]


def test_outsider_sees_an_empty_library(client_for, sop1, sop2):
    response = client_for("outsider").get(reverse("sop_list"))

    assert response.status_code == 200
    assert response.context["entries"] == []
    content = response.content.decode()
    assert SOP1_NAME not in content
    assert SOP2_NAME not in content
    assert "Belum ada SOP" in content


def test_admin_sees_every_unit(client_for, sop1, sop2):
    response = client_for("admin").get(reverse("sop_list"))

    content = response.content.decode()
    assert SOP1_NAME in content
    assert SOP2_NAME in content
    assert "3 jam 5 menit" in content


def test_another_units_sop_is_not_found(client_for, sop2):
    response = client_for("kasi").get(reverse("sop_detail", args=[sop2.pk]))

    assert response.status_code == 404


def test_outsider_cannot_open_any_sop(client_for, sop1):
    response = client_for("outsider").get(reverse("sop_detail", args=[sop1.pk]))

    assert response.status_code == 404


def test_detail_shows_every_activity_and_the_total(client_for, sop1):
    response = client_for("staf").get(reverse("sop_detail", args=[sop1.pk]))

    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    for step in sop1.steps.all():
        assert step.activity in content
    assert "5 hari 4 jam 45 menit" in content
    assert "NIP 19640606 198503 1 015" in content
    # The waktu column shows the document's text, without the tab it was written with.
    assert "10 Menit" in content
    assert "10\tMenit" not in content


def test_symbols_sit_in_the_performers_columns(client_for, sop1):
    response = client_for("kasi").get(reverse("sop_detail", args=[sop1.pk]))

    cells = flow_cells(response)
    assert cells.columns == [
        "Kepala",
        "Kasubag TU",
        "Kasi",
        "Staf seksi",
        "Pengelola Administrasi Umum",
    ]
    assert cells.symbols[1] == {"Kasi": "start"}
    assert cells.symbols[2] == {"Kepala": "decision"}
    assert cells.symbols[7] == {"Kasubag TU": "process"}
    assert cells.symbols[11] == {"Kasi": "process", "Staf seksi": "process"}
    assert cells.symbols[15] == {"Pengelola Administrasi Umum": "end"}
    assert sorted(cells.symbols) == list(range(1, 16))


def test_sop2_shared_step_and_total(client_for, sop2):
    response = client_for("tim").get(reverse("sop_detail", args=[sop2.pk]))

    cells = flow_cells(response)
    assert cells.symbols[7] == {"Tim": "process", "Kernet/Supir": "process"}
    assert cells.symbols[3] == {"Kepala Bidang DIKP": "decision"}
    assert "3 jam 5 menit" in response.content.decode()


def test_holder_of_step_one_may_open_a_run(client_for, sop1):
    response = client_for("kasi").get(reverse("sop_detail", args=[sop1.pk]))

    assert response.context["can_open"] is True
    assert f"{reverse('run_create')}?sop={sop1.pk}" in response.content.decode()


def test_other_roles_get_no_open_button(client_for, sop1):
    response = client_for("staf").get(reverse("sop_detail", args=[sop1.pk]))

    assert response.context["can_open"] is False
    assert reverse("run_create") not in response.content.decode()


def test_no_open_button_on_a_retired_sop(client_for, sop1):
    Sop.objects.filter(pk=sop1.pk).update(status=Sop.Status.RETIRED)

    detail = client_for("kasi").get(reverse("sop_detail", args=[sop1.pk]))
    library = client_for("kasi").get(reverse("sop_list"))

    assert reverse("run_create") not in detail.content.decode()
    assert reverse("run_create") not in library.content.decode()
    assert "Tidak berlaku" in detail.content.decode()


def test_library_offers_open_only_to_step_one_holders(client_for, sop1):
    kasi = client_for("kasi").get(reverse("sop_list"))
    kepala = client_for("kepala").get(reverse("sop_list"))

    assert [entry.can_open for entry in kasi.context["entries"]] == [True]
    assert [entry.can_open for entry in kepala.context["entries"]] == [False]


@pytest.mark.parametrize("name", ["sop_list", "sop_detail", "sop_pdf"])
def test_post_is_not_allowed(client_for, sop1, name):
    url = reverse(name) if name == "sop_list" else reverse(name, args=[sop1.pk])

    response = client_for("kasi").post(url)

    assert response.status_code == 405


# Queries of /sop/: session, user, the user's roles and acting appointments (policy, read once
# per request), SOPs with units, their steps, the steps' roles, the inbox count and the bell's
# unread count in the navigation.
LIST_QUERIES = 9
# Queries of /sop/<id>/: session, user, the user's roles and acting appointments (which also
# answer the open and edit buttons), the SOP with its unit, steps, their roles, identity items,
# whether he monitors it (for the statistics links), the inbox and unread counts.
DETAIL_QUERIES = 11


def test_library_queries_do_not_grow_with_sops(
    client_for, sop1, sop2, django_assert_max_num_queries
):
    client = client_for("admin")
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("sop_list"))

    for number in range(3):
        bigger_copy(f"Salinan {number}", extra_steps=5)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("sop_list"))
    assert len(response.context["entries"]) == 5


def test_detail_queries_do_not_grow_with_steps(client_for, sop1, django_assert_max_num_queries):
    client = client_for("kasi")
    with django_assert_max_num_queries(DETAIL_QUERIES):
        client.get(reverse("sop_detail", args=[sop1.pk]))

    big = bigger_copy("Salinan panjang", extra_steps=25)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("sop_detail", args=[big.pk]))
    assert sorted(flow_cells(response).symbols) == list(range(1, 41))
