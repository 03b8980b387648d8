import django.db.models.deletion
from django.db import migrations, models


def copy_register(apps, schema_editor):
    """Every number the archive gave so far becomes a row of the register, bound to its run."""
    ArchivedReport = apps.get_model("activities", "ArchivedReport")
    NaskahNumber = apps.get_model("activities", "NaskahNumber")
    rows = ArchivedReport.objects.filter(register_number__isnull=False).values_list(
        "run_id", "register_unit_id", "register_year", "register_number", "archived_at"
    )
    NaskahNumber.objects.bulk_create(
        [
            NaskahNumber(run_id=run, unit_id=unit, year=year, number=number, taken_at=at)
            for run, unit, year, number, at in rows.iterator(chunk_size=2000)
        ],
        batch_size=2000,
    )


def copy_back(apps, schema_editor):
    ArchivedReport = apps.get_model("activities", "ArchivedReport")
    NaskahNumber = apps.get_model("activities", "NaskahNumber")
    for entry in NaskahNumber.objects.iterator(chunk_size=2000):
        ArchivedReport.objects.filter(run_id=entry.run_id).update(
            register_unit_id=entry.unit_id,
            register_year=entry.year,
            register_number=entry.number,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0039_joint_and_parallel_steps"),
    ]

    operations = [
        migrations.CreateModel(
            name="NaskahNumber",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField(verbose_name="tahun")),
                ("number", models.PositiveIntegerField(verbose_name="nomor urut")),
                ("taken_at", models.DateTimeField(verbose_name="diambil")),
                (
                    "run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="naskah_number",
                        to="activities.run",
                        verbose_name="kegiatan",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="activities.unit",
                        verbose_name="unit kerja",
                    ),
                ),
            ],
            options={
                "verbose_name": "nomor naskah",
                "verbose_name_plural": "nomor naskah",
                "ordering": ["unit", "year", "number"],
            },
        ),
        migrations.RunPython(copy_register, copy_back),
        migrations.RemoveConstraint(
            model_name="archivedreport",
            name="one_naskah_number",
        ),
        migrations.RemoveField(
            model_name="archivedreport",
            name="register_number",
        ),
        migrations.RemoveField(
            model_name="archivedreport",
            name="register_unit",
        ),
        migrations.RemoveField(
            model_name="archivedreport",
            name="register_year",
        ),
        migrations.AddConstraint(
            model_name="naskahnumber",
            constraint=models.UniqueConstraint(
                fields=("unit", "year", "number"), name="one_naskah_number"
            ),
        ),
        migrations.AddField(
            model_name="signedlaporan",
            name="klasifikasi",
            field=models.CharField(blank=True, max_length=30, verbose_name="kode klasifikasi"),
        ),
        migrations.AddField(
            model_name="signedlaporan",
            name="nomor",
            field=models.CharField(blank=True, max_length=120, verbose_name="nomor naskah"),
        ),
    ]
