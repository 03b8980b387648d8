"""A request id on every log line: the proxy's X-Request-ID, or a new one.

It imports none of Django's apps on purpose: the logging configuration loads `RequestIdFilter`
before the apps are ready.
"""

import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished

_request_id = contextvars.ContextVar("request_id", default="-")
# An id a proxy may pass on (nginx's $request_id is 32 hex digits); anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    """Gives every request an id (the proxy's X-Request-ID, or a new one), puts it on every log
    line written while the request runs and sends it back as X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset here: Django logs a 4xx/5xx response after the middleware has returned.
        # The id is cleared when the request is finished (`_clear`).
        _request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record ("-" outside a request)."""

    def filter(self, record):
        record.request_id = _request_id.get()
        return True


def _clear(**kwargs):
    _request_id.set("-")


request_finished.connect(_clear, dispatch_uid="sopflow_request_id")
