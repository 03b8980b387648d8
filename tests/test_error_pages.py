"""Error pages speak Indonesian and lead the user back, instead of Django's bare defaults."""

from django.test import Client


def test_forbidden_page_explains_and_leads_back(client_for):
    response = client_for("staf").get("/arsip/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Akses ditolak" in html and 'href="/tugas/"' in html


def test_not_found_page_for_another_units_sop(client_for, sop2):
    response = client_for("kasi").get(f"/sop/{sop2.pk}/")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.content.decode()


def test_a_form_without_its_csrf_token_gets_a_clear_page_and_changes_nothing(users, sop1):
    from activities.models import Run

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["kasi"])
    response = client.post(f"/kegiatan/baru/?sop={sop1.pk}", {"title": "Tanpa token"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Formulir kedaluwarsa" in html
    assert not Run.objects.exists()
    # With its layout: the user's navigation, and the way back.
    assert 'href="/"' in html and 'href="/tugas/"' in html and 'href="/kegiatan/"' in html


def test_server_error_page_needs_no_database():
    from django.template.loader import render_to_string

    assert "Terjadi kesalahan pada server" in render_to_string("500.html")
