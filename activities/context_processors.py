from activities import policy
from activities.models import Notification

# The navigation shows a number only up to here, then "99+": counting further would read every
# active step of a busy Kepala for a badge.
BADGE_CAP = 99


def inbox_badge(user):
    """The inbox count for the navigation: one query that stops after BADGE_CAP + 1 rows of the
    user's active steps; "99+" beyond."""
    count = policy.inbox(user).order_by().values("pk")[: BADGE_CAP + 1].count()
    return f"{BADGE_CAP}+" if count > BADGE_CAP else count


def navigation(request):
    """The inbox count (capped, `inbox_badge`) and the bell's unread count in the navigation
    bar: one COUNT query each, only for logged-in users and only when a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def inbox_count():
        return inbox_badge(user)

    def may_appoint():
        return policy.has_anywhere(user, "appoint_acting")

    def unread_count():
        return Notification.objects.filter(recipient=user, read_at=None).count()

    return {"inbox_count": inbox_count, "unread_count": unread_count, "may_appoint": may_appoint}
