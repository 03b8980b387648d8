"""Runs (kegiatan) of an SOP version, their step rounds and attachments.

State changes live in `activities.core.workflow`; models hold data and small derived values."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models.events import Event
from activities.models.people import Acting, Role, performed_as
from activities.models.sops import Sop, Step
from activities.models.stepdata import grouped_values
from activities.models.units import Unit


class Run(models.Model):
    """One run (kegiatan) of an SOP version, e.g. one socialisation event."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Berjalan")
        FINISHED = "finished", _("Selesai")
        CANCELLED = "cancelled", _("Dibatalkan")

    sop = models.ForeignKey(
        Sop, on_delete=models.PROTECT, related_name="runs", verbose_name=_("SOP")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="runs", verbose_name=_("unit kerja")
    )
    title = models.CharField(_("judul kegiatan"), max_length=200)
    scheduled_on = models.DateField(_("tanggal pelaksanaan"))
    place = models.CharField(_("tempat"), max_length=200)
    notes = models.TextField(_("catatan"), blank=True)
    # Chosen before archiving; empty: the SOP's own kode klasifikasi.
    klasifikasi = models.ForeignKey(
        "activities.Klasifikasi",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("kode klasifikasi arsip"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.RUNNING)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dibuka oleh"),
    )
    opened_at = models.DateTimeField(_("dibuka"))
    # Whether a superuser opened it on behalf of step 1's role: a copy of its opening event's
    # `on_behalf`, so that the run's pages need not read the event.
    opened_on_behalf = models.BooleanField(_("dibuka atas nama"), default=False, editable=False)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("dibatalkan"), null=True, blank=True)
    cancel_reason = models.TextField(_("alasan pembatalan"), blank=True)
    # Where the run's event chain ends (see activities.core.chain): the number and hash of its latest
    # Event, so a deleted last event is visible too. Written only by Event's manager, with a
    # queryset update under the run's row lock.
    event_count = models.PositiveIntegerField(_("jumlah catatan"), default=0, editable=False)
    event_head = models.CharField(
        _("hash catatan terakhir"), max_length=64, blank=True, default="", editable=False
    )
    # The run's figures in office minutes, stored once when it finishes or is cancelled (see
    # `activities.time.timing.run_figures`): a later calendar edit changes only running runs.
    # Null while the run is running.
    standard_office_minutes = models.PositiveIntegerField(
        _("waktu baku (menit kerja)"), null=True, blank=True, editable=False
    )
    handling_office_minutes = models.FloatField(
        _("waktu pengerjaan (menit kerja)"), null=True, blank=True, editable=False
    )
    waiting_office_minutes = models.FloatField(
        _("waktu tunggu (menit kerja)"), null=True, blank=True, editable=False
    )
    lead_office_minutes = models.FloatField(
        _("waktu tempuh (menit kerja)"), null=True, blank=True, editable=False
    )
    steps_done = models.PositiveSmallIntegerField(
        _("langkah selesai"), null=True, blank=True, editable=False
    )
    steps_on_time = models.PositiveSmallIntegerField(
        _("langkah tepat waktu"), null=True, blank=True, editable=False
    )
    # When the run closed (finished or cancelled), null while it runs: a column the database
    # computes and stores, so the archive filters and sorts on one indexed value.
    closed_at = models.GeneratedField(
        expression=Coalesce("finished_at", "cancelled_at"),
        output_field=models.DateTimeField(_("ditutup"), null=True, blank=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("kegiatan")
        verbose_name_plural = _("kegiatan")
        indexes = [
            # /kegiatan/: a unit's runs, newest first, keyset-paginated on (opened_at, id).
            models.Index(fields=["unit", "-opened_at", "-id"], name="run_unit_opened"),
            # /arsip/: a unit's closed runs by finish time, keyset-paginated.
            models.Index(
                fields=["unit", "status", "-finished_at", "-id"], name="run_unit_finished"
            ),
            # /arsip/: a unit's closed runs, last closed first, keyset-paginated; and the same
            # with a status filter (finished or cancelled only).
            models.Index(
                fields=["unit", "-closed_at", "-id"],
                condition=Q(closed_at__isnull=False),
                name="run_unit_closed",
            ),
            models.Index(
                fields=["unit", "status", "-closed_at", "-id"],
                condition=Q(closed_at__isnull=False),
                name="run_unit_status_closed",
            ),
            # Statistics over finished runs of one SOP version in a period (stored figures).
            models.Index(
                fields=["sop", "finished_at"],
                condition=Q(status="finished"),
                name="run_sop_finished",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("run_detail", args=[self.pk])

    @property
    def is_running(self):
        return self.status == self.Status.RUNNING

    @property
    def status_label(self):
        """`get_status_display()` for the rows of a list: the label of the status's member,
        without Django rebuilding the choices for each call."""
        return self.Status(self.status).label

    def acts(self):
        """{"cancelled": Event} of a cancelled run, with its actor: who cancelled it, and
        whether a superuser did it on behalf of step 1's role (the run row records neither);
        {} without a query for any other run. Who opened it is on the row."""
        if self.cancelled_at is None:
            return {}
        events = self.events.filter(kind=Event.Kind.CANCELLED).select_related("actor")
        return {event.kind: event for event in events.order_by("at", "id")}


class StepRun(models.Model):
    """One round of one step of a run. A returned step gets a new round; old rounds stay."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Menunggu")
        ACTIVE = "active", _("Aktif")
        DONE = "done", _("Selesai")
        RETURNED = "returned", _("Dikembalikan")

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Disetujui")
        RETURNED = "returned", _("Dikembalikan")

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="step_runs")
    round = models.PositiveSmallIntegerField(_("putaran"), default=1)
    state = models.CharField(_("status"), max_length=10, choices=State, default=State.WAITING)
    activated_at = models.DateTimeField(_("aktif sejak"), null=True, blank=True)
    started_at = models.DateTimeField(_("mulai"), null=True, blank=True)
    completed_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    entered_at = models.DateTimeField(_("dicatat"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pelaksana"),
    )
    completed_as = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sebagai"),
    )
    on_behalf = models.BooleanField(_("atas nama"), default=False)
    # Plt./Plh.: the performer acted for `completed_as` by an acting appointment.
    acting = models.CharField(
        _("pelaksana tugas/harian"), max_length=3, choices=Acting.choices, blank=True
    )
    requirements_checked = models.TextField(_("kelengkapan diperiksa"), blank=True)
    output = models.TextField(_("output"), blank=True)
    notes = models.TextField(_("catatan"), blank=True)
    decision = models.CharField(_("keputusan"), max_length=10, choices=Decision, blank=True)
    instruction = models.TextField(_("disposisi"), blank=True)
    deadline = models.DateField(_("batas waktu"), null=True, blank=True)
    # When an active step is due: its activation plus its standard on the unit's calendar, or
    # the batas waktu of the disposisi that ordered it. Set when the step becomes active.
    due_at = models.DateTimeField(_("jatuh tempo"), null=True, blank=True)
    # How far the deadline sweep has gone with this round: see activities.time.deadlines.Stage.
    alert_stage = models.PositiveSmallIntegerField(default=0)
    # When the sweep next has something to send for this round (its reminder, its due time, its
    # next escalation), in the office time of the run's unit; set on activation and at each
    # stage, None once nothing more is to come or the round is closed.
    next_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision_notes = models.TextField(_("catatan disposisi"), blank=True)
    return_reason = models.TextField(_("alasan pengembalian"), blank=True)
    # Office minutes under the unit's calendar, computed once when the round closes (done or
    # returned) and stored, so a later calendar edit never changes a closed round:
    # waiting = activated → started, handling = started → completed (the step's "actual"
    # time). The round that was active when its run was cancelled keeps only its waiting time
    # (activated → cancelled). Null while a round is open.
    waiting_office_minutes = models.FloatField(
        _("waktu tunggu (menit kerja)"), null=True, blank=True, editable=False
    )
    handling_office_minutes = models.FloatField(
        _("waktu pengerjaan (menit kerja)"), null=True, blank=True, editable=False
    )
    # Bumped by every transition; a conditional UPDATE on it is the race guard that still
    # holds where select_for_update does not (SQLite).
    version = models.PositiveIntegerField(default=0)
    # The id the browser gave the form that closed this round (a completion sent from the
    # offline queue): a replay of that form is answered with this round, never a second close.
    client_id = models.UUIDField(_("id klien"), null=True, blank=True, editable=False)
    # Not a column: set on the round a transition returns (`workflow.complete_step`,
    # `approve_step`, `return_step`) to the round it activated, None when the run finished.
    following: "StepRun | None"
    # Not columns either: set on the round a joint step's sign-off returns: the roles still
    # awaited ("all") and how many sign-offs are still needed (0: the round closed).
    awaiting: "list[Role]"
    sign_offs_needed: int

    class Meta:
        ordering = ["run", "step__number", "round"]
        verbose_name = _("langkah kegiatan")
        verbose_name_plural = _("langkah kegiatan")
        constraints = [
            models.UniqueConstraint(fields=["run", "step", "round"], name="unique_step_round"),
            # At most one round of a step of a run is active (steps of a parallel group are
            # active side by side, each once): a second guard against double advances.
            models.UniqueConstraint(
                fields=["run", "step"],
                condition=Q(state="active"),
                name="one_active_round_per_step",
            ),
            # A client id closes at most one round of its run.
            models.UniqueConstraint(
                fields=["run", "client_id"],
                condition=Q(client_id__isnull=False),
                name="unique_completion_client_id",
            ),
        ]
        indexes = [
            # /tugas/: active steps, oldest first.
            models.Index(
                fields=["activated_at"], condition=Q(state="active"), name="steprun_active"
            ),
            # /tugas/ sorted by due time, and the deadline sweep over active steps.
            models.Index(fields=["due_at"], condition=Q(state="active"), name="steprun_active_due"),
            # The deadline sweep: the rounds whose next alert has come, and nothing else.
            models.Index(
                fields=["next_alert_at"],
                condition=Q(next_alert_at__isnull=False),
                name="steprun_next_alert",
            ),
            # /tugas/ and its navigation badge: the active rounds of the user's steps, soonest
            # due first (`policy.inbox` filters on the step ids of the user's roles).
            models.Index(
                fields=["step", "due_at"],
                condition=Q(state="active"),
                name="steprun_active_step_due",
            ),
            # Statistics of one step (median, p90 of its stored figures) over a period of
            # completion: closed rounds only. It carries the figures and the state too, so the
            # GROUP BY of `statistics.for_sop` reads the index alone, never the wide rows
            # (fetching those rows was most of that query's time on SQLite).
            models.Index(
                fields=[
                    "step",
                    "completed_at",
                    "handling_office_minutes",
                    "waiting_office_minutes",
                    "state",
                ],
                condition=Q(handling_office_minutes__isnull=False),
                name="steprun_step_stats",
            ),
        ]

    def __str__(self):
        return f"{self.run} · {self.step.number}/{self.round}"

    def get_absolute_url(self):
        return reverse("step_action", args=[self.run_id, self.step.number])

    @property
    def holds_data(self):
        """Whether the round can have recorded step data: only a step that asks for some
        (`Step.data_fields`) records any."""
        return bool(self.step.data_fields)

    @property
    def data_rows(self):
        """[(label, text)] of the step data this round recorded, as the run page prints it:
        none, without a query, for a round that holds none (`holds_data`)."""
        if not self.holds_data:
            return []
        return grouped_values(self.values.all())

    def requirements_checked_list(self):
        return [line for line in self.requirements_checked.splitlines() if line.strip()]

    @property
    def performed_as(self):
        """“Plh. Kepala” for an acting performer, else the role's name (or "")."""
        return performed_as(self.completed_as, self.acting, self.run.sop)

    @property
    def roles_display(self):
        """The step's pelaksana, as the run's SOP version prints them."""
        return self.run.sop.pelaksana(self.step)

    def is_overdue(self, now=None):
        return (
            self.state == self.State.ACTIVE
            and self.due_at is not None
            and self.due_at < (now or timezone.now())
        )


class StepSignOff(models.Model):
    """One required performer's part of a joint step's round (`Step.completion` "all" or
    "quorum"): who signed off as which role, his own times, notes and output. The round closes
    when the step's rule is met; a returned round keeps its sign-offs."""

    step_run = models.ForeignKey(StepRun, on_delete=models.PROTECT, related_name="sign_offs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("pelaksana"),
    )
    role = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sebagai"),
    )
    on_behalf = models.BooleanField(_("atas nama"), default=False)
    acting = models.CharField(
        _("pelaksana tugas/harian"), max_length=3, choices=Acting.choices, blank=True
    )
    started_at = models.DateTimeField(_("mulai"))
    completed_at = models.DateTimeField(_("selesai"))
    entered_at = models.DateTimeField(_("dicatat"))
    requirements_checked = models.TextField(_("kelengkapan diperiksa"), blank=True)
    output = models.TextField(_("output"), blank=True)
    notes = models.TextField(_("catatan"), blank=True)
    instruction = models.TextField(_("disposisi"), blank=True)
    # Office minutes started → completed under the unit's calendar, stored when signed.
    handling_office_minutes = models.FloatField(
        _("waktu pengerjaan (menit kerja)"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["step_run", "entered_at", "id"]
        verbose_name = _("bagian pelaksana")
        verbose_name_plural = _("bagian pelaksana")
        constraints = [
            # A person signs off a round once (a superuser entering the parts of a joint step
            # on behalf of its roles signs once for each role: a.n.).
            models.UniqueConstraint(
                fields=["step_run", "user"],
                condition=Q(on_behalf=False),
                name="one_sign_off_per_person",
            ),
            models.UniqueConstraint(
                fields=["step_run", "user", "role"], name="one_sign_off_per_person_and_role"
            ),
        ]
        indexes = [
            # e-Kinerja: a person's sign-offs of a month.
            models.Index(fields=["user", "completed_at"], name="signoff_user_completed"),
        ]

    def __str__(self):
        return f"{self.step_run} · {self.user}"

    @property
    def performed_as(self):
        return performed_as(self.role, self.acting, self.step_run.run.sop)


def attachment_path(instance, filename):
    return f"lampiran/{instance.step_run.run_id}/{filename}"


def rendition_path(instance, filename):
    return f"lampiran/{instance.step_run.run_id}/kecil/{filename}"


class Attachment(models.Model):
    """A file recorded with a step: a draft letter, a signed SK, an attendance list, photos."""

    step_run = models.ForeignKey(StepRun, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("berkas"), upload_to=attachment_path, max_length=300)
    # A small JPEG of an image for thumbnails and PDFs, so reports never embed camera originals.
    rendition = models.FileField(
        _("versi kecil"), upload_to=rendition_path, max_length=300, blank=True
    )
    original_name = models.CharField(_("nama berkas"), max_length=255)
    content_type = models.CharField(_("jenis"), max_length=100)
    size = models.PositiveBigIntegerField(_("ukuran"))
    sha256 = models.CharField(max_length=64)
    caption = models.CharField(_("keterangan"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("diunggah"))
    # When a photo was taken, from its EXIF DateTimeOriginal read before the metadata is
    # stripped (`uploads.photo_taken_at`); None when the file does not say.
    taken_at = models.DateTimeField(_("diambil"), null=True, blank=True)
    # The id the browser gave this file in its offline queue: stored once per step round.
    client_id = models.UUIDField(_("id klien"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("lampiran")
        verbose_name_plural = _("lampiran")
        constraints = [
            models.UniqueConstraint(
                fields=["step_run", "client_id"],
                condition=Q(client_id__isnull=False),
                name="unique_attachment_client_id",
            ),
        ]

    def __str__(self):
        return self.original_name

    @property
    def is_image(self):
        return self.content_type.startswith("image/")
