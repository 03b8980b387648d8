from django.db import migrations

from activities.time import durations
from activities.time.calendar import DEFAULT_WEEK, week_minutes

# Until now a step's "N hari" was stored with the day its unit had when the step was last
# saved: set every step's minutes from the working day of its unit's regular week as it is.


def follow_unit_days(apps, schema_editor):
    Step = apps.get_model("activities", "Step")
    UnitWorkingHours = apps.get_model("activities", "UnitWorkingHours")
    weeks = {}
    rows = UnitWorkingHours.objects.filter(week="regular").values_list(
        "unit_id", "weekday", "start", "end"
    )
    for unit_id, weekday, start, end in rows:
        weeks.setdefault(unit_id, {}).setdefault(weekday, []).append((start, end))
    default_day = week_minutes(DEFAULT_WEEK)
    changed = []
    steps = Step.objects.select_related("sop").only("pk", "standard_text", "standard_minutes", "sop__unit")
    for step in steps.order_by("pk").iterator(chunk_size=2000):
        week = weeks.get(step.sop.unit_id)
        day = week_minutes(week) if week else default_day
        minutes = durations.parse(step.standard_text).minutes(day)
        if minutes != step.standard_minutes:
            step.standard_minutes = minutes
            changed.append(step)
    Step.objects.bulk_update(changed, ["standard_minutes"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0026_unit_calendar_version"),
    ]

    operations = [
        migrations.RunPython(follow_unit_days, migrations.RunPython.noop),
    ]
