"""/kinerja/: a pegawai's completed steps of a month, and his unit's for Kepala and TU."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.rundata import add_runs, straight, wib


@pytest.fixture
def month_runs(sop1, sop2):
    """September 2026: one SOP 2 run (Diskominfo) and one SOP 1 run (Kesbangpol) through steps
    1–3 on Tuesday the 8th; an SOP 2 run in October."""
    sep = straight(sop2, wib(2026, 9, 8, 8), [10, 5, 5, 5, 5, 5, 60, 10, 5], title="Wawaran A")
    sep1 = straight(sop1, wib(2026, 9, 8, 8), [15, 20, 40], title="Sosialisasi A")
    sep1.status = "running"
    oct_ = straight(sop2, wib(2026, 10, 6, 8), [5] * 9, title="Wawaran Oktober")
    return add_runs(sop2, [sep, oct_]) + add_runs(sop1, [sep1])


def rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_own_steps_of_the_month(client_for, month_runs):
    response = client_for("tim").get("/kinerja/?bulan=2026-09")
    assert response.status_code == 200
    activities = response.context["activities"]
    # tim holds steps 4, 7 (with the Kernet/Supir: his own sign-off) and 8 of SOP 2.
    assert [(a.step, a.office_minutes, a.standard_minutes) for a in activities] == [
        (4, 5.0, 5),
        (7, 60.0, 120),
        (8, 10.0, 10),
    ]
    assert response.context["office_total"] == 75.0
    assert "Wawaran A" in response.text


def test_kepala_sees_his_unit_only(client_for, month_runs, users):
    response = client_for("kabid").get("/kinerja/?bulan=2026-09&pegawai=semua")
    people = {a.username for a in response.context["activities"]}
    assert people == {"subkor", "kabid", "tim", "supir"}
    response = client_for("kabid").get(f"/kinerja/?bulan=2026-09&pegawai={users['tim'].pk}")
    assert {a.username for a in response.context["activities"]} == {"tim"}


def test_a_pegawai_cannot_list_someone_else(client_for, month_runs, users):
    response = client_for("tim").get(f"/kinerja/?bulan=2026-09&pegawai={users['supir'].pk}")
    assert response.status_code == 200
    assert {a.username for a in response.context["activities"]} == {"tim"}
    assert "bukan bawahan Anda" in response.text
    response = client_for("tim").get("/kinerja/?bulan=2026-09&pegawai=semua")
    assert {a.username for a in response.context["activities"]} == {"tim"}


def test_head_of_another_unit_cannot_list_its_staff(client_for, month_runs, users):
    response = client_for("kepala").get(f"/kinerja/?bulan=2026-09&pegawai={users['tim'].pk}")
    assert {a.username for a in response.context["activities"]} == {"kepala"}
    assert "bukan bawahan Anda" in response.text


def test_csv_export(client_for, month_runs):
    table = rows(client_for("kabid").get("/kinerja/?bulan=2026-09&pegawai=semua&format=csv"))
    header, body = table[0], table[1:]
    assert header[:3] == ["Tanggal", "Jam selesai", "Pegawai"]
    # Nine steps of SOP 2, step 7 signed off by both its performers.
    assert len(body) == 10
    assert body[0][0] == "2026-09-08"
    assert body[0][1] == "08:10"
    # Whole minutes as whole numbers, like the standard beside them.
    assert body[0][-2:] == ["20", "10"]


def test_csv_export_shows_a_dashed_sop_number_as_written(client_for, month_runs):
    table = rows(client_for("kepala").get("/kinerja/?bulan=2026-09&pegawai=semua&format=csv"))
    header, body = table[0], table[1:]
    numbers = {dict(zip(header, row, strict=True))["Nomor SOP"] for row in body}
    assert numbers == {"-----/----- -Kesbangpol / 2018"}
    minutes = [dict(zip(header, row, strict=True))["Waktu nyata (menit kerja)"] for row in body]
    assert minutes == ["15", "20", "40"]


def test_xlsx_export(client_for, month_runs):
    response = client_for("tim").get("/kinerja/?bulan=2026-10&format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "Tanggal"
    assert len(values) == 1 + 3
    assert values[1][11] == 4  # the step, after the NIP column
    assert values[1][-1] == 5.0


@pytest.mark.parametrize("bad", ["2026-13", "abc", "9999-01", "2026-1-1"])
def test_bad_month_gets_a_message_and_the_current_month(client_for, month_runs, bad):
    response = client_for("tim").get(f"/kinerja/?bulan={bad}")
    assert response.status_code == 200
    assert response.context["activities"] == []
    assert "alert-danger" in response.text


def test_anonymous_is_sent_to_login(client):
    assert client.get("/kinerja/").status_code == 302


def test_csv_export_names_each_person_with_gelar_and_nip(client_for, month_runs):
    table = rows(client_for("kabid").get("/kinerja/?bulan=2026-09&pegawai=semua&format=csv"))
    header, body = table[0], table[1:]
    assert header[3] == "NIP"
    people = {(row[2], row[3]) for row in body}
    assert ("Fajar Nugroho, S.Kom.", "199203142019031005") in people
    assert ("Dr. Rina Marlina, S.Kom., M.Si.", "197911202005012003") in people


def test_csv_export_says_what_each_step_came_to(client_for, month_runs):
    """An approval says it was approved; a joint step's part says it was one performer's."""
    table = rows(client_for("kabid").get("/kinerja/?bulan=2026-09&pegawai=semua&format=csv"))
    header, body = table[0], table[1:]
    outcomes = {}
    for row in body:
        values = dict(zip(header, row, strict=True))
        outcomes.setdefault(int(values["Langkah"]), set()).add(values["Hasil"])
    assert outcomes[3] == outcomes[5] == {"Disetujui"}  # the Kepala Bidang's decisions
    assert outcomes[7] == {"Selesai (langkah bersama)"}  # Tim and Kernet/Supir together
    assert outcomes[4] == {"Selesai"}
