import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.middleware import get_user
from django.core.exceptions import BadRequest
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect


class IdleSessionMiddleware:
    """Ends a session after SOPFLOW_IDLE_MINUTES without a request by its user, so a shared
    office PC left logged in does not stay open to the next person.

    The check is made when the request first reads `request.user` (which a view of a person's
    data always does), not before every request: a view that never reads the user (the static
    files, the health check, the offline page) reads neither the session nor the user. An ended
    session makes the user anonymous for the rest of the request, so a page that needs a login
    sends to the login form, with the reason as a message.

    An automatic refresh (header X-Sopflow-Poll: the inbox, the bell's count on every page, a
    pending report's status) does not count as activity, so a page left open still times out.
    The last activity is written at most once a minute, not on every request.
    """

    KEY = "sopflow_last_seen"
    STARTED = "sopflow_started"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SOPFLOW_IDLE_MINUTES and hasattr(request, "user"):
            request.user = SimpleLazyObject(lambda: self._checked_user(request))
        return self.get_response(request)

    def _checked_user(self, request):
        session = request.session
        if SESSION_KEY not in session:
            return get_user(request)  # anonymous: nothing to end
        now = int(time.time())
        seen = session.get(self.KEY)
        started = session.setdefault(self.STARTED, now)
        ended = None
        if seen is not None and now - seen > settings.SOPFLOW_IDLE_MINUTES * 60:
            ended = _(
                "Sesi Anda berakhir karena tidak ada aktivitas selama %(minutes)s menit. "
                "Silakan masuk lagi."
            ) % {"minutes": settings.SOPFLOW_IDLE_MINUTES}
        # Saving the session renews its cookie; the lifetime counts from the login.
        elif now - started > settings.SESSION_COOKIE_AGE:
            ended = _("Sesi Anda sudah terlalu lama. Silakan masuk lagi.")
        if ended is not None:
            request.user = get_user(request)
            logout(request)  # flushes the session, sets request.user to the anonymous user
            messages.info(request, ended)
            return request.user
        if not request.headers.get("X-Sopflow-Poll") and (seen is None or now - seen >= 60):
            session[self.KEY] = now
        return get_user(request)

    @classmethod
    def started(cls, sender, request, user, **kwargs):
        now = int(time.time())
        request.session[cls.KEY] = now
        request.session[cls.STARTED] = now


class ContentSecurityPolicyMiddleware:
    """Only this server's own scripts, styles, images and fonts: no third-party hosts.

    Inline styles are allowed because crispy-forms and the SOP symbols use style attributes;
    inline scripts are not.
    """

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The admin too: Django's admin needs no inline script and no outside host.
        response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response


class PrivatePagesMiddleware:
    """A page served to a logged-in user is kept by no cache: not the browser's back button on a
    shared office PC after logout, not a proxy between the office and the server."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A response that never read the session cannot hold anything of a logged-in user:
        # its user is not read here either (that would cost the session and the user).
        session = getattr(request, "session", None)
        if session is None or not session.accessed:
            return response
        user = getattr(request, "user", None)
        already = "no-store" in response.get("Cache-Control", "")
        if not already and user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session expired gets a full-page redirect to the login form.

    Without this htmx would follow the 302 itself and swap the login page into a fragment
    (for example the inbox list that refreshes every minute).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response.get("Location", "").startswith(resolve_url(settings.LOGIN_URL))
        ):
            return HttpResponseClientRedirect(response["Location"])
        return response


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Bahasa Indonesia unless the user picked another language with the switch in the page.

    Office computers often run an English browser; its Accept-Language header must not turn
    the interface English for people who never asked for it.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in dict(settings.LANGUAGES):
            chosen = settings.LANGUAGE_CODE
        translation.activate(chosen)
        request.LANGUAGE_CODE = translation.get_language()


class RequestSizeLimitMiddleware:
    """A request body larger than any form of sopflow can need is refused with 413 before
    anything reads it, so an oversize upload never ties up a worker.

    The limit (`SOPFLOW_REQUEST_MAX_BYTES`) is the attachments one step may carry plus room
    for the form fields; `DATA_UPLOAD_MAX_*` cap the fields and files Django will parse.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.SOPFLOW_REQUEST_MAX_BYTES:
            html = render_to_string(
                "413.html", {"limit_mb": settings.SOPFLOW_REQUEST_MAX_BYTES // (1024 * 1024)}
            )
            response = HttpResponse(html, status=413)
            # The unread body stays on the connection: do not keep it alive.
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class NulInQueryMiddleware:
    """A NUL character in a query string's names or values is refused with 400: no form or
    filter of sopflow means one, and PostgreSQL cannot even compare a text with it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\0" in name or any("\0" in value for value in values):
                raise BadRequest("NUL character in the query string")
        return self.get_response(request)
