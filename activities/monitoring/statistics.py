"""Statistics of one SOP version over a period, computed by the database from stored figures.

Every number here is an SQL aggregate over the office minutes that were stored when a round
closed (`StepRun.waiting_office_minutes`, `handling_office_minutes`) and when a run finished
(`Run.lead_office_minutes`, `steps_done`, `steps_on_time`): a fixed number of GROUP BY queries
whatever the number of runs, and no Python loop over rounds. Percentiles are continuous
(`activities.monitoring.aggregates.Percentile`: percentile_cont on PostgreSQL, the same interpolation as
a registered aggregate on SQLite).

What belongs to a period: a round belongs to the period in which it closed (was completed or
returned), a run's lead time to the period in which it finished; the counts say how many runs
were opened, finished and cancelled in the period, and how many of those opened by its end
were still open at its end.

Figures per step (each closed round counts once, so a reworked step counts each round):
- handling = started → completed, the step's actual time measured against its standard;
- waiting = activated → started;
- within standard = share of rounds whose handling ≤ the standard;
- return rate = share of rounds that ended in a return (approval steps);
- overrun = sum over rounds of the handling beyond the standard; the bottleneck ranking sorts
  steps by it.
A run's on-time share is the share of its steps whose time (all rounds together) kept the
standard, as the laporan counts it; a period's is the sum over its runs.
"""

import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Avg, Case, Count, F, FloatField, Max, Min, Q, StdDev, Sum, Value, When
from django.db.models.functions import Greatest, TruncMonth

from activities.models import Run, StepRun, StepSignOff, critical_path
from activities.monitoring import step_data
from activities.monitoring.aggregates import Percentile
from activities.time import timing

