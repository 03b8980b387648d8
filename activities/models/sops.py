"""SOP versions as their documents state them, their identity items and steps, review notes
and the append-only record of their acts."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from activities.models.base import AppendOnly, ConfigurationHistory, normalize_nip
from activities.models.people import Role
from activities.models.units import Unit
from activities.time import durations

# The labels of an SOP document's identity block as Permenpan RB 35/2012 writes them; an SOP
# whose document says otherwise ("Tgl Pengesahan") keeps its own in its label_* fields.
SOP_LABELS = {
    "number": "Nomor SOP",
    "made_on": "Tanggal Pembuatan",
    "revised_on": "Tanggal Revisi",
    "effective_on": "Tanggal Efektif",
    "approved_by": "Disahkan Oleh",
    "name": "Nama SOP",
}


class SopQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Sop.Status.ACTIVE)

    def open_drafts(self):
        """Drafts never submitted for pengesahan, never in force and without runs: the only
        versions whose contents may be written over as a whole (by a new import)."""
        # A draft returned by the pimpinan is a draft again, but its history keeps the
        # submission, and the pimpinan's notes speak of the contents it had.
        touched = Sop.history.filter(
            status__in=[Sop.Status.SUBMITTED, Sop.Status.ACTIVE, Sop.Status.RETIRED]
        ).values("id")
        runs = Sop._meta.get_field("runs").related_model.objects.filter(sop=OuterRef("pk"))
        return self.filter(status=Sop.Status.DRAFT).exclude(pk__in=touched).exclude(Exists(runs))


class Sop(models.Model):
    """One version of a Standard Operating Procedure, as its official document states it.

    A version that has runs is frozen: changes are made in a new version (the admin's
    "buat revisi" action), so every run keeps the procedure it was opened from.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draf")
        SUBMITTED = "submitted", _("Diajukan untuk disahkan")
        ACTIVE = "active", _("Berlaku")
        RETIRED = "retired", _("Tidak berlaku")

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="sops", verbose_name=_("unit kerja")
    )
    section_name = models.CharField(
        _("bidang/seksi"), max_length=200, blank=True, help_text=_("Seperti tertulis di kop SOP.")
    )
    number = models.CharField(_("nomor SOP"), max_length=120, blank=True)
    name = models.CharField(_("nama SOP"), max_length=300)
    # The documents write these loosely ("-----September 2018", or nothing at all), so they
    # are kept as written rather than forced into dates that were never decided.
    made_on = models.CharField(_("tanggal pembuatan"), max_length=60, blank=True)
    revised_on = models.CharField(_("tanggal revisi"), max_length=60, blank=True)
    effective_on = models.CharField(_("tanggal efektif/pengesahan"), max_length=60, blank=True)
    # The kode klasifikasi arsip its laporan are numbered under, unless a run says otherwise.
    klasifikasi = models.ForeignKey(
        "activities.Klasifikasi",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("kode klasifikasi arsip"),
    )
    approver_title = models.CharField(_("disahkan oleh (jabatan)"), max_length=200, blank=True)
    approver_name = models.CharField(_("disahkan oleh (nama)"), max_length=200, blank=True)
    approver_rank = models.CharField(_("pangkat/golongan"), max_length=100, blank=True)
    approver_nip = models.CharField(_("NIP"), max_length=30, blank=True)
    # The document's own words: SOPs of different offices label the same particulars
    # differently ("Tgl Pengesahan", "Nomor"); the defaults are Permenpan RB 35/2012's.
    heading = models.TextField(
        _("kop SOP"),
        blank=True,
        help_text=_(
            "Baris-baris di sel kop dokumen SOP, satu baris per baris; kosong: pemerintah, "
            "unit kerja dan bidang/seksi."
        ),
    )
    label_number = models.CharField(
        _("label nomor"), max_length=60, blank=True, default=SOP_LABELS["number"]
    )
    label_made_on = models.CharField(
        _("label tanggal pembuatan"), max_length=60, blank=True, default=SOP_LABELS["made_on"]
    )
    label_revised_on = models.CharField(
        _("label tanggal revisi"), max_length=60, blank=True, default=SOP_LABELS["revised_on"]
    )
    label_effective_on = models.CharField(
        _("label tanggal efektif/pengesahan"),
        max_length=60,
        blank=True,
        default=SOP_LABELS["effective_on"],
    )
    label_approved_by = models.CharField(
        _("label disahkan oleh"), max_length=60, blank=True, default=SOP_LABELS["approved_by"]
    )
    label_name = models.CharField(
        _("label nama SOP"), max_length=60, blank=True, default=SOP_LABELS["name"]
    )
    version = models.PositiveIntegerField(_("versi"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    # The pelaksana names as they were when the first run of this version opened: a role
    # renamed later keeps its old name in this version's document and its runs' laporan.
    role_names = models.JSONField(
        _("nama jabatan saat dibekukan"), default=dict, blank=True, editable=False
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("versi sebelumnya"),
    )
    # Who signs the laporan of this SOP's runs: the pelapor reports, the other acknowledges
    # ("Mengetahui"). Empty: the role of the first step, and the SOP's highest role in its unit.
    reporter_role = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pelapor"),
        help_text=_("Kosong: jabatan pelaksana langkah pertama."),
    )
    acknowledger_role = models.ForeignKey(
        Role,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mengetahui"),
        help_text=_("Kosong: jabatan tertinggi SOP ini di unitnya (mis. Kepala Bidang)."),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    objects = SopQuerySet.as_manager()
    history = ConfigurationHistory()

    class Meta:
        ordering = ["unit", "name", "-version"]
        verbose_name = _("SOP")
        verbose_name_plural = _("SOP")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name", "version"], name="unique_sop_version"),
            models.UniqueConstraint(
                fields=["unit", "name"],
                condition=Q(status="active"),
                name="one_active_version_per_sop",
            ),
        ]

    def __str__(self):
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self):
        return reverse("sop_detail", args=[self.pk])

    def clean(self):
        if self.approver_nip:
            self.approver_nip = normalize_nip(self.approver_nip)

    @property
    def is_approved(self):
        """Whether this version was ever put in force (disahkan): a draft or a submitted
        revision prints no Nomor, Tanggal Efektif or Disahkan Oleh of its own."""
        return self.status in (self.Status.ACTIVE, self.Status.RETIRED)

    @property
    def is_frozen(self):
        """A version that runs were opened from never changes again."""
        return self.pk is not None and self.runs.exists()

    @property
    def labels(self):
        """{particular: label} of the identity block; an empty label is the official one."""
        return {
            key: getattr(self, f"label_{key}").strip() or default
            for key, default in SOP_LABELS.items()
        }

    @property
    def heading_lines(self):
        """The lines of the document's kop cell, as the SOP writes them."""
        lines = [line.strip() for line in self.heading.splitlines() if line.strip()]
        if lines:
            return lines
        return [line for line in (self.unit.parent_name, self.unit.name, self.section_name) if line]

    def items(self, section):
        return [item.text for item in self.sop_items.all() if item.section == section]

    def standard_total(self, steps=None):
        """(days, minutes) as the document totals it: days as days, the rest as minutes; of a
        parallel group only its longest branch counts (the critical path)."""
        steps = self.steps.all() if steps is None else steps
        return durations.total(step.standard for step in critical_path(steps))

    def standard_total_display(self, steps=None):
        return durations.format_total(*self.standard_total(steps))

    def columns(self, steps=None):
        """The pelaksana columns of the document: every role a step uses, in column order."""
        steps = self.steps.all() if steps is None else steps
        roles = {role.pk: role for step in steps for role in step.roles.all()}
        return sorted(roles.values(), key=lambda role: (role.position, role.name))

    def role_name(self, role):
        """`role`'s name as this version prints it: as it was when the version froze."""
        return self.role_names.get(str(role.pk), role.name)

    def pelaksana(self, step):
        """`step`'s pelaksana as this version prints them: "Kasi, Staf seksi"."""
        return ", ".join(self.role_name(role) for role in step.roles.all())

    def reporting_role(self):
        """The role whose holder reports (signs the laporan first)."""
        if self.reporter_role_id:
            return self.reporter_role
        first = self.steps.filter(number=1).first()
        return first.roles.order_by("position", "name").first() if first else None

    def acknowledging_role(self):
        """The role whose holder acknowledges the laporan: the SOP's highest role in its own
        unit (a head's role before others, then the top of the reports-to chain), else the
        unit's head."""
        if self.acknowledger_role_id:
            return self.acknowledger_role
        roles = list(
            Role.objects.filter(steps__sop=self, unit_id=self.unit_id)
            .distinct()
            .order_by("position", "name")
        )
        own = {role.pk for role in roles}

        def depth(role):
            level = 0
            while role.reports_to_id in own and level < len(own):
                role = next(r for r in roles if r.pk == role.reports_to_id)
                level += 1
            return level

        if roles:
            return min(roles, key=lambda r: (r.kind != Role.Kind.HEAD, depth(r), r.position))
        return Role.objects.filter(unit_id=self.unit_id, kind=Role.Kind.HEAD).first()

    def freeze_role_names(self):
        """Keep the names of this version's pelaksana, once (its first run is opening)."""
        if self.role_names:
            return
        roles = Role.objects.filter(steps__sop=self).distinct()
        self.role_names = {str(role.pk): role.name for role in roles}
        Sop.objects.filter(pk=self.pk).update(role_names=self.role_names)


