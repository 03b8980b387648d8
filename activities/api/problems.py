"""Errors of the API as `application/problem+json` (RFC 9457) with Indonesian messages.

The types map as the pages map them (`activities.core.errors`): `NotFound` and another unit's
object a 404, `Forbidden` and a capability the roles lack a 403, `Stale`/`Closed` a 409 (the
page would be shown again with the message), `Invalid` and a refused form a 422 with each
field's messages, `Unavailable` a 503. A missing, unknown, revoked or expired key is a 401, too
many requests a 429 with `Retry-After`."""

import json
import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, ValidationError

from activities.api.auth import KeyRefused, ReadOnlyKey, Throttled
from activities.core import errors

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"


class Unprocessable(Exception):
    """Input refused by a form: {field: [messages]}."""

    def __init__(self, field_errors, detail=None):
        super().__init__(detail)
        self.field_errors = field_errors
        self.detail = detail


def problem(status, title, detail=None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = str(detail)
    body.update(extra)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response


def not_found(detail=None):
    return problem(
        404, _("Tidak ditemukan"), detail or _("Data ini tidak ada atau bukan unit Anda.")
    )


def forbidden(detail=None):
    return problem(
        403, _("Tidak diizinkan"), detail or _("Jabatan Anda tidak berwenang melakukan ini.")
    )


def _workflow_error(request, exc, api=None):
    if isinstance(exc, errors.Forbidden):
        return forbidden(exc.message)
    if isinstance(exc, errors.NotFound):
        return not_found(exc.message)
    if isinstance(exc, errors.Stale):
        return problem(409, _("Keadaan sudah berubah"), exc.message, code=exc.code)
    if isinstance(exc, errors.Unavailable):
        return problem(503, _("Coba lagi"), exc.message, code=exc.code)
    field_errors = {exc.field: [exc.message]} if exc.field else {}
    return problem(422, _("Isian ditolak"), exc.message, code=exc.code, errors=field_errors)


def _validation(request, exc, api=None):
    messages = {}
    for error in exc.errors:
        place = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body",))
        messages.setdefault(place or "-", []).append(_("Nilai tidak sah: %(msg)s") % error)
    return problem(
        422, _("Isian ditolak"), _("Permintaan tidak sesuai dengan skemanya."), errors=messages
    )


def _unprocessable(request, exc, api=None):
    detail = exc.detail or _("Isian ditolak; lihat pesan tiap kolom.")
    return problem(422, _("Isian ditolak"), detail, errors=exc.field_errors)


def _unauthenticated(request, exc, api=None):
    detail = exc.message if isinstance(exc, KeyRefused) else None
    response = problem(
        401,
        _("Kunci API diperlukan"),
        detail or _("Kirim kunci API di kepala Authorization: Bearer <kunci>."),
    )
    response["WWW-Authenticate"] = 'Bearer realm="sopflow"'
    return response


def _throttled(request, exc, api=None):
    response = problem(
        429,
        _("Terlalu banyak permintaan"),
        _("Batas permintaan kunci ini tercapai. Coba lagi setelah %(s)d detik.") % {"s": exc.wait},
    )
    response["Retry-After"] = str(exc.wait)
    return response


def _http_error(request, exc, api=None):
    return problem(exc.status_code, _("Permintaan ditolak"), str(exc))


def _server_error(request, exc, api=None):
    logger.exception("API error on %s", request.path, exc_info=exc)
    return problem(500, _("Galat server"), _("Terjadi galat di server; sudah dicatat."))


def install(api):
    """Register the handlers on the NinjaAPI `api`."""
    api.add_exception_handler(errors.WorkflowError, _workflow_error)
    api.add_exception_handler(ValidationError, _validation)
    api.add_exception_handler(Unprocessable, _unprocessable)
    api.add_exception_handler(KeyRefused, _unauthenticated)
    api.add_exception_handler(AuthenticationError, _unauthenticated)
    api.add_exception_handler(Throttled, _throttled)
    api.add_exception_handler(
        ReadOnlyKey,
        lambda request, exc: forbidden(_("Kunci API ini hanya untuk membaca (cakupan read).")),
    )
    api.add_exception_handler(Http404, lambda request, exc: not_found())
    api.add_exception_handler(PermissionDenied, lambda request, exc: forbidden())
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Exception, _server_error)
