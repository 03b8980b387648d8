"""Forms of the run pages: open a run, record a step, approve or return it, cancel, filter.

Times are entered as local (WIB) wall-clock times to the minute; `clean_*` turns them into
aware datetimes. Whether a time is allowed (not in the future, not before the previous step)
is decided by `activities.core.workflow`, which reports it on the field it concerns.
"""

import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.core import policy
from activities.data_forms import add_data_fields
from activities.models import (
    Acting,
    Answer,
    Assessment,
    MonitoringReport,
    MonitoringRow,
    Run,
    Sop,
    SopEvaluation,
    format_nip,
    normalize_nip,
    pegawai_of,
)
from activities.text import PlainTextMixin
from activities.time.periods import Period

# Back-filling a run that already took place is allowed up to a year back; a date further away
# is almost always a typing error (2062 for 2026).
BACKFILL_DAYS = 365
AHEAD_DAYS = 2 * 365

DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"]
DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M",
]

INVALID_DATE = _("Masukkan tanggal yang valid, mis. 23-11-2026.")
INVALID_DATETIME = _("Masukkan tanggal dan jam yang valid, mis. 23-11-2026 14:05.")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def date_field(label, *, required=True, help_text="", invalid=INVALID_DATE):
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        error_messages={"invalid": invalid},
    )


def local_datetime(value, exact=None):
    """An entered (minute-precision) time as an aware datetime in the current time zone.

    The form shows `exact` (the activation time, or now) to the minute; submitted unchanged,
    it stands for that exact moment, so the seconds that were cut off cannot make a start
    "before the previous step" or a completion "before the start".
    """
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    if exact is not None and value == exact.replace(second=0, microsecond=0):
        return exact
    return value


def helper_without_form_tag(*layout):
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


