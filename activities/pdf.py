"""WeasyPrint rendering shared by every document (SOP, laporan kegiatan, laporan arsip).

Static and media files are read straight from disk through `ProjectFileFetcher`: the PDF never makes
an HTTP request back to the server, and nothing outside the project's own files is fetched.
"""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

BASE_URL = "sopflow://document/"


class ProjectFileFetcher(URLFetcher):
    """Resolves /static/… and /media/… to files on disk and refuses every other URL."""

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme == "data":
            return super().fetch(url, headers)
        if parsed.scheme != "sopflow":
            raise ValueError(f"refusing to fetch {url}")
        path = "/" + unquote(parsed.path).lstrip("/")
        static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        media_prefix = "/" + settings.MEDIA_URL.lstrip("/")
        if path.startswith(static_prefix):
            found = finders.find(path[len(static_prefix) :])
            if not found:
                raise ValueError(f"no such static file: {path}")
            return self._response(url, Path(found).read_bytes(), found)
        if path.startswith(media_prefix):
            name = path[len(media_prefix) :]
            with default_storage.open(name, "rb") as handle:
                return self._response(url, handle.read(), name)
        raise ValueError(f"not a project file: {url}")

    @staticmethod
    def _response(url, data, name):
        mime_type, _encoding = mimetypes.guess_type(str(name))
        headers = {"Content-Type": mime_type or "application/octet-stream"}
        return URLFetcherResponse(url, data, headers)


def render_pdf(template_name, context, request=None):
    """Render a template to PDF bytes. Build `context` completely first: no queries here."""
    html = render_to_string(template_name, context, request=request)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=ProjectFileFetcher()).write_pdf()