class SopItem(models.Model):
    """One numbered line of an identity section (dasar hukum, peralatan, …) of an SOP."""

    class Section(models.TextChoices):
        LEGAL_BASIS = "legal_basis", _("Dasar hukum")
        QUALIFICATION = "qualification", _("Kualifikasi pelaksana")
        RELATED = "related", _("Keterkaitan")
        EQUIPMENT = "equipment", _("Peralatan/perlengkapan")
        WARNING = "warning", _("Peringatan")
        RECORDS = "records", _("Pencatatan dan pendataan")

    sop = models.ForeignKey(
        Sop, on_delete=models.CASCADE, related_name="sop_items", verbose_name=_("SOP")
    )
    section = models.CharField(_("bagian"), max_length=20, choices=Section)
    position = models.PositiveSmallIntegerField(_("urutan"), default=0)
    text = models.TextField(_("isi"))
    history = ConfigurationHistory()

    class Meta:
        ordering = ["section", "position", "pk"]
        verbose_name = _("butir identitas SOP")
        verbose_name_plural = _("butir identitas SOP")

    def __str__(self):
        return self.text[:80]


def parallel_stages(steps):
    """The steps in order, as stages: a single step, or the consecutive steps of one parallel
    group (`Step.parallel_group`), which run side by side."""
    stages = []
    for step in sorted(steps, key=lambda step: step.number):
        group = step.parallel_group
        if group is not None and stages and stages[-1][-1].parallel_group == group:
            stages[-1].append(step)
        else:
            stages.append([step])
    return stages


