"""Runs with known times, written straight into the tables (fast enough for thousands of runs).

`add_runs(sop, plans)` takes one plan per run: the moment it was opened and its rounds in the
order they happened, each (step number, waiting minutes, handling minutes, returned). Times
follow one another without gaps, so a plan that stays inside one morning's office hours has
office minutes equal to wall minutes, and every figure of the statistics is known in advance.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from activities.models import Run, StepRun, StepSignOff
from activities.time import timing

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
FIGURES = [
    "standard_office_minutes",
    "handling_office_minutes",
    "waiting_office_minutes",
    "lead_office_minutes",
    "steps_done",
    "steps_on_time",
]


def wib(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WIB)


@dataclass
class Plan:
    opened_at: datetime.datetime
    rounds: list
    status: str = Run.Status.FINISHED
    title: str = "Kegiatan uji"
    extra: dict = field(default_factory=dict)


def straight(sop, opened_at, handling, waits=None, **kwargs):
    """A run through every step once: handling[i] minutes for step i+1, waits[i] before it."""
    waits = waits or [0] * len(handling)
    rounds = [(n, w, h, False) for n, (w, h) in enumerate(zip(waits, handling, strict=True), 1)]
    return Plan(opened_at, rounds, **kwargs)


def _set(instance, values):
    for name, value in values.items():
        setattr(instance, name, value)


def _holders(sop):
    holders = {}
    for step in sop.steps.prefetch_related("roles__members"):
        role = sorted(step.roles.all(), key=lambda r: (r.position, r.name))[0]
        member = sorted(role.members.all(), key=lambda u: u.pk)[0]
        holders[step.number] = (step, role, member)
    return holders


def add_runs(sop, plans):
    """Create the runs of `plans` with their step rounds and the figures the workflow stores
    when a round or a run closes; returns the runs in plan order."""
    holders = _holders(sop)
    calendar = sop.unit.calendar
    opener = holders[1][2]
    runs = Run.objects.bulk_create(
        [
            Run(
                sop=sop,
                unit=sop.unit,
                title=plan.title,
                scheduled_on=plan.opened_at.date(),
                place="Aula",
                opened_by=opener,
                opened_at=plan.opened_at,
                status=plan.status,
                **plan.extra,
            )
            for plan in plans
        ]
    )
    step_runs = []
    for run, plan in zip(runs, plans, strict=True):
        moment = plan.opened_at
        seen = {}
        for number, wait, handling, returned in plan.rounds:
            step, role, member = holders[number]
            seen[number] = seen.get(number, 0) + 1
            started = moment + datetime.timedelta(minutes=wait)
            completed = None if handling is None else started + datetime.timedelta(minutes=handling)
            if completed is None:
                state = StepRun.State.ACTIVE
            else:
                state = StepRun.State.RETURNED if returned else StepRun.State.DONE
            step_runs.append(
                StepRun(
                    run=run,
                    step=step,
                    round=seen[number],
                    state=state,
                    activated_at=moment,
                    started_at=started,
                    completed_at=completed,
                    entered_at=completed,
                    completed_by=member if completed else None,
                    completed_as=role if completed else None,
                    decision=(StepRun.Decision.RETURNED if returned else "")
                    if step.is_approval
                    else "",
                )
            )
            if completed is not None:
                _set(step_runs[-1], timing.round_figures(calendar, moment, started, completed))
            moment = completed or moment
        if plan.status == Run.Status.FINISHED:
            run.finished_at = moment
        elif plan.status == Run.Status.CANCELLED:
            run.cancelled_at = moment
            run.cancel_reason = "Dibatalkan"
            for step_run in step_runs:
                if step_run.run is run and step_run.completed_at is None:
                    _set(
                        step_run,
                        timing.round_figures(calendar, step_run.activated_at, None, moment),
                    )
        if plan.status != Run.Status.RUNNING:
            own = [step_run for step_run in step_runs if step_run.run is run]
            _set(run, timing.run_figures(timing.run_timing(run, own, calendar)))
    StepRun.objects.bulk_create(step_runs)
    # A joint step's done round carries a sign-off of a holder of each of its roles, with the
    # round's times, as the workflow writes them.
    sign_offs = []
    for step_run in step_runs:
        step = step_run.step
        if step_run.state != StepRun.State.DONE or not step.is_joint:
            continue
        for role in sorted(step.roles.all(), key=lambda r: (r.position, r.name)):
            sign_offs.append(
                StepSignOff(
                    step_run=step_run,
                    user=sorted(role.members.all(), key=lambda u: u.pk)[0],
                    role=role,
                    started_at=step_run.started_at,
                    completed_at=step_run.completed_at,
                    entered_at=step_run.completed_at,
                    handling_office_minutes=step_run.handling_office_minutes,
                )
            )
    StepSignOff.objects.bulk_create(sign_offs)
    Run.objects.bulk_update(runs, ["finished_at", "cancelled_at", "cancel_reason", *FIGURES])
    return runs
