"""The deadline sweep over 100,000 runs of which 10,000 have an active step: its time and its
query count, first run (alerts to send) and rerun (nothing new), and again with 1,000 active
steps, to show that the work grows with the active steps and not with all runs.

Builds its own throw-away SQLite database and media folder, so it never touches your data:

    PYTHONPATH=. .venv/bin/python bench/sweep.py [--runs 100000] [--active 10000]
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
import zoneinfo

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
# A Tuesday in office hours: the sweep is not silent.
NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=WIB)


def setup_django(folder):
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{folder}/media"
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))


def build(runs, active):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from activities.models import Run, Sop, StepRun, Unit
    from activities.time import deadlines

    sop = Sop.objects.get(unit__short_name="Diskominfo", version=1)
    calendar = Unit.objects.calendars([sop.unit_id])[sop.unit_id]
    steps = {step.number: step for step in sop.steps.all()}
    opener = get_user_model().objects.get(username="subkor")
    opened = NOW - datetime.timedelta(days=30)
    batch = 5000
    for first in range(0, runs, batch):
        count = min(batch, runs - first)
        with transaction.atomic():
            created = Run.objects.bulk_create(
                Run(
                    sop=sop,
                    unit=sop.unit,
                    title=f"Wawaran {first + n}",
                    scheduled_on=opened.date(),
                    place="Keliling",
                    opened_by=opener,
                    opened_at=opened,
                    status=Run.Status.RUNNING if first + n < active else Run.Status.FINISHED,
                    finished_at=None if first + n < active else opened,
                )
                for n in range(count)
            )
            rows = []
            for run in created:
                index = int(run.title.split()[1])
                if index < active:
                    # A tenth overdue by two hours, a tenth past 80 % of the standard, the rest
                    # due later today.
                    kind = index % 10
                    minutes = {0: -120, 1: 1}.get(kind, 240)
                    activated = NOW - datetime.timedelta(minutes=4 if kind == 1 else 60)
                    due_at = NOW + datetime.timedelta(minutes=minutes)
                    rows.append(
                        StepRun(
                            run=run,
                            step=steps[4],
                            state=StepRun.State.ACTIVE,
                            activated_at=activated,
                            due_at=due_at,
                            # As the activation sets it: the sweep reads only the rounds
                            # whose next alert has come.
                            next_alert_at=deadlines.first_alert(calendar, activated, due_at),
                        )
                    )
                else:
                    rows.append(
                        StepRun(
                            run=run,
                            step=steps[1],
                            state=StepRun.State.DONE,
                            activated_at=opened,
                            started_at=opened,
                            completed_at=opened,
                        )
                    )
            StepRun.objects.bulk_create(rows)


def measure(label):
    from django.db import connection

    from activities.time import deadlines

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), time.process_time()
        result = deadlines.sweep(now=NOW)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{label:<34} {seconds:8.2f} s {cpu:6.2f} s CPU {count:8d} queries   "
        f"checked {result.checked}, reminders {result.reminders}, due {result.due}, "
        f"escalations {result.escalations}, digests {result.digests}"
    )
    return seconds, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--active", type=int, default=10_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from activities.models import Run, StepRun

        started = time.perf_counter()
        build(options.runs, options.active)
        print(
            f"{Run.objects.count()} runs, {StepRun.objects.filter(state='active').count()} "
            f"active steps (built in {time.perf_counter() - started:.1f} s)"
        )
        measure(f"sweep, {options.active} active (first)")
        measure(f"sweep, {options.active} active (rerun)")
        # Close all but a tenth of the active runs: same number of runs, fewer active steps.
        keep = options.active // 10
        Run.objects.filter(status="running").exclude(
            title__in=[f"Wawaran {n}" for n in range(keep)]
        ).update(status=Run.Status.CANCELLED, cancelled_at=NOW)
        # As cancelling does: their rounds have no next alert; the others' alerts come again.
        StepRun.objects.filter(run__status=Run.Status.CANCELLED).update(next_alert_at=None)
        StepRun.objects.filter(alert_stage__gt=0, run__status=Run.Status.RUNNING).update(
            alert_stage=0, next_alert_at=NOW
        )
        from activities.models import Notification

        Notification.objects.all().delete()
        measure(f"sweep, {keep} active (first)")
        measure(f"sweep, {keep} active (rerun)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