def critical_path(steps):
    """The steps whose standards make the SOP's total: every step, and of a parallel group
    only the one with the longest standard (the group lasts as long as its longest branch)."""
    return [
        max(stage, key=lambda step: (step.standard_minutes or 0, -step.number))
        for stage in parallel_stages(steps)
    ]


def validate_standard_text(value):
    try:
        durations.parse(value)
    except durations.DurationError as error:
        raise ValidationError(duration_error_message(error), code=error.code) from None


def duration_error_message(error):
    messages = {
        "empty": _("Waktu wajib diisi, mis. “15 menit”, “2 jam” atau “1 hari”."),
        "format": _(
            "“%(text)s” bukan waktu yang dikenali. Tulis angka bulat lalu satuannya, "
            "mis. “15 menit”, “2 jam” atau “1 hari”."
        ),
        "negative": _("Waktu tidak boleh negatif: “%(text)s”."),
        "zero": _("Waktu harus lebih dari nol: “%(text)s”."),
        "unit": _("Satuan waktu pada “%(text)s” tidak dikenali; gunakan menit, jam atau hari."),
    }
    return messages.get(error.code, messages["format"]) % {"text": error.text}


class Step(models.Model):
    """One numbered activity of an SOP with its performer(s) and quality standard (mutu baku).

    `kind` is the symbol the document draws; `action` is what a run does at the step. The
    fields as SOP files, exports, revisions, the diff, importers and the editor see them are
    declared once in `activities.authoring.steps`.
    """

    class Kind(models.TextChoices):
        START = "start", _("Mulai")
        PROCESS = "process", _("Proses")
        DECISION = "decision", _("Keputusan/persetujuan")
        END = "end", _("Selesai")

    class Action(models.TextChoices):
        WORK = "work", _("Pekerjaan")
        APPROVAL = "approval", _("Persetujuan")

    class Completion(models.TextChoices):
        # Who must complete the step: one of its pelaksana (the default), every role it
        # names (a joint step), or a quorum of its role holders.
        ANY = "any", _("Salah satu pelaksana")
        ALL = "all", _("Semua pelaksana")
        QUORUM = "quorum", _("Kuorum")

    sop = models.ForeignKey(Sop, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(_("nomor"))
    activity = models.TextField(_("aktivitas"))
    kind = models.CharField(_("simbol"), max_length=10, choices=Kind, default=Kind.PROCESS)
    action = models.CharField(_("tindakan"), max_length=10, choices=Action, default=Action.WORK)
    roles = models.ManyToManyField(Role, related_name="steps", verbose_name=_("pelaksana"))
    requirements = models.TextField(_("kelengkapan"), blank=True)
    standard_text = models.CharField(
        _("waktu"),
        max_length=40,
        validators=[validate_standard_text],
        help_text=_("Seperti di dokumen: “15 Menit”, “2 jam”, “1 hari”."),
    )
    standard_minutes = models.PositiveIntegerField(_("waktu (menit kerja)"), editable=False)
    output = models.TextField(_("output"), blank=True)
    remarks = models.TextField(_("keterangan"), blank=True)
    return_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dikembalikan ke langkah"),
        help_text=_("Untuk langkah persetujuan: langkah yang diulang bila dikembalikan."),
    )
    # The data a run records at the step (jumlah peserta, kelurahan yang dilalui): a list of
    # field objects, checked by `activities.authoring.steps` and read as `DataFieldSpec`s.
    data_fields = models.JSONField(_("isian data"), default=list, blank=True)
    completion = models.CharField(
        _("penyelesaian"), max_length=10, choices=Completion, default=Completion.ANY
    )
    # With completion "quorum": how many of the step's role holders must sign off.
    quorum = models.PositiveSmallIntegerField(_("kuorum"), null=True, blank=True)
    # Consecutive steps with the same number form a parallel group: they become active
    # together and the step after them waits until all of them are done.
    parallel_group = models.PositiveSmallIntegerField(_("kelompok paralel"), null=True, blank=True)
    history = ConfigurationHistory(m2m_fields=[roles])

    class Meta:
        ordering = ["sop", "number"]
        verbose_name = _("langkah SOP")
        verbose_name_plural = _("langkah SOP")
        constraints = [
            models.UniqueConstraint(fields=["sop", "number"], name="unique_step_number"),
        ]

    def __str__(self):
        return f"{self.number}. {self.activity[:60]}"

    def save(self, *args, **kwargs):
        # A day counts as the full working day of the SOP's unit; due times count days as
        # working days of the unit's calendar (OfficeCalendar.due).
        self.standard_minutes = self.standard.minutes(self.sop.unit.calendar.day_minutes)
        super().save(*args, **kwargs)

    @property
    def standard(self):
        return durations.parse(self.standard_text)

    @property
    def standard_display(self):
        """The waktu as written, with the tab some documents put between number and unit."""
        return " ".join(self.standard_text.split())

    def give_roles(self, roles):
        """Give `self.roles.all()` the roles already read (in that order), as a prefetch would:
        it then reads no query."""
        manager = self.roles
        queryset = manager.get_queryset()
        # Django's prefetch cache.
        queryset._result_cache, queryset._prefetch_done = list(roles), True
        cache = self.__dict__.setdefault("_prefetched_objects_cache", {})
        cache[manager.prefetch_cache_name] = queryset

    @classmethod
    def read_roles(cls, steps):
        """Give each of `steps` its roles (`give_roles`), in the order the SOP lists them, in one
        query: what `prefetch_related_objects(steps, "roles")` does, without its machinery
        (which took as long again on a run's page)."""
        found = {step.pk: [] for step in steps}
        links = cls.roles.through.objects.filter(step_id__in=found).select_related("role")
        for link in links.order_by("id"):
            found[link.step_id].append(link.role)
        for step in steps:
            step.give_roles(found[step.pk])

    @classmethod
    def default_action(cls, kind):
        """The action a step of `kind` had before the two were told apart: a decision approves."""
        return cls.Action.APPROVAL if kind == cls.Kind.DECISION else cls.Action.WORK

    @property
    def is_approval(self):
        return self.action == self.Action.APPROVAL

    @property
    def is_joint(self):
        """Whether more than one sign-off may be needed to complete the step."""
        return self.completion != self.Completion.ANY

    def requirement_items(self):
        """Kelengkapan as a checklist: the document separates items with commas and “dan”."""
        text = self.requirements.replace(" dan ", ", ")
        return [item.strip() for item in text.split(",") if item.strip()]


