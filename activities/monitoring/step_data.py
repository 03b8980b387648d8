"""The step data of an SOP's runs over a period, added up by the database.

A number field is summed (total peserta of a semester), a choice, yes/no or reference field is
counted per value (the kelurahan the wawaran car covered, and how often). A value belongs to the
period in which its round was completed; of a step run more than once in a run (it was returned
and done again) only the latest completed round counts, so a run's peserta are counted once.
One GROUP BY query, whatever the number of runs; its rows are bounded by the fields' values
(the choices, the items of a list), and cut at `MAX_ROWS` all the same.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Sum
from django.utils.translation import gettext as _

from activities.models import (
    COUNTED_TYPES,
    SUMMED_TYPES,
    DataType,
    StepRun,
    StepValue,
    display_value,
    number_text,
)

MAX_ROWS = 2000
# How many values of a counted field Tabel 7's catatan names.
NAMED_VALUES = 5


@dataclass
class DataTotal:
    """One data field of one step over the period."""

    step: object
    key: str
    label: str
    type: str
    # Numbers: their sum and how many rounds recorded one.
    total: Decimal | None = None
    rounds: int = 0
    # Counted fields: [(value as printed, how many times)], the most frequent first.
    counts: list = field(default_factory=list)

    @property
    def is_sum(self):
        return self.type in SUMMED_TYPES

    @property
    def total_display(self):
        return display_value(DataType.NUMBER, number_text(self.total))

    @property
    def distinct(self):
        return len(self.counts)


def _latest_rounds_only():
    later = StepRun.objects.filter(
        run_id=OuterRef("step_run__run_id"),
        step_id=OuterRef("step_run__step_id"),
        round__gt=OuterRef("step_run__round"),
        state=StepRun.State.DONE,
    )
    return ~Exists(later)


def totals(steps, first, after):
    """[DataTotal] of the data fields of `steps` over [first, after), in step and field order."""
    declared = {
        (step.pk, spec["key"]): (step, position, spec)
        for step in steps
        for position, spec in enumerate(step.data_fields or ())
        if spec.get("type") in (*SUMMED_TYPES, *COUNTED_TYPES)
    }
    if not declared:
        return []
    rows = (
        StepValue.objects.filter(
            step_run__step__in=[step.pk for step in steps],
            step_run__completed_at__gte=first,
            step_run__completed_at__lt=after,
            step_run__state=StepRun.State.DONE,
            type__in=[*SUMMED_TYPES, *COUNTED_TYPES],
        )
        .filter(_latest_rounds_only())
        .values("step_run__step", "key", "type", "item", "text", "flag")
        .order_by()
        .annotate(total=Sum("number"), count=Count("id"), last_label=Max("label"))[:MAX_ROWS]
    )
    found: dict = {}
    for row in rows:
        place = declared.get((row["step_run__step"], row["key"]))
        if place is None:
            continue  # a field the step no longer declares (never on a frozen version)
        step, position, spec = place
        total = found.get((step.pk, row["key"]))
        if total is None:
            total = found[(step.pk, row["key"])] = DataTotal(
                step=step,
                key=row["key"],
                label=spec.get("label") or row["last_label"],
                type=spec["type"],
            )
        if row["type"] in SUMMED_TYPES:
            total.total = (total.total or Decimal(0)) + (row["total"] or Decimal(0))
            total.rounds += row["count"]
        else:
            shown = (
                display_value(DataType.YESNO, row["flag"])
                if row["type"] == DataType.YESNO
                else row["text"]
            )
            total.counts.append((shown, row["count"]))
    for total in found.values():
        total.counts.sort(key=lambda pair: (-pair[1], pair[0]))
    order = {key: (step.number, position) for key, (step, position, _spec) in declared.items()}
    return sorted(found.values(), key=lambda total: order[(total.step.pk, total.key)])


def note(data_totals):
    """The sentence Tabel 7's catatan gives the step data, or ""."""
    parts = []
    for total in data_totals:
        params = {"label": total.label, "number": total.step.number}
        if total.is_sum:
            params |= {"total": total.total_display, "rounds": total.rounds}
            parts.append(
                _("%(label)s (langkah %(number)s) %(total)s dari %(rounds)s kali") % params
            )
        elif total.counts:
            named = ", ".join(f"{name} ({count})" for name, count in total.counts[:NAMED_VALUES])
            more = len(total.counts) - NAMED_VALUES
            if more > 0:
                named += " " + _("dan %(n)s lainnya") % {"n": more}
            params |= {"distinct": total.distinct, "named": named}
            parts.append(_("%(label)s (langkah %(number)s) %(distinct)s macam: %(named)s") % params)
    if not parts:
        return ""
    return _("Data langkah: %(parts)s.") % {"parts": "; ".join(parts)}
