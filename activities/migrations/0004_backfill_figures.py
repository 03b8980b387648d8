"""Store the figures of rounds and runs that closed before figures were stored.

Computed under each unit's calendar as it is when this migration runs; from then on the
workflow stores them when a round or run closes.
"""

from django.conf import settings
from django.db import migrations

BATCH = 500


def _calendars(apps):
    from activities.time.calendar import RAMADAN_WEEK, OfficeCalendar

    UnitDayOff = apps.get_model("activities", "UnitDayOff")
    UnitSpecialSchedule = apps.get_model("activities", "UnitSpecialSchedule")
    cache = {}

    def calendar(unit_id):
        if unit_id not in cache:
            days_off = {
                day.date: day.description for day in UnitDayOff.objects.filter(unit_id=unit_id)
            }
            special = [
                (schedule.start_date, schedule.end_date, RAMADAN_WEEK)
                for schedule in UnitSpecialSchedule.objects.filter(unit_id=unit_id)
            ]
            cache[unit_id] = OfficeCalendar(
                tz=settings.TIME_ZONE, days_off=days_off, special_weeks=special
            )
        return cache[unit_id]

    return calendar


def backfill(apps, schema_editor):
    from activities.time import timing

    Run = apps.get_model("activities", "Run")
    StepRun = apps.get_model("activities", "StepRun")
    calendar = _calendars(apps)
    fields = ["waiting_office_minutes", "handling_office_minutes"]

    closed_rounds = StepRun.objects.filter(
        handling_office_minutes__isnull=True,
        started_at__isnull=False,
        completed_at__isnull=False,
    ).select_related("run")
    batch = []
    for step_run in closed_rounds.iterator(chunk_size=BATCH):
        figures = timing.round_figures(
            calendar(step_run.run.unit_id),
            step_run.activated_at,
            step_run.started_at,
            step_run.completed_at,
        )
        for name, value in figures.items():
            setattr(step_run, name, value)
        batch.append(step_run)
        if len(batch) >= BATCH:
            StepRun.objects.bulk_update(batch, fields)
            batch = []
    StepRun.objects.bulk_update(batch, fields)

    closed_runs = Run.objects.exclude(status="running").filter(lead_office_minutes__isnull=True)
    for run in closed_runs.iterator(chunk_size=BATCH):
        unit_calendar = calendar(run.unit_id)
        if run.status == "cancelled":
            for step_run in StepRun.objects.filter(run=run, state="active"):
                StepRun.objects.filter(pk=step_run.pk).update(
                    **timing.round_figures(
                        unit_calendar, step_run.activated_at, None, run.cancelled_at
                    )
                )
        step_runs = list(StepRun.objects.filter(run=run).select_related("step"))
        run_timing = timing.run_timing(run, step_runs, unit_calendar)
        Run.objects.filter(pk=run.pk).update(**timing.run_figures(run_timing))


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0003_stored_figures"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
