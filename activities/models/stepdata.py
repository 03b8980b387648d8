"""Step data: the fields an SOP's step asks to be filled (jumlah peserta, kelurahan yang
dilalui), the reference lists some of them choose from, and the values a round recorded.

A step declares its fields in `Step.data_fields` (a list of JSON objects, checked and read by
`activities.authoring.steps`); `DataFieldSpec` is one of them as the run pages read it. The
values of a completed round are `StepValue` rows, written once in the completion transition:
one row per value (a field with several choices has several rows), with the field's label and
the chosen item's name as they were then, so a value stays printable whatever happens to the
SOP or the list later. Reference items are never deleted once used (PROTECT); an item taken out
of use is marked inactive and is no longer offered.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from activities.models.base import AppendOnly, ConfigurationHistory
from activities.models.units import Unit


class DataType(models.TextChoices):
    NUMBER = "number", _("Angka")
    TEXT = "text", _("Teks")
    DATE = "date", _("Tanggal")
    TIME = "time", _("Jam")
    CHOICE = "choice", _("Pilihan")
    YESNO = "yesno", _("Ya/tidak")
    REFERENCE = "reference", _("Daftar rujukan")


# The types the statistics and Tabel 7 add up (numbers) or count (choices).
SUMMED_TYPES = (DataType.NUMBER,)
COUNTED_TYPES = (DataType.CHOICE, DataType.REFERENCE, DataType.YESNO)


@dataclass(frozen=True)
class DataFieldSpec:
    """One field of a step's `data_fields`, as checked by `activities.authoring.steps`."""

    key: str
    label: str
    type: str
    required: bool = False
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    list: str = ""
    multiple: bool = False

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "DataFieldSpec":
        def number(name):
            value = raw.get(name)
            return None if value is None else Decimal(str(value))

        return cls(
            key=raw["key"],
            label=raw["label"],
            type=raw["type"],
            required=bool(raw.get("required")),
            minimum=number("min"),
            maximum=number("max"),
            max_length=raw.get("max_length"),
            choices=tuple(raw.get("choices") or ()),
            list=raw.get("list") or "",
            multiple=bool(raw.get("multiple")),
        )


def data_specs(step) -> list[DataFieldSpec]:
    """The data fields `step` asks for, in its order."""
    return [DataFieldSpec.of(raw) for raw in step.data_fields or ()]


