"""When the deadline sweep next has something to send for an active round (StepRun.next_alert_at),
indexed so that the sweep reads only the rounds whose time has come.

The active rounds of running runs get a first value here, in batches, without the calendar: a
moment no later than the true one (wall-clock time passes at least as fast as office time), so
nothing is sent late. The first sweep that meets a round too early finds nothing to send and
sets its exact moment in office time; a round escalated to the top of its chain gets none.
"""

import datetime

from django.conf import settings
from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    StepRun = apps.get_model("activities", "StepRun")
    share = settings.SOPFLOW_REMINDER_PERCENT / 100
    margin = datetime.timedelta(minutes=max(settings.SOPFLOW_ESCALATION_MINUTES, 0))
    active = (
        StepRun.objects.filter(
            state="active",
            run__status="running",
            activated_at__isnull=False,
            due_at__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", "activated_at", "due_at", "alert_stage", "step__standard_minutes")
    )
    last = 0
    while True:
        rows = list(active.filter(pk__gt=last)[:BATCH])
        if not rows:
            return
        changed = []
        for pk, activated_at, due_at, stage, standard in rows:
            if stage == 0:
                moment = min(
                    due_at,
                    activated_at + (due_at - activated_at) * share,
                    activated_at + datetime.timedelta(minutes=standard * share),
                )
            elif stage == 1:
                moment = due_at
            else:
                moment = due_at + margin * (stage - 1)
            changed.append(StepRun(pk=pk, next_alert_at=moment))
        StepRun.objects.bulk_update(changed, ["next_alert_at"])
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0036_client_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="next_alert_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="steprun",
            index=models.Index(
                condition=models.Q(("next_alert_at__isnull", False)),
                fields=["next_alert_at"],
                name="steprun_next_alert",
            ),
        ),
    ]
