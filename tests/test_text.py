"""Control characters: refused where text comes in (every form, the admin), removed where text
goes into XLSX, so one stray character from a paste never breaks the unit's export."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from activities.core import workflow
from activities.forms import CancelRunForm, CompleteStepForm, RunForm
from activities.models import Role, Run
from activities.text import first_control_character, xml_safe
from tests.test_archive import finish
from tests.test_reports import body, open_run, wib

CONTROL = ["\x0b", "\x1b", "\x0c", "\x07", "\x7f", "\x85"]


@pytest.mark.parametrize("character", CONTROL)
def test_the_rule(character):
    assert first_control_character(f"a{character}b", multiline=True) == character
    assert first_control_character(f"a{character}b", multiline=False) == character
    assert first_control_character("baris\r\nbaru\tkolom", multiline=True) is None
    assert first_control_character("baris\nbaru", multiline=False) == "\n"
    assert first_control_character("15\tMenit", multiline=False) is None
    assert first_control_character("Sosialisasi “Pemilu” – ñ😀", multiline=False) is None


def test_xml_safe_removes_what_xml_cannot_hold():
    assert xml_safe("a\x0bb\x1bc\tline\nbreak\ufffe") == "abc\tline\nbreak"
    assert xml_safe(12) == 12


def test_xlsx_export_survives_control_characters_in_stored_text(client_for, users, sop1):
    # Text stored before the forms refused them (or written by other means).
    finish(sop1, users, wib(10, 5, 8), title="Sosialisasi\x0b Pelajar\x1b")
    cancelled = open_run(sop1, users, start=wib(10, 12, 8), title="Batal")
    workflow.cancel_run(
        run_id=cancelled.pk, user=users["kasi"], reason="Hujan\x0bderas\x1b[0m", now=wib(10, 13, 9)
    )
    response = client_for("kepala").get("/arsip/?format=xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(body(response))).active.iter_rows(values_only=True))
    assert {row[1] for row in rows[1:]} == {"Sosialisasi Pelajar", "Batal"}
    assert "Hujanderas[0m" in [row[11] for row in rows[1:]]


@pytest.mark.parametrize("character", CONTROL)
def test_opening_a_run_refuses_control_characters(client_for, sop1, character):
    url = f"{reverse('run_create')}?sop={sop1.pk}"
    data = {"title": f"Sosial{character}isasi", "scheduled_on": "2026-12-01", "place": "Aula"}
    response = client_for("kasi").post(url, data)
    assert response.status_code == 200
    assert "karakter kendali yang tidak terlihat" in response.content.decode()
    assert f"U+{ord(character):04X}" in response.content.decode()
    assert not Run.objects.exists()


def test_a_single_line_field_refuses_a_line_break():
    form = RunForm({"title": "Judul\nbaris dua", "scheduled_on": "2026-12-01", "place": "Aula"})
    assert not form.is_valid()
    assert form.errors["title"] == [
        "Kolom ini hanya satu baris: hapus ganti baris (Enter) di dalamnya."
    ]


def test_text_areas_keep_tabs_and_line_breaks_but_not_other_controls(sop1, users):
    run = workflow.open_run(
        sop=sop1, user=users["kasi"], title="Uji", scheduled_on=wib(10, 5, 8).date(), place="Aula"
    )
    step_run = run.step_runs.get(step__number=1)
    data = {"version": step_run.version, "round": step_run.round, "notes": "satu\r\n\tdua"}
    assert CompleteStepForm(data, step_run=step_run).is_valid()
    data["output"] = "nota\x0bpertimbangan"
    form = CompleteStepForm(data, step_run=step_run)
    assert not form.is_valid() and list(form.errors) == ["output"]
    assert not CancelRunForm({"reason": "Hujan\x0bderas"}).is_valid()
    assert CancelRunForm({"reason": "Hujan\nderas"}).is_valid()


def test_cancelling_with_a_control_character_is_refused_with_a_message(client_for, users, sop1):
    run = open_run(sop1, users, start=wib(10, 12, 8))
    response = client_for("kasi").post(
        reverse("run_cancel", args=[run.pk]), {"reason": "Hujan\x0bderas"}, follow=True
    )
    assert "karakter kendali yang tidak terlihat (U+000B)" in response.content.decode()
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING


def test_the_admin_refuses_control_characters(client_for, sop1):
    role = Role.objects.get(unit=sop1.unit, name="Kasi")
    url = reverse("admin:activities_role_change", args=[role.pk])
    response = client_for("admin").post(
        url, {"unit": role.unit_id, "name": "Kasi\x1b", "kind": role.kind, "position": 1}
    )
    assert response.status_code == 200
    assert "karakter kendali yang tidak terlihat" in response.content.decode()
    role.refresh_from_db()
    assert role.name == "Kasi"