class ReferenceList(models.Model):
    """A list steps choose from: the kecamatan and kelurahan of the city, a unit's venues or
    narasumber. A list without a unit is the city's, shared by every unit; a unit's own list
    of the same slug takes its place for that unit."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reference_lists",
        verbose_name=_("unit kerja"),
        help_text=_("Kosong: daftar seluruh kota, dipakai semua unit kerja."),
    )
    slug = models.SlugField(
        _("kode"),
        max_length=40,
        help_text=_("Nama pendek yang dipakai isian langkah, mis. “kelurahan”."),
    )
    name = models.CharField(_("nama"), max_length=200)
    item_label = models.CharField(
        _("sebutan butir"), max_length=60, blank=True, help_text=_("Mis. “kelurahan”.")
    )

    history = ConfigurationHistory()

    class Meta:
        ordering = ["unit__name", "name"]
        verbose_name = _("daftar rujukan")
        verbose_name_plural = _("daftar rujukan")
        constraints = [
            models.UniqueConstraint(fields=["unit", "slug"], name="unique_reference_list"),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(unit__isnull=True), name="unique_city_reference_list"
            ),
        ]

    def __str__(self):
        return self.name


class ReferenceItem(models.Model):
    """One entry of a reference list; `group` sorts it under a heading (its kecamatan)."""

    reference_list = models.ForeignKey(
        ReferenceList, on_delete=models.CASCADE, related_name="items", verbose_name=_("daftar")
    )
    name = models.CharField(_("nama"), max_length=200)
    group = models.CharField(
        _("kelompok"), max_length=200, blank=True, help_text=_("Mis. kecamatan kelurahan ini.")
    )
    position = models.PositiveIntegerField(_("urutan"), default=0)
    active = models.BooleanField(
        _("dipakai"),
        default=True,
        help_text=_("Butir yang tidak dipakai lagi tidak ditawarkan; nilai lama tetap tercetak."),
    )
    history = ConfigurationHistory()

    class Meta:
        ordering = ["reference_list", "position", "group", "name"]
        verbose_name = _("butir daftar rujukan")
        verbose_name_plural = _("butir daftar rujukan")
        constraints = [
            models.UniqueConstraint(
                fields=["reference_list", "group", "name"], name="unique_reference_item"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.group})" if self.group else self.name


class StepValue(AppendOnly):
    """One value a completed round recorded for one of its step's data fields."""

    step_run = models.ForeignKey(
        "activities.StepRun", on_delete=models.PROTECT, related_name="values"
    )
    key = models.CharField(_("isian"), max_length=40)
    # The field's label and the item's name when the value was recorded.
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("jenis"), max_length=10, choices=DataType)
    position = models.PositiveSmallIntegerField(_("urutan"), default=0)
    number = models.DecimalField(_("angka"), max_digits=18, decimal_places=4, null=True, blank=True)
    text = models.TextField(_("teks"), blank=True)
    date = models.DateField(_("tanggal"), null=True, blank=True)
    time = models.TimeField(_("jam"), null=True, blank=True)
    flag = models.BooleanField(_("ya/tidak"), null=True, blank=True)
    item = models.ForeignKey(
        ReferenceItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("butir"),
    )

    class Meta:
        ordering = ["step_run", "position", "id"]
        verbose_name = _("data langkah")
        verbose_name_plural = _("data langkah")
        indexes = [models.Index(fields=["key", "step_run"], name="stepvalue_key_round")]

    def __str__(self):
        return f"{self.label}: {self.display}"

    @classmethod
    def record(cls, step_run, entries):
        """Write the values of `entries` (plain dicts, as the step form gives them and the
        completion event carries them) for the closed round `step_run`: one INSERT."""
        rows = []
        for position, entry in enumerate(entries):
            rows.append(
                cls(
                    step_run=step_run,
                    key=entry["key"],
                    label=entry["label"],
                    type=entry["type"],
                    position=position,
                    number=None if entry.get("number") is None else Decimal(entry["number"]),
                    text=entry.get("text", ""),
                    date=datetime.date.fromisoformat(entry["date"]) if entry.get("date") else None,
                    time=datetime.time.fromisoformat(entry["time"]) if entry.get("time") else None,
                    flag=entry.get("flag"),
                    item_id=entry.get("item"),
                )
            )
        return cls.objects.bulk_create(rows) if rows else []

    @property
    def display(self):
        """The value as the run page and the laporan print it."""
        return display_value(self.type, self.as_json())

    def as_json(self):
        """The value as the completion event and the exports carry it."""
        if self.type == DataType.NUMBER:
            return number_text(self.number)
        if self.type == DataType.DATE:
            return self.date.isoformat() if self.date else None
        if self.type == DataType.TIME:
            return self.time.strftime("%H:%M") if self.time else None
        if self.type == DataType.YESNO:
            return self.flag
        return self.text


def number_text(value):
    """A stored number without trailing zeros: 120, 2.5."""
    if value is None:
        return None
    value = Decimal(value)
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def display_value(type_, value):
    """A value of the given type (as `StepValue.as_json` gives it) in Indonesian print."""
    if value is None or value == "":
        return "–"
    if type_ == DataType.NUMBER:
        return formats.number_format(Decimal(value), use_l10n=True, force_grouping=True)
    if type_ == DataType.DATE:
        return formats.date_format(datetime.date.fromisoformat(value), "j F Y")
    if type_ == DataType.YESNO:
        return str(_("Ya") if value else _("Tidak"))
    return str(value)


def grouped_values(values):
    """[(label, "a, b")] of a round's values in order, a field's several values joined."""
    rows: dict[str, list] = {}
    labels = {}
    for value in values:
        labels.setdefault(value.key, value.label)
        rows.setdefault(value.key, []).append(value.display)
    return [(labels[key], ", ".join(shown)) for key, shown in rows.items()]
