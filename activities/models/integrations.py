"""What connects sopflow to the city's other systems: API keys and webhook subscriptions with
their deliveries and every attempt of each."""

import base64
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models.base import ConfigurationHistory
from activities.models.events import Event
from activities.models.units import Unit

# The visible start of every key, so a leaked one is recognised by secret scanners and people.
KEY_PREFIX = "sopflow_"


def hash_key(token: str) -> str:
    """The stored form of an API key: SHA-256 of the whole token.

    A key is 32 random bytes (256 bits) from `secrets`, never chosen by a person, so a fast hash
    is enough: guessing a preimage of SHA-256 for such a token is out of reach, unlike for a
    password, where a slow salted hash has to make up for the little entropy a person chooses.
    The hash is the lookup key (unique index), so checking a key is one indexed read."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at=None, expires_at__gt=now, user__is_active=True)


class ApiKey(models.Model):
    """A key to the REST API (`/api/v1/`). It acts as its user: his units, roles and Plt./Plh.
    appointments, through the same policy as the pages. Only its SHA-256 is stored; the token
    is shown once, when it is made."""

    class Scope(models.TextChoices):
        READ = "read", _("baca")
        WRITE = "write", _("baca dan tulis")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("pemilik"),
    )
    name = models.CharField(_("nama"), max_length=100)
    scope = models.CharField(_("cakupan"), max_length=5, choices=Scope, default=Scope.READ)
    # The first characters of the token, to tell one's keys apart in lists.
    prefix = models.CharField(_("awal kunci"), max_length=20, editable=False)
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("dibuat"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dibuat oleh"),
    )
    expires_at = models.DateTimeField(_("berlaku sampai"))
    last_used_at = models.DateTimeField(_("terakhir dipakai"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("dicabut"), null=True, blank=True)

    # Its last use is not a configuration change: it is stamped with update(), outside history.
    history = ConfigurationHistory(excluded_fields=["hashed", "last_used_at"])
    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("kunci API")
        verbose_name_plural = _("kunci API")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, user, name, scope, expires_at, created_by=None):
        """Make a key for `user`; returns (key, token). The token exists only in the return
        value: show it once."""
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            user=user,
            name=name,
            scope=scope,
            expires_at=expires_at,
            prefix=token[: len(KEY_PREFIX) + 6],
            hashed=hash_key(token),
            created_by=created_by,
        )
        return key, token

    @property
    def may_write(self):
        return self.scope == self.Scope.WRITE

    def state(self, now=None):
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"

    def revoke(self, now=None):
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            self.save(update_fields=["revoked_at"])


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookSubscription(models.Model):
    """A URL of another system that receives events of the catalogue
    (`activities.notifications.webhooks.CATALOGUE`), signed in the Standard Webhooks format with
    its own secret. An administrator subscribes for any units, a unit's head for his units."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("pemilik"),
    )
    url = models.URLField(_("alamat penerima"), max_length=500)
    description = models.CharField(_("keterangan"), max_length=200, blank=True)
    event_types = models.JSONField(_("jenis peristiwa"), default=list)
    # Empty: every unit the owner may subscribe to when an event happens.
    units = models.ManyToManyField(
        Unit, blank=True, related_name="webhook_subscriptions", verbose_name=_("unit kerja")
    )
    secret = models.CharField(_("rahasia penandatanganan"), max_length=100)
    active = models.BooleanField(_("aktif"), default=True)
    created_at = models.DateTimeField(_("dibuat"), default=timezone.now, editable=False)
    disabled_at = models.DateTimeField(_("dinonaktifkan"), null=True, blank=True)
    disabled_reason = models.CharField(_("alasan dinonaktifkan"), max_length=300, blank=True)

    history = ConfigurationHistory(excluded_fields=["secret"], m2m_fields=["units"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("langganan webhook")
        verbose_name_plural = _("langganan webhook")

    def __str__(self):
        return self.url


class WebhookCursor(models.Model):
    """How far the dispatcher has read the event log: every event up to `last_event_id` has
    its deliveries (one row, name "events")."""

    name = models.CharField(max_length=20, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_event_id}"


class WebhookDelivery(models.Model):
    """One event sent to one subscription: the message (its id, type and body stay the same on
    every attempt and on "kirim ulang") and where its sending stands."""

    class Status(models.TextChoices):
        PENDING = "pending", _("menunggu")
        DELIVERED = "delivered", _("terkirim")
        FAILED = "failed", _("gagal")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(_("jenis"), max_length=40)
    message_id = models.CharField(_("id pesan"), max_length=64, unique=True)
    payload = models.JSONField(_("isi"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)
    next_attempt_at = models.DateTimeField(_("percobaan berikutnya"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("terkirim"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("kode jawaban"), null=True, blank=True)
    created_at = models.DateTimeField(_("dibuat"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("pengiriman webhook")
        verbose_name_plural = _("pengiriman webhook")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="unique_webhook_delivery"
            ),
        ]
        indexes = [
            models.Index(
                fields=["subscription", "-created_at", "-id"], name="webhook_delivery_log"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.subscription}"


class WebhookAttempt(models.Model):
    """One try of a delivery: when, the answer's status code (none when nobody answered), how
    long it took and what went wrong."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("percobaan ke"))
    at = models.DateTimeField(_("waktu"))
    status_code = models.PositiveSmallIntegerField(_("kode jawaban"), null=True, blank=True)
    succeeded = models.BooleanField(_("berhasil"), default=False)
    duration_ms = models.PositiveIntegerField(_("lama (ms)"), default=0)
    error = models.CharField(_("galat"), max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("percobaan pengiriman webhook")
        verbose_name_plural = _("percobaan pengiriman webhook")

    def __str__(self):
        return f"{self.delivery} #{self.number}"
