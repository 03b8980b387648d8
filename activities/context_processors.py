from activities.models import StepRun

# The navigation shows a number only up to here, then "99+": counting further would read
# every active step of a busy Kepala for a badge.
BADGE_CAP = 99


def inbox_badge(user):
    """The inbox count for the navigation: one query reading at most BADGE_CAP + 1 rows of
    the active-steps index, "99+" beyond."""
    count = StepRun.objects.for_user(user).order_by().values("pk")[: BADGE_CAP + 1].count()
    return f"{BADGE_CAP}+" if count > BADGE_CAP else count


def navigation(request):
    """The inbox count in the navigation bar, only for logged-in users, only when shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def inbox_count():
        return inbox_badge(user)

    return {"inbox_count": inbox_count}
