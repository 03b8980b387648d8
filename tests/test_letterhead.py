"""The kop surat as a unit's data: emblem uploads are checked by content, and every document
prints the kop whether the unit has an emblem or not."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from PIL import Image

from activities.documents.letterhead import Letterhead, check_emblem
from activities.models import Unit

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>'


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 48), (20, 60, 120)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [SVG, png()], ids=["svg", "png"])
def test_a_clean_emblem_is_accepted(data):
    check_emblem(SimpleUploadedFile("lambang", data))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a not an emblem", "type"),
        (b"\x89PNG\r\n\x1a\n broken", "image"),
        (SVG.replace(b"<circle", b"<script>alert(1)</script><circle"), "svg"),
        (SVG.replace(b"<circle", b'<circle onload="alert(1)"'), "svg"),
        (SVG.replace(b"<circle", b'<image href="https://example.org/x.png"/><circle'), "svg"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]>' + SVG, "svg"),
        (b"<svg" + b" " * (1024 * 1024) + b"/>", "size"),
    ],
    ids=["gif", "broken-png", "script", "handler", "external", "entity", "too-large"],
)
def test_an_unsafe_or_wrong_emblem_is_refused(data, code):
    with pytest.raises(ValidationError) as error:
        check_emblem(SimpleUploadedFile("lambang.svg", data))
    assert error.value.code == code


def test_the_admin_uploads_an_emblem(client_for, seeded):
    unit = Unit.objects.get(short_name="Diskominfo")
    client = client_for("admin")
    page = client.get(f"/admin/activities/unit/{unit.pk}/change/")
    assert page.status_code == 200
    data = {
        "name": unit.name,
        "short_name": unit.short_name,
        "parent_name": unit.parent_name,
        "letterhead_name": "DINAS KOMUNIKASI DAN INFORMATIKA\nKOTA TANGERANG",
        "address": "Jl. Satria Sudirman No. 1",
        "phone": "(021) 555-0102",
        "email": "diskominfo@tangerangkota.example",
        "website": "",
        "letterhead_rule": "single",
        "head_title": unit.head_title,
        "head_name": unit.head_name,
        "head_rank": "",
        "head_nip": unit.head_nip,
        "emblem": SimpleUploadedFile("lambang.png", png(), content_type="image/png"),
    }
    for prefix in ("roles", "working_hours", "days_off", "special_schedules"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(f"/admin/activities/unit/{unit.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert unit.emblem.name.endswith(".png")
    kop = Letterhead.for_unit(unit)
    assert kop.unit_lines == ["DINAS KOMUNIKASI DAN INFORMATIKA", "KOTA TANGERANG"]
    assert kop.rule == "single"
    data["emblem"] = SimpleUploadedFile("lambang.svg", SVG.replace(b"<circle", b"<script/><c"))
    response = client.post(f"/admin/activities/unit/{unit.pk}/change/", data)
    assert response.status_code == 200
    assert "skrip" in response.content.decode()


def test_a_unit_without_emblem_gets_a_full_kop(seeded):
    unit = Unit.objects.get(short_name="Kesbangpol")
    unit.emblem = ""
    unit.save()
    html = render_to_string("reports/_letterhead.html", {"lh": Letterhead.for_unit(unit)})
    assert "<img" not in html
    assert "kop-plain" in html
    assert "KANTOR KESATUAN BANGSA DAN POLITIK" in html
    assert "Jl. Satria Sudirman No. 1" in html
    assert html.count('class="kop-rule') == 2


def test_the_kop_of_several_units_is_the_governments(seeded):
    html = render_to_string("reports/_letterhead.html", {"lh": Letterhead.for_government()})
    assert "PEMERINTAH KOTA TANGERANG" in html
    assert 'class="unit"' not in html


def test_the_sop_page_shows_the_emblem_inline(client_for, sop2):
    page = client_for("kabid").get(f"/sop/{sop2.pk}/").content.decode()
    assert 'class="sop-emblem" src="data:image/svg+xml;base64,' in page
    assert "Tgl Pengesahan" in page
    assert "Tanggal Efektif" not in page
