from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0011_event_chain"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("run", "seq"), name="unique_event_seq"),
        ),
    ]
