"""The archive (/arsip/) of closed runs for TU and Kepala: access, filters, pages, exports, report."""

import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from activities.core import workflow
from activities.documents import archive, laporan
from activities.models import Run
from activities.views import archive as archive_views
from tests.test_reports import body, open_run, pdf_text, walk, wib


def finish(sop, users, start, **fields):
    run = open_run(sop, users, start=start, **fields)
    return walk(run, users, start=start)


@pytest.fixture
def closed_runs(users, sop1, sop2):
    """Kesbangpol: two finished in October, one finished in November, one cancelled, one
    running; Diskominfo: one finished."""
    runs = {
        "oktober": finish(sop1, users, wib(10, 5, 8), title="Sosialisasi Pelajar Ciledug"),
        "oktober2": finish(
            sop1, users, wib(10, 19, 8), title="Sosialisasi Ormas", place="Gedung Cisadane"
        ),
        "november": finish(sop1, users, wib(11, 2, 8), title="Sosialisasi Pemilu Damai"),
        "batal": open_run(sop1, users, start=wib(10, 12, 8), title="Sosialisasi Narkoba"),
        "jalan": open_run(sop1, users, start=wib(10, 26, 8), title="Sosialisasi Berjalan"),
        "wawaran": finish(sop2, users, wib(10, 7, 9), title="Wawaran Keliling Cibodas"),
    }
    workflow.cancel_run(
        run_id=runs["batal"].pk,
        user=users["kasi"],
        reason="Narasumber berhalangan",
        now=wib(10, 13, 9),
    )
    return runs


def titles(response):
    return [run.title for run in response.context["rows"]]


# Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["pengelola", "kasubag_tu", "kepala", "admin"])
def test_tu_and_kepala_open_the_archive(client_for, closed_runs, username):
    response = client_for(username).get("/arsip/")
    assert response.status_code == 200
    assert "Sosialisasi Pelajar Ciledug" in titles(response)


@pytest.mark.parametrize("username", ["staf", "kasi", "outsider", "subkor", "tim"])
def test_others_get_403(client_for, closed_runs, username):
    client = client_for(username)
    assert client.get("/arsip/").status_code == 403
    assert client.get("/arsip/?format=csv").status_code == 403
    assert client.get("/arsip/laporan.pdf?dari=2026-10-01&sampai=2026-10-31").status_code == 403


def test_anonymous_goes_to_login(client, seeded):
    response = client.get("/arsip/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_archive_refuses_post(client_for, seeded):
    assert client_for("kepala").post("/arsip/").status_code == 405


def test_only_closed_runs_of_my_unit(client_for, closed_runs):
    kesbangpol = titles(client_for("kepala").get("/arsip/"))
    assert kesbangpol == [
        "Sosialisasi Pemilu Damai",
        "Sosialisasi Ormas",
        "Sosialisasi Narkoba",
        "Sosialisasi Pelajar Ciledug",
    ]
    assert titles(client_for("kabid").get("/arsip/")) == ["Wawaran Keliling Cibodas"]


def test_archive_list_shows_the_laporan_hash(client_for, closed_runs):
    archived = laporan.ensure_archived(closed_runs["november"].pk)
    html = client_for("kasubag_tu").get("/arsip/").content.decode()
    assert archived.sha256 in html
    assert f"/kegiatan/{closed_runs['november'].pk}/laporan.pdf" in html


# Filters and pages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=ormas", ["Sosialisasi Ormas"]),
        ("q=cisadane", ["Sosialisasi Ormas"]),  # the place
        ("q=120+pelajar&status=cancelled", ["Sosialisasi Narkoba"]),  # the notes
        (
            "status=finished",
            ["Sosialisasi Pemilu Damai", "Sosialisasi Ormas", "Sosialisasi Pelajar Ciledug"],
        ),
        ("dari=2026-10-10&sampai=2026-10-31", ["Sosialisasi Ormas", "Sosialisasi Narkoba"]),
        ("dari=2026-11-01", ["Sosialisasi Pemilu Damai"]),
        ("sampai=2026-10-06", ["Sosialisasi Pelajar Ciledug"]),
    ],
)
def test_filters(client_for, closed_runs, query, expected):
    assert titles(client_for("pengelola").get(f"/arsip/?{query}")) == expected


