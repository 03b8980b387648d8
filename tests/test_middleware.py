def test_pages_carry_a_content_security_policy_without_third_party_hosts(client_for):
    response = client_for("kasi").get("/tugas/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "http" not in policy


def test_the_admin_carries_the_same_policy(client_for):
    response = client_for("admin").get("/admin/activities/sop/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")


def test_a_logged_in_page_is_kept_by_no_cache(client_for):
    for path in ("/tugas/", "/kegiatan/", "/sop/", "/admin/"):
        control = client_for("admin").get(path)["Cache-Control"]
        assert "no-store" in control and "private" in control, path


def test_an_expired_session_on_an_htmx_request_redirects_the_whole_page(client, seeded):
    response = client.get("/tugas/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=/tugas/")


def test_an_expired_session_on_a_normal_request_is_a_plain_redirect(client, seeded):
    response = client.get("/tugas/")
    assert response.status_code == 302 and "HX-Redirect" not in response


def test_an_english_browser_still_gets_bahasa_indonesia(client_for):
    client = client_for("kasi")
    response = client.get("/sop/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.headers["Content-Language"] == "id"


def test_the_language_switch_chooses_english(client_for):
    client = client_for("kasi")
    client.post("/i18n/setlang/", {"language": "en", "next": "/sop/"})
    assert client.get("/sop/").headers["Content-Language"] == "en"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/sop/"})
    assert client.get("/sop/").headers["Content-Language"] == "en"


def test_a_session_past_its_expiry_is_not_read_even_after_it_was_read_before(client_for):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = client_for("kasi")
    assert client.get("/tugas/").status_code == 200
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    response = client.get("/tugas/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_session_deleted_after_it_was_read_ends(client_for):
    from django.contrib.sessions.models import Session

    client = client_for("kasi")
    assert client.get("/tugas/").status_code == 200
    Session.objects.filter(session_key=client.cookies["sessionid"].value).delete()
    assert client.get("/tugas/").status_code == 302


def test_a_session_is_read_without_building_its_query_again(client_for, monkeypatch):
    from django.db.models.sql import compiler

    client = client_for("kasi")
    client.get("/tugas/")
    built = []
    real = compiler.SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        sql = real(self, *args, **kwargs)
        if "django_session" in sql[0]:
            built.append(sql)
        return sql

    monkeypatch.setattr(compiler.SQLCompiler, "as_sql", counting)
    assert client.get("/tugas/").status_code == 200
    assert built == []
