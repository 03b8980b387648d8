"""WeasyPrint rendering shared by every document (SOP, laporan kegiatan, laporan arsip).

Static and media files are read straight from disk (or the storage API) through
`ProjectFileFetcher`: the PDF never makes an HTTP request back to the server, and nothing outside
the project's own files is fetched.
"""

import mimetypes
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# WeasyPrint resolves relative URLs only against schemes urllib knows, so documents refer to
# their files through the absolute URLs that `static_url` and `media_url` build.
BASE_URL = "sopflow://document/"


def static_url(path):
    return f"{BASE_URL}{settings.STATIC_URL.strip('/')}/{path}"


def media_url(name):
    return f"{BASE_URL}{settings.MEDIA_URL.strip('/')}/{quote(name)}"


def _static_file(name):
    """A static file by its source name, or by its hashed name after collectstatic."""
    found = finders.find(name)
    if found:
        return Path(found)
    if staticfiles_storage.exists(name):
        return Path(staticfiles_storage.path(name))
    return None


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
            found = _static_file(path[len(static_prefix) :])
            if found is None:
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


# The archival variant (ISO 19005-3, level b: what is seen is preserved; PDF/A-3 so that the
# signature's validation data and files may be added later).
ARCHIVAL_VARIANT = "pdf/a-3b"


def render_pdf(template_name, context, request=None, *, archival=False):
    """Render a template to PDF bytes. Build `context` completely first: no queries here.

    Documents are official papers of the office and always in Bahasa Indonesia, whatever
    language the person printing them reads the screens in: the archived final laporan is
    rendered once and must not depend on who finished the run.

    Every document is tagged (headings, tables, reading order: for screen readers and for text
    extraction); `archival` makes it PDF/A-3b as well (the laporan the archive keeps).
    """
    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string(template_name, context, request=request)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=ProjectFileFetcher())
    options = {"pdf_tags": True}
    if archival:
        options["pdf_variant"] = ARCHIVAL_VARIANT
    return document.write_pdf(**options)