# Lead-time distribution: buckets as multiples of the SOP's total standard time.
LEAD_BUCKETS = (0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass
class StepStat:
    step: object
    rounds: int = 0
    handling_median: float | None = None
    handling_p90: float | None = None
    handling_mean: float | None = None
    waiting_median: float | None = None
    waiting_p90: float | None = None
    waiting_mean: float | None = None
    within: int = 0
    returned: int = 0
    overrun: float = 0.0

    @property
    def number(self):
        return self.step.number

    @property
    def standard_minutes(self):
        return self.step.standard_minutes

    @property
    def within_share(self):
        return self.within / self.rounds if self.rounds else None

    @property
    def return_rate(self):
        return self.returned / self.rounds if self.rounds else None

    @property
    def median_late(self):
        return self.handling_median is not None and self.handling_median > self.standard_minutes


@dataclass
class Month:
    month: object
    finished: int
    steps_done: int
    steps_on_time: int
    lead_median: float | None

    @property
    def on_time_share(self):
        return self.steps_on_time / self.steps_done if self.steps_done else None


@dataclass
class LeadTimes:
    count: int = 0
    mean: float | None = None
    stddev: float | None = None
    minimum: float | None = None
    p10: float | None = None
    p25: float | None = None
    median: float | None = None
    p75: float | None = None
    p90: float | None = None
    maximum: float | None = None
    # [(lower bound or None, upper bound or None, count)] in multiples of the standard total.
    buckets: list = field(default_factory=list)


@dataclass
class SopStatistics:
    sop: object
    period: object
    standard_total: int
    opened: int
    finished: int
    cancelled: int
    open_at_end: int
    steps: list
    lead: LeadTimes
    months: list
    steps_done: int
    steps_on_time: int
    # The working day of the SOP's unit: what "1 hari" of these figures is.
    day_minutes: int
    # The step data over the period (`step_data.totals`): total peserta, kelurahan covered.
    data: list = field(default_factory=list)
    # Sign-offs of joint steps in the period: [(step number, performer's role, count)].
    sign_offs: list = field(default_factory=list)

    def display(self, minutes):
        """Office minutes of this SOP's figures, in days of its unit ("" for None)."""
        return timing.format_minutes(minutes, self.day_minutes)

    @property
    def on_time_share(self):
        return self.steps_on_time / self.steps_done if self.steps_done else None

    @property
    def bottlenecks(self):
        """Steps with an overrun, the largest total overrun first."""
        late = [stat for stat in self.steps if stat.overrun > 0]
        return sorted(late, key=lambda stat: (-stat.overrun, stat.number))

    @property
    def rounds(self):
        return sum(stat.rounds for stat in self.steps)

    @property
    def worst_return_rate(self):
        rates = [stat.return_rate for stat in self.steps if stat.return_rate is not None]
        return max(rates, default=None)


def _round_figures(steps, first, after):
    """One GROUP BY over the rounds of these steps closed in the period."""
    handling, waiting = "handling_office_minutes", "waiting_office_minutes"
    # The standards as literals keyed on step_id: no join to the steps for every round, so the
    # query reads nothing but the covering index `steprun_step_stats`.
    standard = Case(
        *[When(step_id=step.pk, then=Value(step.standard_minutes)) for step in steps],
        output_field=FloatField(),
    )
    overrun = Greatest(F(handling) - standard, Value(0.0), output_field=FloatField())
    rows = (
        StepRun.objects.filter(
            step__in=[step.pk for step in steps],
            handling_office_minutes__isnull=False,
            completed_at__gte=first,
            completed_at__lt=after,
        )
        .values("step")
        .order_by()
        .annotate(
            rounds=Count("id"),
            handling_median=Percentile(handling, 0.5),
            handling_p90=Percentile(handling, 0.9),
            handling_mean=Avg(handling),
            waiting_median=Percentile(waiting, 0.5),
            waiting_p90=Percentile(waiting, 0.9),
            waiting_mean=Avg(waiting),
            within=Count("id", filter=Q(handling_office_minutes__lte=standard)),
            returned=Count("id", filter=Q(state=StepRun.State.RETURNED)),
            overrun=Sum(overrun),
        )
    )
    return {row.pop("step"): row for row in rows}


def _counts(sop, first, after):
    closed_after_end = Q(finished_at__gte=after) | Q(cancelled_at__gte=after)
    return Run.objects.filter(sop=sop).aggregate(
        opened=Count("id", filter=Q(opened_at__gte=first, opened_at__lt=after)),
        finished=Count("id", filter=Q(finished_at__gte=first, finished_at__lt=after)),
        cancelled=Count("id", filter=Q(cancelled_at__gte=first, cancelled_at__lt=after)),
        open_at_end=Count(
            "id",
            filter=Q(opened_at__lt=after) & (Q(status=Run.Status.RUNNING) | closed_after_end),
        ),
    )


def _sign_offs(sop, first, after):
    """How many sign-offs each role gave on the joint steps of `sop` in the period: every
    required performer counts, not only the one who closed the round."""
    rows = (
        StepSignOff.objects.filter(
            step_run__run__sop=sop, completed_at__gte=first, completed_at__lt=after
        )
        .values("step_run__step__number", "role__name")
        .annotate(count=Count("id"))
        .order_by("step_run__step__number", "role__name")
    )
    return [(row["step_run__step__number"], row["role__name"] or "", row["count"]) for row in rows]


def _finished(sop, first, after):
    return Run.objects.filter(
        sop=sop,
        status=Run.Status.FINISHED,
        finished_at__gte=first,
        finished_at__lt=after,
        lead_office_minutes__isnull=False,
    )


def _lead_times(runs, standard_total):
    lead = "lead_office_minutes"
    bounds = [fraction * standard_total for fraction in LEAD_BUCKETS]
    buckets = {}
    lower = None
    for index, upper in enumerate([*bounds, None]):
        condition = Q()
        if lower is not None:
            condition &= Q(lead_office_minutes__gt=lower)
        if upper is not None:
            condition &= Q(lead_office_minutes__lte=upper)
        buckets[f"bucket_{index}"] = Count("id", filter=condition)
        lower = upper
    row = runs.aggregate(
        count=Count("id"),
        mean=Avg(lead),
        stddev=StdDev(lead),
        minimum=Min(lead),
        p10=Percentile(lead, 0.1),
        p25=Percentile(lead, 0.25),
        median=Percentile(lead, 0.5),
        p75=Percentile(lead, 0.75),
        p90=Percentile(lead, 0.9),
        maximum=Max(lead),
        steps_done=Sum("steps_done"),
        steps_on_time=Sum("steps_on_time"),
        **buckets,
    )
    edges = [None, *LEAD_BUCKETS, None]
    counts = [row.pop(f"bucket_{index}") for index in range(len(LEAD_BUCKETS) + 1)]
    steps_done, steps_on_time = row.pop("steps_done") or 0, row.pop("steps_on_time") or 0
    lead_times = LeadTimes(**row)
    lead_times.buckets = [
        (edges[index], edges[index + 1], count) for index, count in enumerate(counts)
    ]
    return lead_times, steps_done, steps_on_time


def _months(runs):
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    rows = (
        runs.annotate(month=TruncMonth("finished_at", tzinfo=tz))
        .values("month")
        .order_by("month")
        .annotate(
            finished=Count("id"),
            steps_done=Sum("steps_done"),
            steps_on_time=Sum("steps_on_time"),
            lead_median=Percentile("lead_office_minutes", 0.5),
        )
    )
    months = []
    for row in rows:
        month = row["month"]
        months.append(
            Month(
                month=month.date() if hasattr(month, "date") else month,
                finished=row["finished"],
                steps_done=row["steps_done"] or 0,
                steps_on_time=row["steps_on_time"] or 0,
                lead_median=row["lead_median"],
            )
        )
    return months


def for_sop(sop, period, steps=None):
    """The statistics of `sop` (its steps loaded or given) over `period`: six queries, and a
    seventh when its steps declare data fields that add up."""
    steps = list(sop.steps.all()) if steps is None else steps
    first, after = period.bounds
    figures = _round_figures(steps, first, after)
    stats = []
    for step in steps:
        row = figures.get(step.pk)
        stat = StepStat(step=step)
        if row:
            for name, value in row.items():
                setattr(stat, name, value if value is not None else getattr(stat, name))
        stats.append(stat)
    # A parallel group counts by its longest branch (the critical path).
    standard_total = sum(step.standard_minutes for step in critical_path(steps))
    runs = _finished(sop, first, after)
    lead, steps_done, steps_on_time = _lead_times(runs, standard_total)
    return SopStatistics(
        sop=sop,
        period=period,
        standard_total=standard_total,
        steps=stats,
        lead=lead,
        months=_months(runs),
        steps_done=steps_done,
        steps_on_time=steps_on_time,
        day_minutes=sop.unit.calendar.day_minutes,
        data=step_data.totals(steps, first, after),
        sign_offs=_sign_offs(sop, first, after),
        **_counts(sop, first, after),
    )
