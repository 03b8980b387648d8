"""The front door besides logging in: a rate-limited password reset, and /healthz."""

import datetime
import logging
import uuid

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from activities.models import PasswordResetRequest
from activities.throttling import client_address

logger = logging.getLogger(__name__)


class PasswordReset(auth_views.PasswordResetView):
    """Django's reset view, in sopflow's look and an Indonesian plain-text mail, sending at
    most SOPFLOW_RESET_MAILS_PER_HOUR mails per address and per client address in an hour."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()
        client = client_address(self.request)
        now = timezone.now()
        limit = settings.SOPFLOW_RESET_MAILS_PER_HOUR
        with transaction.atomic():
            recent = PasswordResetRequest.objects.filter(at__gte=now - datetime.timedelta(hours=1))
            by_address = recent.filter(address=address).count()
            by_client = recent.filter(client=client).count() if client else 0
            if by_address >= limit or by_client >= limit:
                form.add_error(
                    "email",
                    _(
                        "Permintaan kata sandi baru sudah terlalu sering. Periksa e-mail yang "
                        "sudah dikirim, atau coba lagi dalam satu jam."
                    ),
                )
                return self.form_invalid(form)
            PasswordResetRequest.objects.create(address=address, client=client, at=now)
            # Requests older than a day are of no use to the limit.
            PasswordResetRequest.objects.filter(Q(at__lt=now - datetime.timedelta(days=1))).delete()
        return super().form_valid(form)


@never_cache
@require_safe
def healthz(request):
    """200 when the database answers and the storage takes a file; 503 (with what failed)
    otherwise. No login: it says nothing but "ok" or which part is down."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception:
        logger.exception("Health check: the database does not answer")
        checks["database"] = "error"
    name = f"healthz/{uuid.uuid4().hex}.txt"
    try:
        stored = default_storage.save(name, ContentFile(b"ok"))
        with default_storage.open(stored, "rb") as handle:
            readable = handle.read() == b"ok"
        default_storage.delete(stored)
        checks["storage"] = "ok" if readable else "error"
    except Exception:
        logger.exception("Health check: the storage does not take a file")
        checks["storage"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
