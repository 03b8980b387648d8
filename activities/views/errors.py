"""Error pages that never read the request body.

Django's default handlers are wrapped in `requires_csrf_token`, which checks a POST's token and
so parses its body: a junk multipart body sent to an unknown URL made the 404 page itself fail
with a 500. These render the same templates and leave the body alone.
"""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from activities.api import problems


def _api(request):
    """A request to the REST API gets its errors as problem+json, not as a page."""
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _api(request):
        return problems.problem(
            400, _("Permintaan tidak sah"), _("Permintaan ini tidak dapat dibaca.")
        )
    return render(request, "400.html", status=400)


def permission_denied(request, exception):
    if _api(request):
        return problems.forbidden()
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    """A form sent with a missing or stale CSRF token (settings.CSRF_FAILURE_VIEW): the page
    with its layout, as the other error pages (Django's own renders it without the request)."""
    if _api(request):
        return problems.forbidden()
    return render(request, "403_csrf.html", status=403)


def page_not_found(request, exception):
    if _api(request):
        return problems.problem(404, _("Tidak ditemukan"), _("Alamat API ini tidak ada."))
    return render(request, "404.html", status=404)


def server_error(request):
    if _api(request):
        return problems.problem(
            500, _("Galat server"), _("Terjadi galat di server; sudah dicatat.")
        )
    # Without a request context: the failure may be the database itself.
    return HttpResponseServerError(loader.get_template("500.html").render())
