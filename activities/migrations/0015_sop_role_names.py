from django.db import migrations, models


def freeze_names_of_run_versions(apps, schema_editor):
    """Versions that already have runs keep the pelaksana names they have today."""
    Sop = apps.get_model("activities", "Sop")
    Role = apps.get_model("activities", "Role")
    for sop in Sop.objects.filter(runs__isnull=False).distinct():
        roles = Role.objects.filter(steps__sop=sop).distinct()
        sop.role_names = {str(role.pk): role.name for role in roles}
        sop.save(update_fields=["role_names"])


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0014_history_and_front_door"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalsop",
            name="role_names",
            field=models.JSONField(
                blank=True, default=dict, editable=False, verbose_name="nama jabatan saat dibekukan"
            ),
        ),
        migrations.AddField(
            model_name="sop",
            name="role_names",
            field=models.JSONField(
                blank=True, default=dict, editable=False, verbose_name="nama jabatan saat dibekukan"
            ),
        ),
        migrations.RunPython(freeze_names_of_run_versions, migrations.RunPython.noop),
    ]
