"""Roles (positions in a unit), acting appointments (Plt./Plh.), NIPs and password resets."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history import register

from activities.models.base import (
    ConfigurationHistory,
    _sop_list,
    normalize_nip,
    validate_nip,
)
from activities.models.units import Unit

# Kept so that a membership changed through the through model (the user admin's inline)
# can be recorded on the role as well.
ROLE_HISTORY = ConfigurationHistory(m2m_fields=["members"])


def record_membership_change(role):
    """A history row for `role` with its current holders, after its membership changed."""
    ROLE_HISTORY.create_historical_record(role, "~")


class RoleQuerySet(models.QuerySet):
    def live(self):
        """The unit's roles, without those only proposed by a draft not yet approved."""
        return self.filter(proposed=False)


class Role(models.Model):
    """A position (pelaksana) in a unit. Users hold roles; a role is one column of an SOP.

    A role an imported document names and the unit lacks is only proposed (`proposed`): the
    draft's steps use it, but no list of the unit offers it until the draft is approved
    (`lifecycle.put_in_force`).
    """

    class Kind(models.TextChoices):
        HEAD = "head", _("Pimpinan")
        RECORDS = "records", _("Tata usaha")
        MEMBER = "member", _("Pelaksana")

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="roles", verbose_name=_("unit kerja")
    )
    name = models.CharField(_("nama jabatan"), max_length=120)
    kind = models.CharField(
        _("jenis"),
        max_length=10,
        choices=Kind,
        default=Kind.MEMBER,
        help_text=_("Pimpinan menandatangani laporan; tata usaha mengelola surat."),
    )
    position = models.PositiveSmallIntegerField(
        _("urutan kolom"), default=0, help_text=_("Urutan kolom pelaksana di tabel SOP.")
    )
    reports_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subordinates",
        verbose_name=_("atasan"),
        help_text=_("Jabatan yang menerima eskalasi bila langkah jabatan ini terlambat."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sop_roles",
        blank=True,
        verbose_name=_("pemegang jabatan"),
    )
    # Capabilities of the role's holders in its unit; `activities.core.policy` reads them. Acting
    # for a role (Plt./Plh.) gives its steps, not these.
    opens_runs = models.BooleanField(
        _("membuka kegiatan"), default=False, help_text=_("Membuka kegiatan dari SOP unit ini.")
    )
    cancels_runs = models.BooleanField(
        _("membatalkan kegiatan"), default=False, help_text=_("Membatalkan kegiatan yang berjalan.")
    )
    keeps_archive = models.BooleanField(
        _("membuka arsip"), default=False, help_text=_("Membuka arsip kegiatan unit.")
    )
    exports_archive = models.BooleanField(
        _("mengekspor arsip"),
        default=False,
        help_text=_("Mengunduh arsip sebagai CSV/XLSX dan laporan periode."),
    )
    maintains_sops = models.BooleanField(
        _("menyusun SOP"), default=False, help_text=_("Menyusun dan memelihara SOP unit.")
    )
    appoints_acting = models.BooleanField(
        _("menunjuk Plt./Plh."),
        default=False,
        help_text=_("Menunjuk pelaksana tugas/harian untuk jabatan di unit."),
    )
    sees_statistics = models.BooleanField(
        _("melihat statistik"), default=False, help_text=_("Melihat statistik kinerja unit.")
    )
    approves_sops = models.BooleanField(
        _("mengesahkan SOP"),
        default=False,
        help_text=_("Mengesahkan SOP unit yang diajukan (atau mengembalikannya dengan catatan)."),
    )
    proposed = models.BooleanField(
        _("usulan draf"),
        default=False,
        help_text=_(
            "Diusulkan oleh draf SOP hasil impor; menjadi jabatan unit saat draf itu disahkan."
        ),
    )
    history = ROLE_HISTORY

    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ["unit", "position", "name"]
        verbose_name = _("jabatan")
        verbose_name_plural = _("jabatan")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="unique_role_name_per_unit"),
        ]

    def __str__(self):
        return self.name

    def frozen_sops(self):
        """The SOP versions with runs whose steps name this role: they fix its unit and life."""
        if self.pk is None:
            return apps.get_model("activities", "Sop").objects.none()
        return (
            apps.get_model("activities", "Sop")
            .objects.filter(steps__roles=self, runs__isnull=False)
            .distinct()
        )

    def clean(self):
        self._clean_unit()
        self._clean_reports_to()

    def _clean_unit(self):
        if self.pk is None:
            return
        old_unit = Role.objects.filter(pk=self.pk).values_list("unit_id", flat=True).first()
        if old_unit is not None and old_unit != self.unit_id and self.frozen_sops().exists():
            raise ValidationError(
                {
                    "unit": _(
                        "Jabatan ini dipakai SOP yang sudah dijalankan (%(sops)s), jadi tidak "
                        "dapat dipindah ke unit lain. Buat jabatan baru di unit tujuan."
                    )
                    % {"sops": _sop_list(self.frozen_sops())}
                }
            )

    def _clean_reports_to(self):
        if self.reports_to_id is None:
            return
        if self.reports_to.unit_id != self.unit_id:
            raise ValidationError(
                {"reports_to": _("Atasan harus jabatan di unit kerja yang sama.")}
            )
        seen, role = {self.pk}, self.reports_to
        while role is not None:
            if role.pk in seen:
                raise ValidationError({"reports_to": _("Rantai atasan tidak boleh melingkar.")})
            seen.add(role.pk)
            role = role.reports_to

    def delete(self, *args, **kwargs):
        frozen = self.frozen_sops()
        if frozen.exists():
            raise ValidationError(
                _(
                    "Jabatan “%(role)s” dipakai SOP yang sudah dijalankan (%(sops)s) dan tidak "
                    "dapat dihapus."
                )
                % {"role": self.name, "sops": _sop_list(frozen)}
            )
        return super().delete(*args, **kwargs)


