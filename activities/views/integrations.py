"""The pages that connect other systems: a user's own API keys (`/akun/kunci-api/`) and the
webhook subscriptions with their delivery log (`/webhook/`)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from activities.core import policy
from activities.core import webhooks as catalogue
from activities.forms import ApiKeyForm, WebhookSubscriptionForm
from activities.models import (
    ApiKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    new_webhook_secret,
)
from activities.notifications import webhooks
from activities.paging import InvalidCursor, keyset_page

LOG_PAGE_SIZE = 25
KEYS_SHOWN = 100


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def api_keys(request):
    """The user's own API keys: make one (its token is shown on this answer only) or revoke."""
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    new_token = new_key = None
    if request.method == "POST" and form.is_valid():
        new_key, new_token = ApiKey.issue(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=timezone.now() + datetime.timedelta(days=form.cleaned_data["days"]),
            created_by=request.user,
        )
        form = ApiKeyForm()
    keys = list(request.user.api_keys.all()[:KEYS_SHOWN])
    now = timezone.now()
    for key in keys:
        key.shown_state = key.state(now)
    context = {"form": form, "keys": keys, "new_token": new_token, "new_key": new_key}
    return render(request, "integrations/api_keys.html", context)


@login_required
@require_POST
def api_key_revoke(request, pk):
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    key.revoke()
    messages.success(request, _("Kunci “%(name)s” dicabut.") % {"name": key.name})
    return redirect("api_keys")


def _subscriptions_of(user):
    subscriptions = WebhookSubscription.objects.select_related("owner").prefetch_related("units")
    if user.is_superuser:
        return subscriptions
    return subscriptions.filter(owner=user)


def _require_subscriber(user):
    if not policy.may_subscribe_webhooks(user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_list(request):
    """Subscriptions of the user (every one for an administrator) and a form for a new one:
    for the administrator and the heads of units."""
    _require_subscriber(request.user)
    units = policy.subscribable_units(request.user).order_by("name")
    form = WebhookSubscriptionForm(
        request.POST if request.method == "POST" else None,
        catalogue=catalogue.CATALOGUE,
        units=units,
    )
    if request.method == "POST" and form.is_valid():
        subscription = WebhookSubscription.objects.create(
            owner=request.user,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"],
            secret=new_webhook_secret(),
        )
        subscription.units.set(form.cleaned_data["units"])
        messages.success(
            request,
            _("Langganan dibuat. Simpan rahasia penandatanganannya di sistem penerima."),
        )
        return redirect("webhook_detail", subscription.pk)
    context = {
        "form": form,
        "subscriptions": list(_subscriptions_of(request.user)[:KEYS_SHOWN]),
        "catalogue": catalogue.CATALOGUE,
    }
    return render(request, "integrations/webhook_list.html", context)


def _own_subscription(user, pk):
    """A subscription of the user (any for an administrator); anyone else's is a 404."""
    _require_subscriber(user)
    return get_object_or_404(_subscriptions_of(user), pk=pk)


@login_required
@require_safe
def webhook_detail(request, pk):
    """A subscription, its secret and its delivery log, newest first, with every attempt."""
    subscription = _own_subscription(request.user, pk)
    attempts = WebhookAttempt.objects.order_by("at", "id")
    deliveries = subscription.deliveries.prefetch_related(
        Prefetch("attempt_log", queryset=attempts)
    )
    errors = []
    try:
        page = keyset_page(
            deliveries, "created_at", LOG_PAGE_SIZE, after=request.GET.get("setelah")
        )
    except InvalidCursor:
        errors.append(_("Alamat halaman tidak dikenal; ditampilkan halaman pertama."))
        page = keyset_page(deliveries, "created_at", LOG_PAGE_SIZE)
    context = {
        "subscription": subscription,
        "deliveries": page.rows,
        "next_cursor": page.next_cursor,
        "errors": errors,
        "catalogue": catalogue.CATALOGUE,
    }
    return render(request, "integrations/webhook_detail.html", context)


@login_required
@require_POST
def webhook_status(request, pk):
    """Switch a subscription off, or on again (its waiting deliveries are then sent)."""
    subscription = _own_subscription(request.user, pk)
    if request.POST.get("aktif") == "1":
        queued = webhooks.switch_on(subscription)
        messages.success(
            request,
            _("Langganan aktif lagi; %(count)d pengiriman yang menunggu dikirim.")
            % {"count": queued},
        )
    else:
        subscription.active, subscription.disabled_at = False, timezone.now()
        subscription.disabled_reason = _("Dinonaktifkan oleh %(user)s.") % {
            "user": request.user.get_username()
        }
        subscription.save(update_fields=["active", "disabled_at", "disabled_reason"])
        messages.success(request, _("Langganan dinonaktifkan."))
    return redirect("webhook_detail", pk)


@login_required
@require_POST
def webhook_resend(request, pk, delivery_id):
    """ "Kirim ulang": the same message once more, at once."""
    subscription = _own_subscription(request.user, pk)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, subscription=subscription)
    if not subscription.active:
        messages.error(request, _("Aktifkan langganan ini dahulu, lalu kirim ulang."))
        return redirect("webhook_detail", pk)
    webhooks.resend(delivery)
    messages.success(
        request,
        _("Pesan %(id)s dikirim ulang; hasilnya tampil di log sebentar lagi.")
        % {"id": delivery.message_id},
    )
    return redirect("webhook_detail", pk)
