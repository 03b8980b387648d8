from activities import policy
from activities.models import Notification


def navigation(request):
    """The inbox count and the bell's unread count in the navigation bar: one COUNT query each,
    only for logged-in users and only when a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def inbox_count():
        return policy.inbox(user).count()

    def may_appoint():
        return policy.has_anywhere(user, "appoint_acting")

    def unread_count():
        return Notification.objects.filter(recipient=user, read_at=None).count()

    return {"inbox_count": inbox_count, "unread_count": unread_count, "may_appoint": may_appoint}
