from django.db import migrations, models


def heads_approve_sops(apps, schema_editor):
    """The unit's head approved its SOPs until now: existing head roles keep doing so."""
    Role = apps.get_model("activities", "Role")
    Role.objects.filter(kind="head").update(approves_sops=True)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0021_history_of_letterhead_and_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalrole",
            name="approves_sops",
            field=models.BooleanField(
                default=False,
                help_text="Mengesahkan SOP unit yang diajukan (atau mengembalikannya dengan catatan).",
                verbose_name="mengesahkan SOP",
            ),
        ),
        migrations.AddField(
            model_name="role",
            name="approves_sops",
            field=models.BooleanField(
                default=False,
                help_text="Mengesahkan SOP unit yang diajukan (atau mengembalikannya dengan catatan).",
                verbose_name="mengesahkan SOP",
            ),
        ),
        migrations.RunPython(heads_approve_sops, migrations.RunPython.noop),
    ]
