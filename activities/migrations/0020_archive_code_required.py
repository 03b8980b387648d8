from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0019_archive_verification"),
    ]

    operations = [
        migrations.AlterField(
            model_name="archivedreport",
            name="code",
            field=models.CharField(max_length=12, unique=True, verbose_name="kode verifikasi"),
        ),
    ]
