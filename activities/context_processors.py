from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import IntegerField, Subquery
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext_lazy

from activities.core import policy
from activities.models import Notification, PreparedQueries
from activities.text import once_per_language

# The navigation shows a number only up to here, then "99+": counting further would read every
# active step of a busy Kepala for a badge.
BADGE_CAP = 99


class RowCount(Subquery):
    """The number of rows of a query, its LIMIT included, as one value of an outer query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()
    # A query Django knows to be empty (a user without roles) counts nothing.
    empty_result_set_value = 0


def _capped_inbox(user):
    # The steps of the user's roles as a subquery: pages other than the inbox need not read
    # them for the badge.
    return policy.inbox(user, steps_first=False).order_by().values("pk")[: BADGE_CAP + 1]


def _counts_query(user):
    # Counted, not listed: without the model's ordering, which the database would sort for.
    unread = Notification.objects.filter(recipient=user, read_at=None).order_by().values("pk")
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(inbox=RowCount(_capped_inbox(user)), unread=RowCount(unread))
        .values_list("inbox", "unread")
    )


# The query's shape follows the user's roles (own and acting today): compiled once for each.
_COUNTS = PreparedQueries(lambda user, _superuser, _role_ids: _counts_query(user))


def navigation_counts(user):
    """(inbox badge, unread notifications) in one query: two counting subqueries on the user's
    row. The inbox count stops after BADGE_CAP + 1 rows of the user's active steps; "99+"
    beyond."""
    facts = policy.subject(user)
    key = (user, facts.is_superuser, frozenset(facts.step_role_ids))
    inbox, unread = _COUNTS.one(key) or (0, 0)
    return (f"{BADGE_CAP}+" if inbox > BADGE_CAP else inbox), unread


# The links of the navigation bar, in order: the URL's name, the label, and who sees it (all,
# or the users the check lets in).
NAV_LINKS = (
    ("inbox", gettext_lazy("Tugas"), None),
    ("run_list", gettext_lazy("Kegiatan"), None),
    ("sop_list", gettext_lazy("SOP"), None),
    ("archive_list", gettext_lazy("Arsip"), None),
    ("kinerja", gettext_lazy("Kinerja"), None),
    (
        "appointment_list",
        gettext_lazy("Plt./Plh."),
        lambda user: policy.has_anywhere(user, "appoint_acting"),
    ),
    ("webhook_list", gettext_lazy("Webhook"), policy.may_subscribe_webhooks),
    ("admin:index", gettext_lazy("Administrasi"), lambda user: user.is_staff),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    active: bool
    # The inbox's count of active steps ("99+" beyond), 0 for the other links.
    badge: int | str = 0


# The other addresses the layout (base.html) links to on every page.
SITE_URLS = (
    "home",
    "login",
    "logout",
    "manifest",
    "offline_queue",
    "set_language",
    "notification_list",
    "notification_count",
    "password_change",
    "api_keys",
)


@once_per_language
def _site_urls(script_prefix, urlconf):
    """{name: URL} of SITE_URLS and of the navigation's links, reversed once per process for
    each address prefix and URL configuration instead of by a `{% url %}` on every page."""
    names = [*SITE_URLS, *(name for name, _label, _who in NAV_LINKS)]
    return {name: reverse(name, urlconf=urlconf) for name in names}


@once_per_language
def _nav_targets(script_prefix, urlconf):
    """(name, URL, label, who) of every link: the same on every page of a language, address
    prefix and URL configuration, so made once per process for each."""
    urls = _site_urls(script_prefix, urlconf)
    return tuple((name, urls[name], str(label), who) for name, label, who in NAV_LINKS)


def navigation(request):
    """The addresses of the layout (`site_urls`); for a logged-in user the navigation's links,
    the inbox count (capped) and the bell's unread count: one query for both counts, only when
    a template shows one."""
    script_prefix, urlconf = get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    site_urls = {"site_urls": _site_urls(script_prefix, urlconf)}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return site_urls
    counts = []

    def read_counts():
        if not counts:
            counts.extend(navigation_counts(user))
        return counts

    def inbox_count():
        return read_counts()[0]

    def unread_count():
        return read_counts()[1]

    def nav_links():
        current = getattr(request.resolver_match, "url_name", None)
        targets = _nav_targets(script_prefix, urlconf)
        return [
            NavLink(url, label, name == current, inbox_count() if name == "inbox" else 0)
            for name, url, label, who in targets
            if who is None or who(user)
        ]

    return {
        **site_urls,
        "inbox_count": inbox_count,
        "unread_count": unread_count,
        "nav_links": nav_links,
    }