class RunForm(PlainTextMixin, forms.Form):
    title = forms.CharField(
        label=_("Judul kegiatan"),
        max_length=200,
        error_messages={
            "required": _("Judul kegiatan wajib diisi."),
            "max_length": _("Judul kegiatan paling banyak %(limit_value)d karakter."),
        },
    )
    scheduled_on = date_field(
        _("Tanggal pelaksanaan"),
        help_text=_("Boleh tanggal yang sudah lewat (paling lama satu tahun ke belakang)."),
    )
    place = forms.CharField(
        label=_("Tempat"),
        max_length=200,
        error_messages={"required": _("Tempat kegiatan wajib diisi.")},
    )
    notes = forms.CharField(
        label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["scheduled_on"].error_messages["required"] = _(
            "Tanggal pelaksanaan wajib diisi."
        )
        self.helper = helper_without_form_tag(
            "title", Row(Column("scheduled_on"), Column("place")), "notes"
        )

    def clean_scheduled_on(self):
        value = self.cleaned_data["scheduled_on"]
        if value < self.today - datetime.timedelta(days=BACKFILL_DAYS):
            raise forms.ValidationError(
                _("Tanggal pelaksanaan paling lama satu tahun yang lalu."), code="too_old"
            )
        if value > self.today + datetime.timedelta(days=AHEAD_DAYS):
            raise forms.ValidationError(
                _("Tanggal pelaksanaan paling jauh dua tahun ke depan."), code="too_far"
            )
        return value


class VersionedStepForm(PlainTextMixin, forms.Form):
    """The hidden version of the StepRun the form was made from: a stale form is refused."""

    # CharFields checked in clean(): a hidden field's own error would be shown nowhere.
    # A returned step gets a new round whose version starts over, so the round is kept too.
    version = forms.CharField(widget=forms.HiddenInput, required=False)
    round = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, step_run, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.step_run = step_run
        self.now = now or timezone.now()
        self.fields["version"].initial = step_run.version
        self.fields["round"].initial = step_run.round

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["version"] = int(cleaned.get("version") or "")
            cleaned["round"] = int(cleaned.get("round") or "")
        except ValueError:
            raise forms.ValidationError(
                _("Formulir tidak lengkap. Muat ulang halaman lalu isi lagi."), code="incomplete"
            ) from None
        return cleaned


class TimedStepForm(VersionedStepForm):
    """Kelengkapan, start and completion times: shared by process steps and approvals."""

    requirements = forms.MultipleChoiceField(
        label=_("Kelengkapan yang tersedia"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Butir kelengkapan “%(value)s” tidak dikenal.")},
    )
    started_at = forms.DateTimeField(
        label=_("Mulai dikerjakan"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
        help_text=_("Waktu WIB. Bawaan: saat langkah ini menjadi aktif."),
        error_messages={"invalid": INVALID_DATETIME},
    )
    completed_at = forms.DateTimeField(
        label=_("Selesai dikerjakan"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
        help_text=_("Waktu WIB. Bawaan: sekarang."),
        error_messages={"invalid": INVALID_DATETIME},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        items = self.step_run.step.requirement_items()
        if items:
            self.fields["requirements"].choices = [(item, item) for item in items]
        else:
            del self.fields["requirements"]
        self.fields["started_at"].initial = self.step_run.activated_at
        self.fields["completed_at"].initial = self.now
        # The data the step asks for (jumlah peserta, kelurahan): `activities.data_forms`.
        self.data_names = add_data_fields(self, self.step_run)

    def clean_started_at(self):
        return local_datetime(self.cleaned_data["started_at"], exact=self.step_run.activated_at)

    def clean_completed_at(self):
        value = local_datetime(self.cleaned_data["completed_at"])
        if value is None or value > self.now:
            return value  # the workflow refuses a future time with its own message
        # A completion entered to the minute happened somewhere in that minute: take its last
        # moment, never later than now. A form loaded at 09:05:50 for a step that became
        # active at 09:05:30 and sent at 09:06:05 then completes after it started.
        return min(
            value + datetime.timedelta(minutes=1) - datetime.timedelta(microseconds=1), self.now
        )

    # Start and completion side by side (`activities.field_html` lays the step forms out).
    times_row = ("started_at", "completed_at")


class CompleteStepForm(TimedStepForm):
    output = forms.CharField(
        label=_("Output"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(
        label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["output"].initial = self.step_run.step.output
        self.fields["output"].help_text = _("Sesuai mutu baku; ubah bila berbeda.")
        fields = ["requirements"] if "requirements" in self.fields else []
        self.layout = [
            *fields,
            *self.data_names,
            self.times_row,
            "output",
            "notes",
            "version",
            "round",
        ]


class ApproveStepForm(TimedStepForm):
    instruction = forms.CharField(
        label=_("Isi disposisi"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Isi disposisi wajib diisi.")},
    )
    deadline = date_field(_("Batas waktu"), required=False)
    decision_notes = forms.CharField(
        label=_("Catatan disposisi"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = ["requirements"] if "requirements" in self.fields else []
        self.layout = [
            "instruction",
            ("deadline", "decision_notes"),
            *fields,
            *self.data_names,
            self.times_row,
            "version",
            "round",
        ]

    def clean_deadline(self):
        value = self.cleaned_data["deadline"]
        today = timezone.localdate(self.now)
        # Whether it precedes the approval is the workflow's call; a far year is a typing error.
        if value and value > today + datetime.timedelta(days=AHEAD_DAYS):
            raise forms.ValidationError(
                _("Batas waktu disposisi paling jauh dua tahun ke depan."), code="too_far"
            )
        return value


class ReturnStepForm(VersionedStepForm):
    reason = forms.CharField(
        label=_("Alasan pengembalian"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Alasan pengembalian wajib diisi.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout = ["reason", "version", "round"]


class CancelRunForm(PlainTextMixin, forms.Form):
    """Shown unbound on the run page, its one field placed by hand (no crispy layout): its
    errors come back as messages (`run_cancel`)."""

    reason = forms.CharField(
        label=_("Alasan pembatalan"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        error_messages={"required": _("Alasan pembatalan wajib diisi.")},
    )


class PeriodMixin:
    """A `dari`–`sampai` date filter: years a run can have, and the end not before the start."""

    # Far-off years are typing errors (and 9999-12-31 plus one day overflows).
    MIN_YEAR, MAX_YEAR = 2000, 2100

    def _clean_year(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and not self.MIN_YEAR <= value.year <= self.MAX_YEAR:
            raise forms.ValidationError(
                _("Tahun harus antara %(min)s dan %(max)s.")
                % {"min": self.MIN_YEAR, "max": self.MAX_YEAR}
            )
        return value

    def clean_dari(self):
        return self._clean_year("dari")

    def clean_sampai(self):
        return self._clean_year("sampai")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("dari"), cleaned.get("sampai")
        if start and end and end < start:
            self.add_error("sampai", _("Tanggal “sampai” tidak boleh sebelum tanggal “dari”."))
        return cleaned


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """The choices from the field's queryset as a list: one query, whose rows the view may
    use too, instead of `.iterator()`'s server-side cursor (on PostgreSQL a SELECT and then a
    DECLARE for the same rows)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator


class SopChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} (v{obj.version})"


class RunFilterForm(PlainTextMixin, PeriodMixin, forms.Form):
    sop = SopChoiceField(
        label=_("SOP"),
        queryset=Sop.objects.none(),
        required=False,
        empty_label=_("Semua SOP"),
        error_messages={"invalid_choice": _("SOP yang dipilih tidak tersedia.")},
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Semua status")), *Run.Status.choices],
        error_messages={"invalid_choice": _("Status “%(value)s” tidak dikenal.")},
    )
    # The period is the date the kegiatan takes place (Run.scheduled_on), not when it was opened.
    dari = date_field(_("Dilaksanakan dari"), required=False)
    sampai = date_field(_("Dilaksanakan sampai"), required=False)
    q = forms.CharField(label=_("Cari judul"), required=False, max_length=100)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sop"].queryset = (
            policy.visible_sops(user).select_related("unit").order_by("name", "-version")
        )
        self.fields["q"].widget.attrs["type"] = "search"
        self.helper = helper_without_form_tag(
            Row(
                Column("sop", css_class="col-12 col-lg-4"),
                Column("status", css_class="col-6 col-lg-2"),
                Column("q", css_class="col-6 col-lg-2"),
                Column("dari", css_class="col-6 col-lg-2"),
                Column("sampai", css_class="col-6 col-lg-2"),
            )
        )


class ArchiveFilterForm(PlainTextMixin, PeriodMixin, forms.Form):
    STATUS_CHOICES = [
        ("", _("Semua status")),
        (Run.Status.FINISHED, _("Selesai")),
        (Run.Status.CANCELLED, _("Dibatalkan")),
    ]

    q = forms.CharField(
        label=_("Cari"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("judul, tempat atau catatan"), "type": "search"}
        ),
    )
    sop = ListedModelChoiceField(
        label=_("SOP"),
        queryset=Sop.objects.none(),
        required=False,
        empty_label=_("Semua SOP"),
        error_messages={"invalid_choice": _("SOP yang dipilih tidak dikenal.")},
    )
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    dari = date_field(
        _("Dari tanggal"),
        required=False,
        invalid=_("Tanggal “dari” tidak valid; tulis mis. 2026-11-01."),
    )
    sampai = date_field(
        _("Sampai tanggal"),
        required=False,
        invalid=_("Tanggal “sampai” tidak valid; tulis mis. 2026-11-30."),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        sops = (
            Sop.objects.filter(unit__in=units)
            .select_related("unit")
            .order_by("unit__name", "name", "-version")
        )
        self.fields["sop"].queryset = sops
        for name, field in self.fields.items():
            is_select = isinstance(field.widget, forms.Select)
            css = "form-select form-select-sm" if is_select else "form-control form-control-sm"
            if self.is_bound and name in self.errors:
                css += " is-invalid"
            field.widget.attrs["class"] = css
        several_units = len(units) > 1
        self.fields["sop"].label_from_instance = lambda sop: (
            f"{sop.unit.short_name} · {sop.name} (v{sop.version})"
            if several_units
            else f"{sop.name} (v{sop.version})"
        )

    def filters(self):
        """The filters that passed validation, as keyword arguments of `reports.archive_runs`."""
        data = self.cleaned_data if self.is_bound else {}
        return {
            "text": (data.get("q") or "").strip(),
            "sop": data.get("sop"),
            "status": data.get("status") or "",
            "date_from": data.get("dari"),
            "date_to": data.get("sampai"),
        }


class PersonChoiceField(forms.ModelChoiceField):
    """A login named as its person record names him: “Siti Rahmawati, S.E. — NIP …”; his
    pangkat and NIP come from that record, never typed again."""

    def label_from_instance(self, user):
        person = pegawai_of(user)
        if person is None:
            return user.get_full_name() or user.get_username()
        if person.nip:
            return f"{person.full_name} — NIP {format_nip(person.nip)}"
        return person.full_name


class ActingAppointmentForm(forms.Form):
    """A surat perintah appointing a Plt./Plh.; the rules are checked by `acting.appoint`."""

    role = forms.ModelChoiceField(
        label=_("Jabatan yang dilaksanakan"),
        queryset=None,
        error_messages={"required": _("Pilih jabatan.")},
    )
    kind = forms.ChoiceField(label=_("Sebagai"), choices=Acting.choices, initial=Acting.PLH)
    person = PersonChoiceField(
        label=_("Pegawai yang ditunjuk"),
        queryset=None,
        error_messages={"required": _("Pilih pegawai yang ditunjuk.")},
    )
    start_date = date_field(_("Mulai"))
    end_date = date_field(_("Sampai"))
    letter_number = forms.CharField(label=_("Nomor surat perintah"), max_length=120)
    letter_date = date_field(_("Tanggal surat perintah"))
    reason = forms.CharField(
        label=_("Alasan"),
        max_length=300,
        help_text=_("Mis. cuti tahunan, perjalanan dinas."),
    )

    def __init__(self, *args, roles, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = roles
        self.fields["role"].label_from_instance = lambda role: f"{role.name} ({role.unit})"
        self.fields["person"].queryset = people
        for name in ("letter_number", "reason"):
            self.fields[name].error_messages["required"] = _("Kolom ini wajib diisi.")
        self.helper = helper_without_form_tag(
            Row(Column("role"), Column("kind")),
            "person",
            Row(Column("start_date"), Column("end_date")),
            Row(Column("letter_number"), Column("letter_date")),
            "reason",
        )


class PeriodForm(PeriodMixin, forms.Form):
    """The period of a statistics page, a monitoring form or an event-log export."""

    dari = date_field(
        _("Dari tanggal"),
        required=False,
        invalid=_("Tanggal “dari” tidak valid; tulis mis. 2026-01-01."),
    )
    sampai = date_field(
        _("Sampai tanggal"),
        required=False,
        invalid=_("Tanggal “sampai” tidak valid; tulis mis. 2026-06-30."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"

    def period(self, default):
        """The chosen period; a date left empty (or a form with errors) takes `default`'s."""
        if not self.is_bound or not self.is_valid():
            return default
        start = self.cleaned_data["dari"] or default.start
        end = self.cleaned_data["sampai"] or default.end
        if end < start:
            # Only one date was given, outside the default period: take its own semester.
            if self.cleaned_data["dari"]:
                end = Period.semester_of(start).end
            else:
                start = Period.semester_of(end).start
        return Period(start, end)


class KinerjaForm(forms.Form):
    """The month of an e-Kinerja list, and whose (oneself, one pegawai, or the whole unit)."""

    EVERYONE = "semua"

    bulan = forms.CharField(
        label=_("Bulan"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"}),
    )
    pegawai = forms.ChoiceField(label=_("Pegawai"), required=False)

    def __init__(self, *args, viewer, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.people = {str(person.pk): person for person in people}
        choices = [("", _("Saya sendiri"))]
        if len(self.people) > 1 or viewer.is_superuser:
            choices.append((self.EVERYONE, _("Semua pegawai unit")))
            choices += [
                (pk, person.get_full_name() or person.get_username())
                for pk, person in self.people.items()
                if person.pk != viewer.pk
            ]
        self.fields["pegawai"].choices = choices
        self.fields["pegawai"].error_messages["invalid_choice"] = _(
            "Pegawai yang dipilih tidak dikenal atau bukan bawahan Anda."
        )
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def clean_bulan(self):
        value = (self.cleaned_data.get("bulan") or "").strip()
        if not value:
            return None
        try:
            month = datetime.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(
                _("Bulan tidak valid; tulis tahun dan bulan, mis. 2026-11.")
            ) from None
        if not PeriodMixin.MIN_YEAR <= month.year <= PeriodMixin.MAX_YEAR:
            raise forms.ValidationError(
                _("Tahun harus antara %(min)s dan %(max)s.")
                % {"min": PeriodMixin.MIN_YEAR, "max": PeriodMixin.MAX_YEAR}
            )
        return month

    def choice(self):
        """(first day of the month, the chosen person or None for everyone)."""
        data = {}
        if self.is_bound:
            self.is_valid()
            # Fields that passed keep their value when another one was refused.
            data = self.cleaned_data
        month = data.get("bulan") or timezone.localdate().replace(day=1)
        chosen = data.get("pegawai") or ""
        if chosen == self.EVERYONE:
            return month, None
        return month, self.people.get(chosen, self.viewer)


class ThresholdsForm(forms.ModelForm):
    """The thresholds a Tabel 7 draft proposes its penilaian from."""

    class Meta:
        model = MonitoringReport
        fields = ["on_time_threshold", "return_threshold"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.min_value, field.max_value = 0, 100
            field.validators = [
                *field.validators,
                MinValueValidator(0, message=_("Ambang harus antara 0 dan 100 persen.")),
                MaxValueValidator(100, message=_("Ambang harus antara 0 dan 100 persen.")),
            ]
            field.widget.attrs.update(
                {"class": "form-control form-control-sm", "min": 0, "max": 100}
            )
            field.error_messages["invalid"] = _("Tulis ambang sebagai bilangan bulat 0–100.")


class MonitoringRowForm(forms.ModelForm):
    """The penilai's penilaian, catatan and tindakan of one procedure of a Tabel 7 form."""

    class Meta:
        model = MonitoringRow
        fields = ["assessment", "notes", "action"]
        widgets = {
            "assessment": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 4, "class": "form-control form-control-sm"}),
            "action": forms.Textarea(attrs={"rows": 3, "class": "form-control form-control-sm"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessment"].choices = Assessment.choices
        self.fields["assessment"].error_messages["invalid_choice"] = _(
            "Pilih salah satu penilaian."
        )


MonitoringRowFormSet = forms.modelformset_factory(
    MonitoringRow, form=MonitoringRowForm, extra=0, can_delete=False
)


class SignOffForm(forms.ModelForm):
    """The paraf of the penilai: name, NIP and date; all three are needed to sign off."""

    signed_on = date_field(_("Tanggal paraf"), required=False)

    class Meta:
        model = MonitoringReport
        fields = ["reviewer_name", "reviewer_nip", "signed_on"]

    def __init__(self, *args, signing=False, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.signing = signing
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"
        if person is not None and not self.instance.reviewer_name:
            # The penilai initials as himself: his name and NIP from his person record.
            self.initial["reviewer_name"] = person.full_name
            self.initial["reviewer_nip"] = self.initial.get("reviewer_nip") or person.nip or ""

    def clean_reviewer_nip(self):
        value = normalize_nip(self.cleaned_data.get("reviewer_nip") or "")
        if value and (len(value) != 18 or not value.isdigit()):
            raise forms.ValidationError(_("NIP terdiri atas 18 angka, mis. 19640606 198503 1 015."))
        return value

    def clean_signed_on(self):
        value = self.cleaned_data.get("signed_on")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("Tanggal paraf tidak boleh di masa depan."))
        if value and value.year < PeriodMixin.MIN_YEAR:
            raise forms.ValidationError(_("Tanggal paraf tidak valid."))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.signing:
            for name, message in [
                ("reviewer_name", _("Nama penilai wajib diisi untuk paraf.")),
                ("reviewer_nip", _("NIP penilai wajib diisi untuk paraf.")),
                ("signed_on", _("Tanggal paraf wajib diisi.")),
            ]:
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return cleaned


class EvaluationForm(forms.ModelForm):
    """The seven criteria as Ya/Tidak (unanswered until the evaluator decides) with notes."""

    class Meta:
        model = SopEvaluation
        fields = [
            name
            for number, _text in SopEvaluation.CRITERIA
            for name in (f"answer_{number}", f"note_{number}")
        ]
        widgets = {
            name: forms.RadioSelect
            if name.startswith("answer_")
            else forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"})
            for name in fields
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number, text in SopEvaluation.CRITERIA:
            answer = self.fields[f"answer_{number}"]
            answer.choices = Answer.choices
            answer.required = False
            answer.label = text
            answer.error_messages["invalid_choice"] = _("Pilih Ya atau Tidak.")
            self.fields[f"note_{number}"].label = _("Catatan")

    def criteria(self):
        """[(number, criterion, answer field, note field)] in order, for the template."""
        return [
            (number, text, self[f"answer_{number}"], self[f"note_{number}"])
            for number, text in SopEvaluation.CRITERIA
        ]

    def unanswered(self):
        return [
            number
            for number, _text in SopEvaluation.CRITERIA
            if not self.cleaned_data.get(f"answer_{number}")
        ]


class EvaluationSignOffForm(SignOffForm):
    class Meta(SignOffForm.Meta):
        model = SopEvaluation


# The REST API's keys and webhook subscriptions --------------------------------------------


class ApiKeyForm(PlainTextMixin, forms.Form):
    """A new API key of the user himself."""

    DAYS = [(30, _("30 hari")), (90, _("90 hari")), (180, _("180 hari")), (365, _("1 tahun"))]

    name = forms.CharField(
        label=_("Nama kunci"),
        max_length=100,
        help_text=_("Untuk apa kunci ini, mis. “Dasbor command center”."),
        error_messages={"required": _("Nama kunci wajib diisi.")},
    )
    scope = forms.ChoiceField(
        label=_("Cakupan"),
        choices=[("read", _("baca saja")), ("write", _("baca dan tulis (bertindak atas langkah)"))],
        initial="read",
        widget=forms.RadioSelect,
    )
    days = forms.TypedChoiceField(label=_("Berlaku selama"), choices=DAYS, coerce=int, initial=90)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = helper_without_form_tag()


class WebhookSubscriptionForm(PlainTextMixin, forms.Form):
    """A new webhook subscription: the receiver, the event types, optionally some units."""

    url = forms.URLField(
        label=_("Alamat penerima (URL)"),
        max_length=500,
        assume_scheme="https",
        error_messages={
            "required": _("Alamat penerima wajib diisi."),
            "invalid": _("Masukkan alamat http:// atau https:// yang valid."),
        },
    )
    description = forms.CharField(label=_("Keterangan"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Jenis peristiwa"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Pilih sedikitnya satu jenis peristiwa.")},
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Unit kerja"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Kosongkan untuk semua unit yang boleh Anda langgani."),
    )

    def __init__(self, *args, catalogue, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = [
            (name, f"{name} — {meaning}") for name, meaning in catalogue.items()
        ]
        self.fields["units"].queryset = units
        self.helper = helper_without_form_tag()
