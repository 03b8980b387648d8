"""Two changes.

The event log's hash scheme per row: the rows written so far stay plain SHA-256 (0), every
row written from now on is keyed (HMAC-SHA256, 1). Adding a column with a default rewrites no
row through UPDATE, so the append-only trigger lets it through.

A role an imported draft only proposes (`Role.proposed`), made a role of the unit when the
draft is approved."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0031_shared_cache_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=[(0, "SHA-256"), (1, "HMAC-SHA256")],
                default=0,
                editable=False,
                verbose_name="skema hash",
            ),
        ),
        migrations.AlterField(
            model_name="event",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=[(0, "SHA-256"), (1, "HMAC-SHA256")],
                default=1,
                editable=False,
                verbose_name="skema hash",
            ),
        ),
        migrations.AddField(
            model_name="historicalrole",
            name="proposed",
            field=models.BooleanField(
                default=False,
                help_text="Diusulkan oleh draf SOP hasil impor; menjadi jabatan unit saat draf itu disahkan.",
                verbose_name="usulan draf",
            ),
        ),
        migrations.AddField(
            model_name="role",
            name="proposed",
            field=models.BooleanField(
                default=False,
                help_text="Diusulkan oleh draf SOP hasil impor; menjadi jabatan unit saat draf itu disahkan.",
                verbose_name="usulan draf",
            ),
        ),
    ]
