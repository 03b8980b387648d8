"""The append-only event log, each event a link of its run's hash chain."""

from django.apps import apps
from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.core import chain
from activities.models.base import AppendOnly, update_rows
from activities.models.people import Acting, Role
from activities.models.sops import Sop

# The advisory lock key of the chain of events without a run (any fixed 64-bit number).
RUNLESS_CHAIN_LOCK = 0x736F70_6576656E


class EventQuerySet(models.QuerySet):
    """Writes every Event into its run's hash chain (activities.core.chain), whoever the writer is.

    The previous event is read under the run's row lock, which every transition already holds;
    taking it here too makes a writer outside the transitions safe, and `unique_event_seq` turns
    a fork of the chain (two writers reading the same previous event) into an IntegrityError.
    """

    def _link(self, events, heads=None):
        runs = sorted({event.run_id for event in events if event.run_id is not None})
        last = dict(heads or {})
        runs = [run_id for run_id in runs if run_id not in last]
        if runs:
            # Lock the runs in id order, so two writers never wait on each other in a circle,
            # and read where each chain ends in the same query.
            rows = (
                apps.get_model("activities", "Run")
                .objects.select_for_update(of=("self",))
                .filter(pk__in=runs)
                .order_by("pk")
                .values_list("pk", "event_count", "event_head")
            )
            last = {pk: (count, head) for pk, count, head in rows}
        if any(event.run_id is None for event in events):
            last[None] = self._runless_head()
        for event in events:
            seq, prev_hash = last[event.run_id]
            event.seq, event.prev_hash = seq + 1, prev_hash
            event.hash = chain.event_hash(event)
            last[event.run_id] = (event.seq, event.hash)
        return last

    def _runless_head(self):
        """(seq, hash) of the last event without a run (SOP status, acting appointments).

        Those events have no row to lock: on PostgreSQL a transaction-scoped advisory lock
        serialises their writers (SQLite serialises every writer); `unique_runless_event_seq`
        turns a fork into an IntegrityError all the same.
        """
        if connections[self.db].vendor == "postgresql":
            with connections[self.db].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUNLESS_CHAIN_LOCK])
        latest = (
            Event._base_manager.using(self.db)
            .filter(run__isnull=True)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        return latest or (0, chain.GENESIS)

    def _set_heads(self, last):
        Run = apps.get_model("activities", "Run")
        heads = [(run_id, count, head) for run_id, (count, head) in last.items() if run_id]
        if len(heads) > 1:
            # Many runs at once (the deadline sweep's batches): one UPDATE.
            update_rows(
                Run,
                {run_id: (count, head) for run_id, count, head in heads},
                ("event_count", "event_head"),
                using=self.db,
            )
            return
        for run_id, count, head in heads:
            Run.objects.filter(pk=run_id).update(event_count=count, event_head=head)

    def create(self, **kwargs):
        event = self.model(**kwargs)
        event.save(force_insert=True, using=self.db)
        return event

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if not objs:
            return objs
        with transaction.atomic(using=self.db, savepoint=False):
            last = self._link(objs)
            created = super().bulk_create(objs, *args, **kwargs)
            self._set_heads(last)
        return created

    def append(self, events, run):
        """Write `events` of `run` in one INSERT, continuing its chain from the run's
        `event_count` and `event_head` as the caller read them under the run's row lock (the
        transitions hold it; `events.batch`), and move the run's head in memory too."""
        if not events:
            return events
        with transaction.atomic(using=self.db, savepoint=False):
            last = self._link(events, heads={run.pk: (run.event_count, run.event_head)})
            created = super().bulk_create(events)
            self._set_heads(last)
        run.event_count, run.event_head = last[run.pk]
        return created


class Event(AppendOnly):
    """Append-only log of every change to a run, an SOP's status or an acting appointment.

    Rows are written by `activities.core.events.record` only, and never updated or deleted. Each row
    is a link of a hash chain (`seq`, `prev_hash`, `hash`), filled in when the row is inserted:
    its run's chain, or the one chain of the events without a run; `verify_archive` recomputes
    every chain.
    """

    class Kind(models.TextChoices):
        OPENED = "opened", _("Kegiatan dibuka")
        ACTIVATED = "activated", _("Langkah aktif")
        COMPLETED = "completed", _("Langkah diselesaikan")
        APPROVED = "approved", _("Disetujui")
        SIGNED_OFF = "signed_off", _("Bagian pelaksana diselesaikan")
        RETURNED = "returned", _("Dikembalikan")
        CANCELLED = "cancelled", _("Kegiatan dibatalkan")
        FINISHED = "finished", _("Kegiatan selesai")
        ATTACHED = "attached", _("Lampiran ditambahkan")
        ARCHIVED = "archived", _("Laporan diarsipkan")
        LAPORAN_SIGNED = "laporan_signed", _("Laporan ditandatangani (TTE)")
        SIGNING_UNKNOWN = "signing_unknown", _("Penandatanganan tidak terjawab")
        PEOPLE_IMPORT = "people_import", _("Data pegawai diunggah untuk diimpor")
        KLASIFIKASI = "klasifikasi", _("Kode klasifikasi diubah")
        HANDOVER_PACKAGED = "handover_packaged", _("Paket SRIKANDI diunduh")
        HANDOVER_REGISTERED = "handover_registered", _("Terdaftar di SRIKANDI")
        SOP_ACTIVATED = "sop_activated", _("SOP diberlakukan")
        SOP_RETIRED = "sop_retired", _("SOP dinyatakan tidak berlaku")
        SOP_REVISED = "sop_revised", _("Revisi SOP dibuat")
        APPOINTED = "appointed", _("Plt./Plh. ditunjuk")
        APPOINTMENT_ENDED = "appointment_ended", _("Penunjukan Plt./Plh. diakhiri")
        REMINDED = "reminded", _("Pengingat dikirim")
        ESCALATED = "escalated", _("Eskalasi ke atasan")

    run = models.ForeignKey(
        "activities.Run", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    step_run = models.ForeignKey(
        "activities.StepRun", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    sop = models.ForeignKey(
        Sop, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    appointment = models.ForeignKey(
        "ActingAppointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    kind = models.CharField(_("jenis"), max_length=20, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("oleh"),
    )
    on_behalf = models.BooleanField(_("atas nama"), default=False)
    # The role the actor acted as, and whether he did so as Plt./Plh. of it.
    role = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sebagai"),
    )
    acting = models.CharField(
        _("pelaksana tugas/harian"), max_length=3, choices=Acting.choices, blank=True
    )
    at = models.DateTimeField(_("waktu"))
    before = models.JSONField(_("sebelum"), default=dict, blank=True)
    after = models.JSONField(_("sesudah"), default=dict, blank=True)
    seq = models.PositiveIntegerField(_("urutan"), editable=False)
    prev_hash = models.CharField(_("hash sebelumnya"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)
    # How `hash` was computed (activities.core.chain): rows written before the chain was keyed
    # stay plain SHA-256, every new row is keyed.
    scheme = models.PositiveSmallIntegerField(
        _("skema hash"), default=chain.CURRENT, choices=chain.SCHEMES, editable=False
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("catatan perubahan")
        verbose_name_plural = _("catatan perubahan")
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="unique_event_seq"),
            models.UniqueConstraint(
                fields=["seq"],
                condition=Q(run__isnull=True),
                name="unique_runless_event_seq",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            # AppendOnly refuses it.
            return super().save(*args, **kwargs)
        manager = type(self).objects.db_manager(kwargs.get("using"))
        # No savepoint of its own: an event that cannot be written fails the whole transition.
        with transaction.atomic(using=manager.db, savepoint=False):
            last = manager.get_queryset()._link([self])
            super().save(*args, **kwargs)
            manager.get_queryset()._set_heads(last)
