"""Forms of SOP authoring: the import form, the SOP editor (identity, sections, step table)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from activities import importers


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
