"""Forms of SOP authoring: the import form, the SOP editor (identity, sections, step table)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from activities.authoring import importers, steps
from activities.models import Role, Sop, SopItem, format_nip
from activities.text import PlainTextMixin


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit):
        return f"{unit.short_name} — {unit.name}"


class ImportForm(forms.Form):
    """One upload (DOCX, XLSX or a sopflow JSON file) or pasted text; the unit it is for."""

    unit = UnitChoiceField(label=_("Unit kerja"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("Berkas DOCX, XLSX atau JSON"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".docx,.xlsx,.json,application/json,"
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    text = forms.CharField(
        label=_("Atau tempel teks tabel SOP"),
        required=False,
        strip=False,
        max_length=importers.MAX_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "Salin tabel dari dokumen (Word, Excel atau PDF) lalu tempel di sini: satu baris "
            "tabel per baris, sel dipisahkan tab."
        ),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

    def clean(self):
        data = super().clean()
        upload, text = data.get("file"), (data.get("text") or "")
        if upload and text.strip():
            raise forms.ValidationError(
                _("Pilih salah satu: unggah berkas atau tempel teks, tidak keduanya.")
            )
        if not upload and not text.strip() and not self.errors:
            raise forms.ValidationError(_("Unggah berkas atau tempel teks tabel SOP."))
        if upload and upload.size > importers.MAX_BYTES:
            self.add_error("file", _("Berkas lebih dari 5 MB."))
        return data


SECTION_FIELDS = [(f"section_{value}", value, label) for value, label in SopItem.Section.choices]
IDENTITY_FIELDS = [
    "name",
    "number",
    "section_name",
    "made_on",
    "revised_on",
    "effective_on",
    "approver_title",
    "approver_name",
    "approver_rank",
    "approver_nip",
]


class SopIdentityForm(PlainTextMixin, forms.ModelForm):
    """The identity block, and every identity section as an ordered list: one item a line."""

    class Meta:
        model = Sop
        fields = IDENTITY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, section, label in SECTION_FIELDS:
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=_("Satu butir per baris, berurutan."),
            )
            if self.instance.pk and not self.is_bound:
                self.initial[name] = "\n".join(self.instance.items(section))
        if self.instance.approver_nip and not self.is_bound:
            # Stored as digits; read grouped (birth date, appointment, sex, serial). Saving
            # normalises it again (Sop.clean).
            self.initial["approver_nip"] = format_nip(self.instance.approver_nip)
        for name in IDENTITY_FIELDS:
            self.fields[name].widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean(self):
        data = super().clean()
        name = data.get("name")
        if name and self.instance.pk:
            clash = Sop.objects.filter(
                unit=self.instance.unit, name=name, version=self.instance.version
            ).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "name", _("Unit ini sudah memiliki SOP dengan nama dan versi yang sama.")
                )
        return data

    def section_items(self):
        """{section: [items]} from the cleaned text areas."""
        return {
            section: [line.strip() for line in self.cleaned_data[name].splitlines() if line.strip()]
            for name, section, _label in SECTION_FIELDS
        }


# The row's fields are the step's declared fields (`steps.FIELDS`), in declaration order.
StepFields = type("StepFields", (forms.Form,), steps.form_fields())


class StepRowForm(PlainTextMixin, StepFields):
    """One row of the step table. Its rules (with the other rows) are `check_steps`'."""

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reviewed = forms.BooleanField(label=_("Sudah diperiksa"), required=False)

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].queryset = roles


class BaseStepFormSet(forms.BaseFormSet):
    def __init__(self, *args, roles, **kwargs):
        self.roles = roles
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"roles": self.roles}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            roles=self.roles,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


StepFormSet = forms.formset_factory(
    StepRowForm,
    formset=BaseStepFormSet,
    extra=0,
    can_delete=True,
    max_num=importers.MAX_STEPS,
    validate_max=True,
    absolute_max=importers.MAX_STEPS + 20,
)


class NewRoleForm(PlainTextMixin, forms.Form):
    """A role added to the SOP's unit from the editor."""

    new_role_name = forms.CharField(label=_("Nama jabatan baru"), max_length=120, required=False)
    new_role_kind = forms.ChoiceField(
        label=_("Jenis"), choices=Role.Kind.choices, initial=Role.Kind.MEMBER, required=False
    )


class NewSopForm(PlainTextMixin, forms.Form):
    unit = UnitChoiceField(label=_("Unit kerja"), queryset=None, empty_label=None)
    name = forms.CharField(label=_("Nama SOP"), max_length=300)
    number = forms.CharField(label=_("Nomor SOP"), max_length=120, required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

    def clean(self):
        data = super().clean()
        if data.get("unit") and data.get("name"):
            if Sop.objects.filter(unit=data["unit"], name=data["name"]).exists():
                self.add_error(
                    "name",
                    _("SOP dengan nama ini sudah ada; buat revisinya dari halaman SOP tersebut."),
                )
        return data