def test_sop_filter(client_for, closed_runs, sop2):
    response = client_for("admin").get(f"/arsip/?sop={sop2.pk}")
    assert titles(response) == ["Wawaran Keliling Cibodas"]


def test_other_units_sop_is_not_a_filter(client_for, closed_runs, sop2):
    response = client_for("kepala").get(f"/arsip/?sop={sop2.pk}")
    assert response.status_code == 200
    assert "SOP yang dipilih tidak dikenal." in response.content.decode()
    assert "Wawaran Keliling Cibodas" not in titles(response)


@pytest.mark.parametrize(
    "query, message",
    [
        ("dari=2026-13-45", "Tanggal “dari” tidak valid"),
        ("sampai=kemarin", "Tanggal “sampai” tidak valid"),
        ("dari=2026-10-31&sampai=2026-10-01", "tidak boleh sebelum"),
        ("sampai=9999-12-31", "Tahun harus antara 2000 dan 2100"),
    ],
)
def test_bad_dates_are_explained(client_for, closed_runs, query, message):
    response = client_for("kepala").get(f"/arsip/?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()


def test_keyset_pages_walk_every_run_once(
    client_for, users, sop1, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(archive_views, "PAGE_SIZE", 2)
    kasi = users["kasi"]
    same_moment = wib(10, 20, 15)
    for n in range(5):
        Run.objects.create(
            sop=sop1,
            unit=sop1.unit,
            title=f"Kegiatan {n}",
            scheduled_on=datetime.date(2026, 10, 1),
            place="Aula",
            opened_by=kasi,
            opened_at=wib(10, 1, 8),
            status=Run.Status.FINISHED,
            # Three runs finish at the same moment: the id breaks the tie.
            finished_at=same_moment if n < 3 else same_moment + datetime.timedelta(days=n),
        )
    client = client_for("kepala")
    seen, url = [], "/arsip/?status=finished"
    while url:
        # Session, user, the user's roles and acting appointments (policy), units, runs, the
        # inbox count, the bell's unread count, the SOP choices: nothing per run or page.
        with django_assert_max_num_queries(11):
            response = client.get(url)
        seen += titles(response)
        next_url = response.context["next_url"]
        assert not next_url or "status=finished" in next_url
        url = next_url and "/arsip/" + next_url
    assert seen == ["Kegiatan 4", "Kegiatan 3", "Kegiatan 2", "Kegiatan 1", "Kegiatan 0"]


def test_garbage_cursor_gives_the_first_page(client_for, closed_runs):
    response = client_for("kepala").get("/arsip/?setelah=abc-def")
    assert response.status_code == 200
    assert titles(response)[0] == "Sosialisasi Pemilu Damai"


# Exports ------------------------------------------------------------------------------------


def test_csv_export_with_filters(client_for, closed_runs):
    response = client_for("kasubag_tu").get("/arsip/?format=csv&status=finished")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = body(response).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["No.", "Judul kegiatan", "Unit kerja"]
    assert [row[1] for row in rows[1:]] == [
        "Sosialisasi Pemilu Damai",
        "Sosialisasi Ormas",
        "Sosialisasi Pelajar Ciledug",
    ]
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["Status"] == "Selesai"
    assert first["Waktu baku (menit kerja)"] == str(5 * 450 + 285)
    assert first["Langkah selesai"] == "15"


def test_exports_do_not_carry_formulas(client_for, users, sop1):
    finish(sop1, users, wib(10, 5, 8), title='=HYPERLINK("http://x","klik")')
    client = client_for("kepala")
    text = body(client.get("/arsip/?format=csv")).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    workbook = load_workbook(io.BytesIO(body(client.get("/arsip/?format=xlsx"))))
    cell = workbook.active["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_xlsx_export_with_filters(client_for, closed_runs):
    response = client_for("pengelola").get("/arsip/?format=xlsx&q=sosialisasi&dari=2026-10-10")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(body(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "Judul kegiatan"
    assert [row[1] for row in rows[1:]] == [
        "Sosialisasi Pemilu Damai",
        "Sosialisasi Ormas",
        "Sosialisasi Narkoba",
    ]
    cancelled = rows[3]
    assert cancelled[8] == "Dibatalkan" and cancelled[11] == "Narasumber berhalangan"
    assert isinstance(rows[1][6], datetime.datetime)  # tanggal pelaksanaan is a real date


# Laporan arsip ------------------------------------------------------------------------------


def test_period_report(client_for, closed_runs, sop1):
    response = client_for("kepala").get("/arsip/laporan.pdf?dari=2026-10-01&sampai=2026-10-31")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content))
    assert "LAPORAN ARSIP KEGIATAN" in text
    assert "Periode 1 Oktober 2026 sampai 31 Oktober 2026" in text
    assert sop1.name in text
    assert "Sosialisasi Pelajar Ciledug" in text and "Sosialisasi Ormas" in text
    assert "Sosialisasi Pemilu Damai" not in text  # finished in November
    assert "Wawaran" not in text  # another unit
    assert "Jumlah: 2 kegiatan selesai" in text
    assert "5 hari 4 jam 45 menit" in text
    assert "1 dibatalkan" in text
    assert "NIP 19640606 198503 1 015" in text


def test_period_report_of_one_sop_for_an_administrator(client_for, closed_runs, sop2):
    response = client_for("admin").get(
        f"/arsip/laporan.pdf?dari=2026-10-01&sampai=2026-10-31&sop={sop2.pk}"
    )
    text = " ".join(pdf_text(response.content))
    assert "Wawaran Keliling Cibodas" in text
    assert "Sosialisasi" not in text
    assert "3 jam 5 menit" in text


def test_empty_period_says_so(client_for, closed_runs):
    response = client_for("kepala").get("/arsip/laporan.pdf?dari=2025-01-01&sampai=2025-01-31")
    assert response.status_code == 200
    assert "Tidak ada kegiatan" in " ".join(pdf_text(response.content))


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "Isi tanggal “dari” dan “sampai”"),
        ("dari=2026-10-01", "Isi tanggal “dari” dan “sampai”"),
        ("dari=2026-02-30&sampai=2026-03-31", "Tanggal “dari” tidak valid"),
        ("dari=2026-10-31&sampai=2026-10-01", "tidak boleh sebelum"),
        ("dari=0001-01-01&sampai=9999-12-31", "Tahun harus antara 2000 dan 2100"),
    ],
)
def test_period_report_bad_dates_go_back_with_a_message(client_for, seeded, query, message):
    client = client_for("kasubag_tu")
    response = client.get(f"/arsip/laporan.pdf?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith("/arsip/")
    assert message in client.get(response["Location"]).content.decode()


def test_period_report_refuses_a_period_too_large(client_for, closed_runs, monkeypatch):
    monkeypatch.setattr(archive, "ARCHIVE_REPORT_MAX_RUNS", 1)
    client = client_for("kepala")
    response = client.get("/arsip/laporan.pdf?dari=2026-10-01&sampai=2026-10-31")
    assert response.status_code == 302
    assert "berisi 2 kegiatan selesai" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ("-----/----- -Kesbangpol / 2018", False),
        ("- catatan rapat", False),
        ("----", False),
        ("Rapat -1", False),
        ("=1+1", True),
        ("@SUM(A1)", True),
        ("-1", True),
        ("--1", True),
        ("+62 812 000", True),
        ("-.5", True),
        ("-A1", True),
        ("-SUM(A1:A2)", True),
        ("-cmd|' /C calc'!A0", True),
        ("+(1)", True),
        ("\t=1", True),
    ],
)
def test_only_what_a_spreadsheet_evaluates_is_guarded(text, guarded):
    from activities.documents.spreadsheets import safe_cell

    assert safe_cell(text) == ("'" + text if guarded else text)
