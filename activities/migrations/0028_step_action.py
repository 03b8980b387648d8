from django.db import migrations, models


def decisions_approve(apps, schema_editor):
    # Until now a decision symbol was what made a step an approval; every step, and its
    # recorded history, keeps doing what it did.
    for name in ("Step", "HistoricalStep"):
        model = apps.get_model("activities", name)
        model.objects.filter(kind="decision").update(action="approval")


def approvals_back(apps, schema_editor):
    for name in ("Step", "HistoricalStep"):
        apps.get_model("activities", name).objects.update(action="work")


ACTION = models.CharField(
    choices=[("work", "Pekerjaan"), ("approval", "Persetujuan")],
    default="work",
    max_length=10,
    verbose_name="tindakan",
)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0027_steps_follow_unit_day"),
    ]

    operations = [
        migrations.AddField(model_name="historicalstep", name="action", field=ACTION.clone()),
        migrations.AddField(model_name="step", name="action", field=ACTION.clone()),
        migrations.RunPython(decisions_approve, approvals_back),
    ]
