"""Who calls the API: a bearer key (`Authorization: Bearer sopflow_…`), looked up by its SHA-256,
throttled per key, and its last use stamped at most once a minute."""

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from ninja.security import HttpBearer

from activities.models import ApiKey, hash_key

# The last use is written when the one stored is older than this: one UPDATE a minute per key
# at most, instead of one per request.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


class KeyRefused(Exception):
    """No usable key: a 401 with the reason."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Throttled(Exception):
    """Too many requests with this key: a 429 with Retry-After."""

    def __init__(self, wait):
        super().__init__(wait)
        self.wait = max(1, int(wait))


class ReadOnlyKey(Exception):
    """A key of scope "read" asked to change something: a 403."""


def _key_id(group, request):
    return str(request.api_key.pk)


def throttle(request, key):
    """Count the request against the key's rate (`SOPFLOW_API_RATE`, in the shared cache, so
    every server counts together)."""
    request.api_key = key
    usage = get_usage(
        request,
        group="api",
        key=_key_id,
        rate=settings.SOPFLOW_API_RATE,
        method=ALL,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise Throttled(usage["time_left"])


def touch(key, now):
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        key.last_used_at = now


class KeyAuth(HttpBearer):
    """The API's one way in. The request then carries `auth` (the key's user, who the request
    acts as) and `api_key`."""

    def authenticate(self, request, token):
        now = timezone.now()
        key = ApiKey.objects.select_related("user").filter(hashed=hash_key(token.strip())).first()
        if key is None:
            raise KeyRefused(_("Kunci API tidak dikenal."))
        if key.revoked_at is not None:
            raise KeyRefused(_("Kunci API ini sudah dicabut."))
        if key.expires_at <= now:
            raise KeyRefused(_("Kunci API ini sudah kedaluwarsa."))
        if not key.user.is_active:
            raise KeyRefused(_("Akun pemilik kunci API ini tidak aktif."))
        throttle(request, key)
        touch(key, now)
        return key.user


def require_write(request):
    if not request.api_key.may_write:
        raise ReadOnlyKey