class ReviewNote(models.Model):
    """A cell of a draft that a person must check: an importer's guess, a doubtful waktu.

    Tied to a step (or to the SOP itself for identity fields); the editor shows it on its cell
    and removes it once the cell is changed or confirmed. A draft with notes left is not
    submitted for pengesahan.
    """

    sop = models.ForeignKey(
        Sop, on_delete=models.CASCADE, related_name="review_notes", verbose_name=_("SOP")
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="review_notes",
        verbose_name=_("langkah"),
    )
    field = models.CharField(_("isian"), max_length=40)
    message = models.TextField(_("catatan"))

    class Meta:
        ordering = ["sop", "step__number", "field", "pk"]
        verbose_name = _("catatan pemeriksaan")
        verbose_name_plural = _("catatan pemeriksaan")

    def __str__(self):
        return self.message[:80]


class SopAct(AppendOnly):
    """One act of pengesahan on an SOP version: submitted, returned with notes, approved.

    Append-only like `Event` (which belongs to runs): rows are never changed or deleted."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Diajukan untuk disahkan")
        RETURNED = "returned", _("Dikembalikan untuk diperbaiki")
        APPROVED = "approved", _("Disahkan")

    sop = models.ForeignKey(Sop, on_delete=models.PROTECT, related_name="acts")
    kind = models.CharField(_("tindakan"), max_length=10, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("oleh")
    )
    at = models.DateTimeField(_("waktu"))
    notes = models.TextField(_("catatan"), blank=True)
    # What changed with the act: the status before and after, the retired version, the date.
    after = models.JSONField(_("sesudah"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("tindakan pengesahan SOP")
        verbose_name_plural = _("tindakan pengesahan SOP")

    def __str__(self):
        return f"{self.sop} · {self.get_kind_display()}"
