"""Who is knocking: the client's address behind the configured proxies, and the login lock.

Every limit that counts per client (failed logins, password reset mails, the public
verification page) reads the address through `client_address`, so they all agree on who the
client is. The login lock counts failures per username and address pair, with a much higher
limit per address: one guesser cannot lock an account for everyone, and one office behind one
NAT is not one lock.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The address of the client as the outermost of SOPFLOW_PROXY_COUNT proxies saw it.

    Each proxy appends the address it received the request from to X-Forwarded-For, so the
    client is the entry SOPFLOW_PROXY_COUNT places from the right; whatever the client itself
    put further left is its own claim and is ignored. With no proxies, or a header too short
    or unreadable to hold that entry, the connection's address counts.
    """
    remote = request.META.get("REMOTE_ADDR") or ""
    count = settings.SOPFLOW_PROXY_COUNT
    if count > 0:
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(hops) >= count and (address := _valid(hops[-count])):
            return address
    return remote


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username django-axes records, cut to the width of its column so that a hostile
    length is counted as a failure rather than failing the database write."""
    source = credentials if credentials is not None else request.POST
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    if username is None:
        return None
    width = AccessAttempt._meta.get_field("username").max_length
    return str(username).replace("\0", "")[:width]


class LoginAttempts(AxesDatabaseHandler):
    """django-axes' database handler with two limits: AXES_FAILURE_LIMIT failures of one
    username from one address (AXES_LOCKOUT_PARAMETERS), and SOPFLOW_LOGIN_ADDRESS_LIMIT
    failures of any usernames from one address.

    django-axes compares the largest count of its parameter groups with a single limit, so the
    address's own count is checked here and, once over its limit, reported as a full pair
    count: the lock then comes with django-axes' usual page and cool-off.
    """

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures >= limit:
            return failures
        by_address = (
            AccessAttempt.objects.filter(
                ip_address=request.axes_ip_address,
                attempt_time__gte=get_cool_off_threshold(request),
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        if by_address >= settings.SOPFLOW_LOGIN_ADDRESS_LIMIT:
            return limit
        return failures
