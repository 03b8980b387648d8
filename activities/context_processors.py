from activities import policy


def navigation(request):
    """The inbox count in the navigation bar: one COUNT query, only for logged-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def inbox_count():
        return policy.inbox(user).count()

    def may_appoint():
        return policy.has_anywhere(user, "appoint_acting")

    return {"inbox_count": inbox_count, "may_appoint": may_appoint}
