"""The SOP document as an A4 landscape PDF (/sop/<id>/pdf/) and the layout that drives it."""

import datetime
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from activities.authoring import sopdoc
from activities.core import access
from activities.models import Sop

A4_LANDSCAPE = (841.89, 595.28)  # points


def pdf_of(client, sop):
    response = client.get(reverse("sop_pdf", args=[sop.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return PdfReader(io.BytesIO(response.content))


def text_of(reader):
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def paged_document(user, sop):
    return sopdoc.build(access.get_sop_for_user(user, sop.pk), paged=True)


def test_sop1_pdf_is_a4_landscape_with_every_step(client_for, sop1):
    reader = pdf_of(client_for("kasi"), sop1)

    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(A4_LANDSCAPE, abs=0.5)
    text = text_of(reader)
    for step in sop1.steps.all():
        assert " ".join(step.activity.split()) in text
    assert "5 hari 4 jam 45 menit" in text
    assert "NIP 19640606 198503 1 015" in text
    assert "PEMERINTAH KOTA TANGERANG" in text
    assert "Jumlah waktu" in text


def test_sop1_steps_follow_the_identity_page(client_for, users, sop1):
    reader = pdf_of(client_for("kasi"), sop1)
    document = paged_document(users["kasi"], sop1)

    # The identity page, then one page per chunk of steps.
    assert len(reader.pages) == 1 + len(document.pages)
    assert "Dasar Hukum" in reader.pages[0].extract_text()
    assert "Membuat Nota" in " ".join(reader.pages[1].extract_text().split())


def test_sop2_pdf_total_and_approver(client_for, sop2):
    text = text_of(pdf_of(client_for("subkor"), sop2))

    assert "3 jam 5 menit" in text
    assert "NIP 19730104 199703 2 001" in text
    assert "Melakukan Desiminasi Informasi" in text


def test_another_units_pdf_is_not_found(client_for, sop2):
    response = client_for("kasi").get(reverse("sop_pdf", args=[sop2.pk]))

    assert response.status_code == 404


def test_admin_prints_any_sop(client_for, sop1, sop2):
    client = client_for("admin")

    assert "5 hari 4 jam 45 menit" in text_of(pdf_of(client, sop1))
    assert "3 jam 5 menit" in text_of(pdf_of(client, sop2))


def connectors(row):
    """Labels of the off-page connectors drawn in a row's cells."""
    labels = []
    for cell in row.cells:
        shapes = cell.shapes
        for index, shape in enumerate(shapes):
            if ("data-symbol", "connector") in shape.attrs:
                labels.append(shapes[index + 1].text)
    return labels


def test_page_breaks_are_joined_by_matching_connectors(users, sop1):
    document = paged_document(users["kasi"], sop1)

    assert len(document.pages) >= 2
    numbers = [row.number for page in document.pages for row in page.rows]
    assert numbers == list(range(1, 16))
    for page, following in zip(document.pages, document.pages[1:], strict=False):
        last, first = page.rows[-1], following.rows[0]
        assert connectors(last) == [str(first.number)]
        assert connectors(first) == [str(first.number)]
    assert connectors(document.pages[0].rows[0]) == []
    assert connectors(document.pages[-1].rows[-1]) == []
    assert [page.is_last for page in document.pages][-1] is True


def test_each_page_fits_an_a4_landscape_page(users, sop1, sop2):
    for user, sop in ((users["kasi"], sop1), (users["tim"], sop2)):
        document = paged_document(user, sop)
        budget = sopdoc.PAGE_HEIGHT - sopdoc.header_height(
            document.columns, {"role": document.role_width}
        )
        for page in document.pages:
            used = sum(float(row.height) for row in page.rows)
            if page.is_last:
                used += sopdoc.total_row_height()
            assert used <= budget


def test_the_screen_page_is_one_unbroken_table(users, sop1):
    document = sopdoc.build(access.get_sop_for_user(users["kasi"], sop1.pk))

    assert len(document.pages) == 1
    assert all(connectors(row) == [] for row in document.pages[0].rows)


def test_a_frozen_versions_pdf_is_rendered_once(client_for, users, sop1, monkeypatch):
    from django.core.cache import cache

    from activities.core import workflow
    from activities.documents import pdf

    cache.clear()
    renders = []
    real = pdf.render_pdf

    def counting(*args, **kwargs):
        renders.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf, "render_pdf", counting)
    client = client_for("kasi")
    url = f"/sop/{sop1.pk}/pdf/"
    first = client.get(url).content
    assert len(renders) == 1 and client.get(url).content == first
    assert len(renders) == 2  # not frozen yet: the version can still be edited
    workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Bekukan",
        scheduled_on=datetime.date(2026, 12, 1),
        place="Aula",
    )
    frozen = client.get(url).content
    assert client.get(url).content == frozen and client_for("kepala").get(url).content == frozen
    assert len(renders) == 3
    sop1.status = Sop.Status.RETIRED
    sop1.save()
    client_for("kasi").get(url)
    assert len(renders) == 4  # the status changed: a new key
    unit = sop1.unit
    unit.name = "Badan Kesatuan Bangsa dan Politik"
    unit.save()
    client_for("kasi").get(url)
    assert len(renders) == 5  # the header prints the unit's name
    cache.clear()
