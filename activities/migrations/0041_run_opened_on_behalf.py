from django.db import migrations, models


def copy_from_events(apps, schema_editor):
    """Runs a superuser opened on behalf of step 1's role, as their opening events say."""
    Run = apps.get_model("activities", "Run")
    Event = apps.get_model("activities", "Event")
    on_behalf = Event.objects.filter(kind="opened", on_behalf=True).values("run_id")
    Run.objects.filter(pk__in=on_behalf).update(opened_on_behalf=True)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0040_naskah_number_per_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="opened_on_behalf",
            field=models.BooleanField(
                default=False, editable=False, verbose_name="dibuka atas nama"
            ),
        ),
        migrations.RunPython(copy_from_events, migrations.RunPython.noop, elidable=True),
    ]
