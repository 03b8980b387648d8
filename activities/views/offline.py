"""The installable app: its manifest, its service worker (served from the site root so its scope
is the whole app), the offline queue's page and the token the queue sends with.

The worker caches the app shell and the pages of the user's open steps network-first; the
queue (static/js/antrean.js) keeps photos and step forms in the browser's IndexedDB until they
are sent. docs/DESIGN.md ("Offline") describes both.
"""

import hashlib
import json
import os

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# The files every page needs, cached when the worker is installed (the app shell).
SHELL_STATIC = (
    "bootstrap/css/bootstrap.min.css",
    "bootstrap/js/bootstrap.bundle.min.js",
    "django_htmx/htmx-2.min.js",
    "css/sopflow.css",
    "js/sopflow.js",
    "js/antrean.js",
    "js/offline.js",
    "favicon.svg",
    "img/ikon-192.png",
    "img/ikon-512.png",
)
THEME_COLOR = "#0d6efd"


def _shell_urls():
    return [static(name) for name in SHELL_STATIC]


def _shell_stamp():
    """Size and time of each shell file: with DEBUG's unhashed static names an edited script
    keeps its URL, and this still gives the worker, and so its cache, a new version."""
    stamps = []
    for name in SHELL_STATIC:
        path = finders.find(name)
        if isinstance(path, str):
            status = os.stat(path)
            stamps.append(f"{name}:{status.st_size}:{status.st_mtime_ns}")
    return "\n".join(stamps)


@require_safe
def service_worker(request):
    """/sw.js: the service worker. Its cache's name carries a digest of what it caches and of
    itself, so a new release (new static names, a changed worker) replaces the old cache."""
    shell = _shell_urls()
    pages = [reverse("inbox"), reverse("offline_queue"), reverse("offline_page")]
    config = {
        "shell": shell,
        "pages": pages,
        "offline": reverse("offline_page"),
        "login": reverse("login"),
    }
    body = render_to_string(
        "offline/sw.js",
        {"config": json.dumps(config), "antrean_js": json.dumps(static("js/antrean.js"))},
    )
    version = hashlib.sha256((body + _shell_stamp()).encode()).hexdigest()[:12]
    response = HttpResponse(
        body.replace("__VERSION__", version), content_type="text/javascript; charset=utf-8"
    )
    # Checked again on every load; the browser never runs an old worker from its HTTP cache.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def manifest(request):
    """/manifest.webmanifest: what the phone shows when sopflow is installed."""
    data = {
        "name": _("sopflow — Tugas SOP Pemerintahan"),
        "short_name": _("Tugas SOP"),
        "description": _("Langkah SOP, foto dan laporan kegiatan, juga tanpa sinyal."),
        "lang": "id",
        "id": "/",
        "start_url": reverse("inbox"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static("img/ikon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/ikon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("img/ikon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "no-cache"
    return response


@login_required
@require_safe
def offline_queue(request):
    """/antrean/: what waits in this browser's queue (the list is drawn from IndexedDB)."""
    return render(request, "offline/antrean.html")


@require_safe
def offline_page(request):
    """/offline/: what the worker shows for a page it never cached, when there is no signal."""
    return render(request, "offline/offline.html")


@never_cache
@require_safe
@login_required
def queue_token(request):
    """/antrean/token/: the CSRF token the queue sends its forms with, and whose queue may go
    out: a login in between rotates the token, so it is read fresh before every send. Without
    a session this is the login redirect, which pauses the queue."""
    return JsonResponse({"csrf": get_token(request), "user": request.user.get_username()})
