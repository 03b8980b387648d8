from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from activities.authoring import lifecycle
from activities.authoring import steps as step_fields
from activities.authoring.definitions import check_steps, spec_of
from activities.core import policy
from activities.core import webhooks as webhook_catalogue
from activities.core.errors import WorkflowError
from activities.models import (
    ActingAppointment,
    ApiKey,
    ArchivedReport,
    Attachment,
    Delivery,
    Event,
    Klasifikasi,
    LaporanSignature,
    MonitoringReport,
    MonitoringRow,
    NaskahCounter,
    NaskahNumber,
    Notification,
    Pegawai,
    PeriodicJob,
    PeriodReport,
    ReferenceItem,
    ReferenceList,
    Role,
    Run,
    Sop,
    SopEvaluation,
    SopItem,
    Step,
    StepRun,
    Unit,
    UnitDayOff,
    UnitSpecialSchedule,
    UnitWorkingHours,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    format_nip,
    new_webhook_secret,
    record_membership_change,
)
from activities.notifications import webhooks
from activities.text import plain_text
from activities.time import deadlines

admin.site.site_header = _("Administrasi sopflow")
admin.site.site_title = _("sopflow")
admin.site.index_title = _("Unit kerja, jabatan, pengguna dan SOP")


class PlainTextAdmin:
    """Text fields refuse control characters, as in every sopflow form."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        return plain_text(field) if field is not None else None


class UnitDayOffInline(PlainTextAdmin, admin.TabularInline):
    model = UnitDayOff
    extra = 0


class UnitSpecialScheduleInline(PlainTextAdmin, admin.TabularInline):
    model = UnitSpecialSchedule
    extra = 0


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """The intervals of one weekday may not overlap (the calendar could not count them)."""

    def clean(self):
        super().clean()
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        by_day = {}
        for row in rows:
            if row.get("start") and row.get("end"):
                by_day.setdefault((row["week"], row["weekday"]), []).append(
                    (row["start"], row["end"])
                )
        for (week, weekday), intervals in by_day.items():
            intervals.sort()
            for (_start, end), (next_start, _end) in zip(intervals, intervals[1:], strict=False):
                if next_start < end:
                    raise ValidationError(
                        _("Jam kerja %(day)s (%(week)s) saling bertumpuk.")
                        % {
                            "day": UnitWorkingHours.Weekday(weekday).label,
                            "week": UnitWorkingHours.Week(week).label,
                        }
                    )


class UnitWorkingHoursInline(admin.TabularInline):
    model = UnitWorkingHours
    formset = WorkingHoursFormSet
    extra = 0
    verbose_name_plural = _(
        "jam kerja (tanpa baris: jam kerja ASN; 1 hari = satu hari kerja kalender unit)"
    )


class RoleInline(PlainTextAdmin, admin.TabularInline):
    model = Role
    extra = 0
    fields = ["name", "kind", "position", "reports_to"]
    # Roles are deleted on their own page, which refuses the ones a run's SOP version names.
    can_delete = False
    show_change_link = True


@admin.register(Unit)
class UnitAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    list_display = ["short_name", "name", "parent_name", "head_name"]
    search_fields = ["name", "short_name"]
    fieldsets = [
        (None, {"fields": ["name", "short_name", "parent_name"]}),
        (
            _("Kop surat"),
            {
                "fields": [
                    "emblem",
                    "letterhead_name",
                    "address",
                    "phone",
                    "email",
                    "website",
                    "letterhead_rule",
                ]
            },
        ),
        (_("Pimpinan"), {"fields": ["head_title", "head_name", "head_rank", "head_nip"]}),
    ]
    inlines = [
        RoleInline,
        UnitWorkingHoursInline,
        UnitDayOffInline,
        UnitSpecialScheduleInline,
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The calendar may have changed: the due times of the unit's active steps follow.
        changed = deadlines.recompute_due_times(form.instance)
        if changed:
            self.message_user(
                request,
                ngettext(
                    "Jatuh tempo %(count)d langkah aktif disesuaikan dengan kalender baru.",
                    "Jatuh tempo %(count)d langkah aktif disesuaikan dengan kalender baru.",
                    changed,
                )
                % {"count": changed},
            )


# One tick per capability of `activities.core.policy` (e.g. "a Kasubag TU may also cancel").
CAPABILITY_FLAGS = list(policy.ROLE_FLAGS.values())


@admin.register(Role)
class RoleAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    list_display = ["name", "unit", "kind", "position", "holders", "proposed", *CAPABILITY_FLAGS]
    list_editable = CAPABILITY_FLAGS
    list_filter = ["unit", "kind", "proposed", *CAPABILITY_FLAGS]
    fieldsets = [
        (None, {"fields": ["unit", "name", "kind", "position", "members", "proposed"]}),
        (_("Kewenangan"), {"fields": CAPABILITY_FLAGS}),
    ]
    search_fields = ["name", "unit__name", "members__username"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit").prefetch_related("members")

    @admin.display(description=_("pemegang"))
    def holders(self, role):
        return ", ".join(user.get_username() for user in role.members.all())

    def has_delete_permission(self, request, obj=None):
        # A role that a run's SOP version names is part of that history.
        if obj is not None and obj.frozen_sops().exists():
            return False
        return super().has_delete_permission(request, obj)


class SopItemInline(PlainTextAdmin, admin.TabularInline):
    model = SopItem
    extra = 0
    fields = ["section", "position", "text"]


class StepInlineForm(forms.ModelForm):
    return_number = forms.IntegerField(
        label=_("kembali ke langkah"),
        required=False,
        min_value=1,
        help_text=_("Untuk langkah persetujuan: nomor langkah yang diulang bila dikembalikan."),
    )

    class Meta:
        model = Step
        # The step's declared fields that live in its own row (the return target is a number).
        fields = [
            f.attribute for f in step_fields.FIELDS if not isinstance(f, step_fields.ReturnField)
        ]
        widgets = {
            "activity": forms.Textarea(attrs={"rows": 2, "cols": 40}),
            "requirements": forms.Textarea(attrs={"rows": 2, "cols": 24}),
            "output": forms.Textarea(attrs={"rows": 2, "cols": 24}),
            "remarks": forms.Textarea(attrs={"rows": 2, "cols": 16}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"] = step_fields.BY_NAME["action"].form_field()
        # A row sent without the completion rule keeps the default (any one pelaksana).
        self.fields["completion"] = step_fields.BY_NAME["completion"].form_field()
        if self.instance.pk and self.instance.return_to_id:
            self.fields["return_number"].initial = self.instance.return_to.number

    def clean(self):
        data = super().clean()
        data["action"] = step_fields.BY_NAME["action"].from_form(data, data)
        data["completion"] = step_fields.BY_NAME["completion"].from_form(data, data)
        return data


class StepFormSet(forms.BaseInlineFormSet):
    """Checks the whole step table with the same rules as the editor and the loader.

    Every broken rule is shown at once, on its row's field, even while another field of the
    table (a waktu that does not parse) is still wrong.
    """

    FIELDS = step_fields.FORM_NAMES

    def clean(self):
        super().clean()
        specs = []
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or (not data and not form.errors):
                continue
            specs.append(spec_of(step_fields.from_form(data, form.errors), index))
        general = []
        for error in check_steps(self.instance.unit_id, specs):
            if error.row is None:
                general.append(error.message)
            else:
                self.forms[error.row].add_error(self.FIELDS[error.field], error.message)
        if general:
            raise ValidationError(general)


class StepInline(PlainTextAdmin, admin.StackedInline):
    model = Step
    form = StepInlineForm
    formset = StepFormSet
    extra = 0
    ordering = ["number"]
    fk_name = "sop"
    fields = [
        ("number", "kind", *step_fields.BEHAVIOUR_FORM_NAMES, "standard_text", "return_number"),
        "activity",
        "roles",
        ("requirements", "output", "remarks"),
    ]

    def get_formset(self, request, obj=None, **kwargs):
        # The form class is made for this request, so its roles field is set here rather than
        # on this inline, which every request shares.
        formset = super().get_formset(request, obj, **kwargs)
        roles = formset.form.base_fields["roles"]
        if obj is not None and obj.unit_id:
            roles.queryset = Role.objects.filter(unit_id=obj.unit_id).order_by("name")
        else:
            # A new SOP's unit is chosen on the same page: every role says whose it is, and the
            # step-table rules refuse a role of another unit when the page is saved.
            roles.queryset = Role.objects.select_related("unit").order_by("unit__name", "name")
            roles.label_from_instance = lambda role: f"{role.name} ({role.unit})"
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("return_to")


class FrozenStepInline(admin.TabularInline):
    """The steps of a version that runs use: shown for reference, never changed."""

    model = Step
    extra = 0
    can_delete = False
    ordering = ["number"]
    fields = [
        "number",
        "kind",
        *step_fields.BEHAVIOUR_FORM_NAMES,
        "activity",
        "performers",
        "standard_text",
        "return_to",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("pelaksana"))
    def performers(self, step):
        return ", ".join(role.name for role in step.roles.all())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("return_to").prefetch_related("roles")


@admin.register(Sop)
class SopAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    list_display = ["name", "unit", "version", "status", "step_count", "document"]
    list_filter = ["unit", "status"]
    search_fields = ["name", "number"]
    inlines = [SopItemInline, StepInline]
    actions = ["make_revision", "activate", "retire"]
    fieldsets = [
        (None, {"fields": ["unit", "section_name", "number", "name", "version", "status"]}),
        (_("Tanggal"), {"fields": ["made_on", "revised_on", "effective_on"]}),
        (_("Arsip"), {"fields": ["klasifikasi"]}),
        (
            _("Disahkan oleh"),
            {"fields": ["approver_title", "approver_name", "approver_rank", "approver_nip"]},
        ),
        (
            _("Kop dan label dokumen"),
            {
                "classes": ["collapse"],
                "fields": [
                    "heading",
                    "label_number",
                    "label_made_on",
                    "label_revised_on",
                    "label_effective_on",
                    "label_approved_by",
                    "label_name",
                ],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit").prefetch_related("steps")

    @admin.display(description=_("langkah"))
    def step_count(self, sop):
        return len(sop.steps.all())

    @admin.display(description=_("dokumen"))
    def document(self, sop):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">PDF</a>',
            reverse("sop_detail", args=[sop.pk]),
            _("lihat"),
            reverse("sop_pdf", args=[sop.pk]),
        )

    def get_readonly_fields(self, request, obj=None):
        # A version that runs were opened from is history: only its status may change.
        if obj is not None and obj.is_frozen:
            return [f.name for f in Sop._meta.fields if f.name not in ("id", "status")]
        return ["version"] if obj is not None else []

    def get_inlines(self, request, obj):
        if obj is not None and obj.is_frozen:
            return [FrozenStepInline]
        return self.inlines

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and obj.is_frozen and request.method == "GET":
            messages.info(
                request,
                _(
                    "Versi ini sudah dipakai kegiatan, jadi tidak dapat diubah. "
                    "Gunakan tindakan “Buat revisi” untuk menyusun versi baru."
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._save_return_targets(form, formsets)
        sop = form.instance
        requested = getattr(sop, "_requested_status", sop.status)
        if requested != sop.status:
            self._apply_status(request, sop, requested)

    def _save_return_targets(self, form, formsets):
        for formset in formsets:
            if not isinstance(formset, StepFormSet):
                continue
            steps = {step.number: step for step in form.instance.steps.all()}
            for step_form in formset.forms:
                data = getattr(step_form, "cleaned_data", None)
                if not data or data.get("DELETE"):
                    continue
                step = steps[data["number"]]
                target = steps.get(data.get("return_number"))
                if step.return_to_id != (target.pk if target else None):
                    step.return_to = target
                    step.save(update_fields=["return_to"])

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_frozen:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # A status change is a lifecycle step (locks, step-table rules, an Event): the row is
        # saved with its stored status and `save_related` asks `lifecycle` for the change.
        obj._requested_status = obj.status
        if change:
            obj.status = Sop.objects.values_list("status", flat=True).get(pk=obj.pk)
        else:
            obj.status = Sop.Status.DRAFT
        super().save_model(request, obj, form, change)

    def _apply_status(self, request, sop, status):
        services = {Sop.Status.ACTIVE: lifecycle.activate, Sop.Status.RETIRED: lifecycle.retire}
        if status == sop.status or status not in services:
            if status != sop.status:
                self.message_user(
                    request,
                    _("Versi yang sudah berlaku tidak dapat kembali menjadi draf; buat revisi."),
                    messages.ERROR,
                )
            return False
        try:
            services[status](sop, user=request.user)
        except WorkflowError as error:
            self.message_user(request, error.message, messages.ERROR)
            return False
        return True

    @admin.action(description=_("Buat revisi (versi baru, draf)"))
    def make_revision(self, request, queryset):
        for sop in queryset:
            try:
                revision = lifecycle.copy_as_revision(sop, user=request.user)
            except WorkflowError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            self.message_user(
                request,
                _("Revisi %(sop)s dibuat sebagai draf.") % {"sop": revision},
                messages.SUCCESS,
            )

    @admin.action(description=_("Berlakukan (versi lain yang berlaku menjadi tidak berlaku)"))
    def activate(self, request, queryset):
        count = sum(self._apply_status(request, sop, Sop.Status.ACTIVE) for sop in queryset)
        self.message_user(
            request,
            ngettext("%(n)d SOP diberlakukan.", "%(n)d SOP diberlakukan.", count) % {"n": count},
        )

    @admin.action(description=_("Nyatakan tidak berlaku"))
    def retire(self, request, queryset):
        count = sum(self._apply_status(request, sop, Sop.Status.RETIRED) for sop in queryset)
        self.message_user(
            request,
            ngettext("%(n)d SOP tidak berlaku lagi.", "%(n)d SOP tidak berlaku lagi.", count)
            % {"n": count},
        )


class UserRoleInline(admin.TabularInline):
    model = Role.members.through
    extra = 0
    verbose_name = _("jabatan")
    verbose_name_plural = _("jabatan yang dipegang")
    autocomplete_fields = ["role"]


class SopflowUserAdmin(PlainTextAdmin, SimpleHistoryAdmin, UserAdmin):
    inlines = [*UserAdmin.inlines, UserRoleInline]
    list_display = ["username", "first_name", "last_name", "email", "is_staff", "roles"]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Role.members.through:
            return super().save_formset(request, form, formset, change)
        user = form.instance
        before = set(user.sop_roles.values_list("pk", flat=True))
        super().save_formset(request, form, formset, change)
        after = set(user.sop_roles.values_list("pk", flat=True))
        # The inline writes the through rows itself; the roles' history records it.
        for role in Role.objects.filter(pk__in=before ^ after):
            record_membership_change(role)
        return None

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sop_roles__unit")

    @admin.display(description=_("jabatan"))
    def roles(self, user):
        return ", ".join(f"{role.name} ({role.unit})" for role in user.sop_roles.all())


@admin.register(Pegawai)
class PegawaiAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    """The person records: created here or imported from SIMPEG (Tugas → Impor pegawai)."""

    list_display = ["full_name", "nip_display", "rank", "position", "user"]
    search_fields = ["name", "nip", "position", "user__username"]
    autocomplete_fields = ["user"]
    fields = [
        "user",
        "nip",
        ("front_title", "name", "back_title"),
        "rank",
        "position",
        ("nik", "email"),
    ]

    @admin.display(description=_("NIP"), ordering="nip")
    def nip_display(self, person):
        return format_nip(person.nip or "")


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), SopflowUserAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is changed only through the app's transitions, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    fields = ["step", "round", "state", "activated_at", "completed_at", "completed_by", "decision"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LaporanSignature)
class LaporanSignatureAdmin(ReadOnlyAdmin):
    list_display = ["laporan", "position", "pegawai", "signed_as", "signed_at"]
    search_fields = ["pegawai__name", "pegawai__nip", "laporan__run__title"]


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["title", "unit", "sop", "status", "scheduled_on", "opened_at", "finished_at"]
    list_filter = ["unit", "status", "sop"]
    search_fields = ["title", "place", "notes"]
    date_hierarchy = "opened_at"
    inlines = [StepRunInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit", "sop")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "run", "sop", "actor", "role", "acting", "on_behalf"]
    list_filter = ["kind", "on_behalf", "acting"]
    search_fields = ["run__title", "sop__name", "actor__username"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run", "sop", "actor", "role")


@admin.register(ActingAppointment)
class ActingAppointmentAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    """Appointments are made and ended on /delegasi/, which checks the rules and records them."""

    list_display = ["role", "kind", "person", "start_date", "end_date", "letter_number", "ended_at"]
    list_filter = ["unit", "kind"]
    search_fields = ["person__username", "role__name", "letter_number"]
    date_hierarchy = "start_date"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("role", "person")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    search_fields = ["original_name", "step_run__run__title"]


@admin.register(ArchivedReport)
class ArchivedReportAdmin(ReadOnlyAdmin):
    list_display = ["run", "nomor", "signature_level", "sha256", "size", "archived_at"]
    search_fields = ["nomor", "run__title"]


@admin.register(Klasifikasi)
class KlasifikasiAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    """The kode klasifikasi arsip the office uses, kept by its records unit (with history); a
    code an SOP or a kegiatan uses cannot be deleted, only marked as no longer used. Printed
    numbers keep their code as text."""

    list_display = ["code", "title", "active"]
    list_filter = ["active"]
    search_fields = ["code", "title"]


@admin.register(NaskahCounter)
class NaskahCounterAdmin(ReadOnlyAdmin):
    """The registers: read only, the numbers are taken by the laporan alone."""

    list_display = ["unit", "year", "last"]
    list_filter = ["unit", "year"]


@admin.register(NaskahNumber)
class NaskahNumberAdmin(ReadOnlyAdmin):
    """Every number each register gave, and the kegiatan whose laporan carries it."""

    list_display = ["unit", "year", "number", "run", "taken_at"]
    list_filter = ["unit", "year"]
    list_select_related = ["unit", "run"]
    search_fields = ["run__title"]


@admin.register(PeriodReport)
class PeriodReportAdmin(ReadOnlyAdmin):
    list_display = ["requested_by", "date_from", "date_to", "sop", "status", "done", "total"]
    list_filter = ["status"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["channel", "sent_at", "attempts", "last_error"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__username", "subject"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient")


@admin.register(PeriodicJob)
class PeriodicJobAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_run_at", "next_run_at"]


class MonitoringRowInline(admin.TabularInline):
    model = MonitoringRow
    extra = 0
    fields = ["position", "sop", "proposed", "assessment", "notes", "action"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MonitoringReport)
class MonitoringReportAdmin(SimpleHistoryAdmin):
    """Tabel 7 forms are written in the app; the admin shows them and their history."""

    list_display = ["__str__", "unit", "status", "reviewer_name", "signed_on", "updated_at"]
    list_filter = ["unit", "status"]
    readonly_fields = [field.name for field in MonitoringReport._meta.fields]
    inlines = [MonitoringRowInline]

    def has_add_permission(self, request):
        return False


@admin.register(SopEvaluation)
class SopEvaluationAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "status", "reviewer_name", "signed_on", "updated_at"]
    list_filter = ["status", "sop__unit"]
    readonly_fields = [field.name for field in SopEvaluation._meta.fields]

    def has_add_permission(self, request):
        return False


class ReferenceItemInline(PlainTextAdmin, admin.TabularInline):
    """A list's items. An item a run recorded cannot be deleted (it is protected); mark it
    not in use instead: it is no longer offered and the recorded value keeps its name."""

    model = ReferenceItem
    extra = 1
    fields = ["position", "group", "name", "active"]


@admin.register(ReferenceList)
class ReferenceListAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    """Reference lists the step data choose from: the city's (no unit) and each unit's own."""

    list_display = ["name", "slug", "unit", "item_count"]
    list_filter = ["unit"]
    search_fields = ["name", "slug", "items__name"]
    fields = ["unit", "slug", "name", "item_label"]
    inlines = [ReferenceItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit").annotate(counted=Count("items"))

    @admin.display(description=_("jumlah butir"))
    def item_count(self, reference_list):
        return reference_list.counted


@admin.register(ReferenceItem)
class ReferenceItemAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    """One item with its history (who renamed it, who took it out of use)."""

    list_display = ["name", "group", "reference_list", "active"]
    list_filter = ["reference_list", "active"]
    search_fields = ["name", "group"]


# The REST API's keys and the webhook subscriptions ------------------------------------------


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["user", "name", "scope", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    """Keys of every user: made here for a user (the token is shown once, in the message after
    saving) and revoked; every change is in "Riwayat"."""

    list_display = ["name", "user", "prefix", "scope", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "user__username", "prefix"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "scope", "expires_at"]
        return [
            "user",
            "name",
            "scope",
            "prefix",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "scope", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, token = ApiKey.issue(
            user=obj.user,
            name=obj.name,
            scope=obj.scope,
            expires_at=obj.expires_at,
            created_by=request.user,
        )
        obj.pk = key.pk
        self.message_user(
            request,
            _(
                "Kunci API untuk %(user)s: %(token)s — salin sekarang; kunci ini tidak ditampilkan "
                "lagi."
            )
            % {"user": key.user.get_username(), "token": token},
            messages.WARNING,
        )

    @admin.action(description=_("Cabut kunci API yang dipilih"))
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at=None):
            key.revoke()

    def has_delete_permission(self, request, obj=None):
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("Alamat penerima"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("Jenis peristiwa"),
        choices=list(webhook_catalogue.CATALOGUE.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ["owner", "url", "description", "event_types", "units", "active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(PlainTextAdmin, SimpleHistoryAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "owner", "active", "created_at", "disabled_at"]
    list_filter = ["active"]
    filter_horizontal = ["units"]

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = new_webhook_secret()
        super().save_model(request, obj, form, change)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "at", "status_code", "succeeded", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    @admin.action(description=_("Kirim ulang"))
    def resend(self, request, queryset):
        for delivery in queryset:
            webhooks.resend(delivery)
