from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0016_event_chain"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("run", "seq"), name="unique_event_seq"),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=models.Q(("run__isnull", True)),
                fields=("seq",),
                name="unique_runless_event_seq",
            ),
        ),
    ]
