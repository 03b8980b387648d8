"""The bell and /notifikasi/: a user's in-app notifications, read and unread."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from activities.models import Notification

PAGE_SIZE = 50


@login_required
@require_safe
def notification_list(request):
    """The user's notifications, newest first, unread marked."""
    notifications = list(
        Notification.objects.filter(recipient=request.user)
        .select_related("run")
        .order_by("-created_at", "-id")[:PAGE_SIZE]
    )
    return render(request, "notifications/list.html", {"notifications": notifications})


@login_required
@require_safe
def notification_count(request):
    """The bell's badge, for htmx polling."""
    return render(request, "notifications/_bell.html")


@login_required
@require_safe
def notification_open(request, pk):
    """Mark one notification read and go to its step or run."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk, read_at=None).update(read_at=timezone.now())
    target = notification.url
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = "notification_list"
    return redirect(target or "notification_list")


@login_required
@require_POST
def notification_read_all(request):
    Notification.objects.filter(recipient=request.user, read_at=None).update(read_at=timezone.now())
    return redirect("notification_list")