class Pegawai(models.Model):
    """A person of the government: the one record of his name with gelar, NIP, pangkat and
    jabatan, linked to his login. Every signature block, appointment and export reads it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pegawai",
        verbose_name=_("akun"),
    )
    # Empty (NULL) for a person without a NIP (a non-civil-servant); unique otherwise.
    nip = models.CharField(
        _("NIP"), max_length=18, unique=True, null=True, blank=True, validators=[validate_nip]
    )
    front_title = models.CharField(_("gelar depan"), max_length=40, blank=True)
    name = models.CharField(_("nama"), max_length=150)
    back_title = models.CharField(_("gelar belakang"), max_length=80, blank=True)
    rank = models.CharField(
        _("pangkat/golongan"), max_length=100, blank=True, help_text=_("Mis. Pembina Tk.I, IV/b")
    )
    position = models.CharField(_("jabatan"), max_length=200, blank=True)
    # How BSrE knows the signer (his NIK, else his e-mail).
    nik = models.CharField(_("NIK"), max_length=16, blank=True)
    email = models.EmailField(_("e-mail TTE"), blank=True)
    history = ConfigurationHistory()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("pegawai")
        verbose_name_plural = _("pegawai")

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        """The name as a signature block prints it: “Dr. Rina Marlina, S.Kom., M.Si.”."""
        name = f"{self.front_title} {self.name}".strip()
        return f"{name}, {self.back_title}" if self.back_title else name

    def clean(self):
        if self.nip:
            self.nip = normalize_nip(self.nip)
        else:
            self.nip = None
        if self.nik and (len(self.nik) != 16 or not self.nik.isdigit()):
            raise ValidationError({"nik": _("NIK terdiri dari 16 angka.")})


def pegawai_of(user):
    """The `Pegawai` of `user`, or None."""
    if user is None:
        return None
    try:
        return user.pegawai
    except Pegawai.DoesNotExist:
        return None


class PegawaiImport(models.Model):
    """A SIMPEG CSV upload the worker imports (`activities.core.pegawai`), with its progress;
    all its rows or none."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Menunggu giliran")
        RUNNING = "running", _("Sedang diperiksa")
        DONE = "done", _("Selesai diimpor")
        REFUSED = "refused", _("Ditolak, tidak ada yang diimpor")
        FAILED = "failed", _("Gagal")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("diunggah oleh"),
    )
    file = models.FileField(_("berkas"), upload_to="impor-pegawai/%Y/", max_length=300)
    original_name = models.CharField(_("nama berkas"), max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(_("baris diperiksa"), default=0)
    total = models.PositiveIntegerField(_("jumlah baris"), default=0)
    created = models.PositiveIntegerField(_("pegawai baru"), default=0)
    updated = models.PositiveIntegerField(_("pegawai diperbarui"), default=0)
    errors = models.TextField(_("baris yang ditolak"), blank=True)
    created_at = models.DateTimeField(_("diunggah"))
    started_at = models.DateTimeField(_("mulai"), null=True, blank=True)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("impor pegawai")
        verbose_name_plural = _("impor pegawai")

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def pending(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self):
        if not self.pending:
            return 100
        return min(100, round(100 * self.done / self.total)) if self.total else 0

    @property
    def error_lines(self):
        return [line for line in self.errors.splitlines() if line]


class Acting(models.TextChoices):
    """Pelaksana tugas (Plt., a vacant post) and pelaksana harian (Plh., the holder is away)."""

    PLT = "plt", _("Plt.")
    PLH = "plh", _("Plh.")


def performed_as(role, acting, sop=None):
    """“Plh. Kepala” for an acting performer, else the role's name; as `sop` prints it."""
    if role is None:
        return ""
    name = sop.role_name(role) if sop is not None else role.name
    if acting:
        return f"{Acting(acting).label} {name}"
    return name


class ActingAppointmentQuerySet(models.QuerySet):
    def in_force(self, day):
        """Appointments whose range covers `day` (a date in Jakarta) and not ended early."""
        return self.filter(start_date__lte=day, end_date__gte=day, ended_at__isnull=True)


class ActingAppointment(models.Model):
    """A surat perintah: `person` acts as Plt./Plh. of `role` from start to end date.

    While it is in force the person has the role's steps in his inbox and acts on them as
    “Plh. <role>”; the role's holders keep their own access.
    """

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("unit kerja")
    )
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("jabatan")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="acting_appointments",
        verbose_name=_("pelaksana"),
    )
    kind = models.CharField(_("jenis"), max_length=3, choices=Acting.choices, default=Acting.PLH)
    start_date = models.DateField(_("mulai"))
    end_date = models.DateField(_("sampai"))
    letter_number = models.CharField(_("nomor surat perintah"), max_length=120)
    letter_date = models.DateField(_("tanggal surat perintah"))
    reason = models.CharField(_("alasan"), max_length=300)
    # As the surat perintah names the appointee; printed in the laporan's signature block.
    person_rank = models.CharField(_("pangkat/golongan"), max_length=100, blank=True)
    person_nip = models.CharField(_("NIP"), max_length=30, blank=True)
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ditunjuk oleh"),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    ended_at = models.DateTimeField(_("diakhiri"), null=True, blank=True)

    objects = ActingAppointmentQuerySet.as_manager()
    history = ConfigurationHistory()

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("penunjukan Plt./Plh.")
        verbose_name_plural = _("penunjukan Plt./Plh.")
        indexes = [
            # policy: the appointments in force for one person today.
            models.Index(fields=["person", "end_date"], name="appointment_person_end"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.role.name}: {self.person.get_username()}"

    @property
    def title(self):
        return performed_as(self.role, self.kind)

    def clean(self):
        if self.person_nip:
            self.person_nip = normalize_nip(self.person_nip)


class PasswordResetRequest(models.Model):
    """A password reset mail someone asked for; counted to limit how many are sent."""

    address = models.CharField(_("alamat e-mail"), max_length=254)
    client = models.GenericIPAddressField(_("alamat komputer"), null=True, blank=True)
    at = models.DateTimeField(_("waktu"))

    class Meta:
        verbose_name = _("permintaan kata sandi baru")
        verbose_name_plural = _("permintaan kata sandi baru")
        indexes = [
            # The rate limit: requests for one address, or from one client, in the last hour.
            models.Index(fields=["address", "at"], name="reset_address_at"),
            models.Index(fields=["client", "at"], name="reset_client_at"),
        ]

    def __str__(self):
        return f"{self.address} {self.at:%Y-%m-%d %H:%M}"


# Users are configuration too: who made an account staff, changed a name, deactivated it.
register(User, app="activities", records_class=ConfigurationHistory)
