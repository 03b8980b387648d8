"""In-app notifications and their deliveries through the outside channels."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models.runs import Run, StepRun


class Notification(models.Model):
    """A message to one user about a run or a step: the in-app channel (the bell) itself, and
    what the other channels (e-mail, webhook) deliver.

    `key` names what the notification is about ("activated:<step run>", "digest:<date>"), so
    the same occasion never notifies a user twice, however often a task or the sweep reruns.
    """

    class Kind(models.TextChoices):
        ACTIVATED = "activated", _("Langkah menunggu Anda")
        RETURNED = "returned", _("Langkah dikembalikan kepada Anda")
        REMINDER = "reminder", _("Pengingat")
        ESCALATION = "escalation", _("Eskalasi")
        FINISHED = "finished", _("Kegiatan selesai")
        ARCHIVED = "archived", _("Laporan diarsipkan")
        DIGEST = "digest", _("Ringkasan harian")
        MONITORING = "monitoring", _("Monitoring SOP")
        WEBHOOK = "webhook", _("Webhook dinonaktifkan")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("penerima"),
    )
    kind = models.CharField(_("jenis"), max_length=12, choices=Kind)
    key = models.CharField(max_length=120)
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    step_run = models.ForeignKey(
        StepRun, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    subject = models.CharField(_("judul"), max_length=250)
    body = models.TextField(_("isi"))
    url = models.CharField(_("tautan"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("dibuat"))
    read_at = models.DateTimeField(_("dibaca"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notifikasi")
        verbose_name_plural = _("notifikasi")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="unique_notification_key"),
        ]
        indexes = [
            # /notifikasi/: a user's notifications, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_list"),
            # The bell: COUNT of a user's unread notifications.
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self):
        return self.subject


class Delivery(models.Model):
    """One notification sent through one outside channel (e-mail, webhook).

    The delivery task claims the row before it sends (`claimed_at`) and stamps `sent_at` after,
    so a second worker or a retry never sends a delivered notification again.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("saluran"), max_length=20)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("terkirim"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)
    last_error = models.TextField(_("galat terakhir"), blank=True)

    class Meta:
        verbose_name = _("pengiriman notifikasi")
        verbose_name_plural = _("pengiriman notifikasi")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="unique_delivery_channel"
            ),
        ]

    def __str__(self):
        return f"{self.channel}: {self.notification}"
