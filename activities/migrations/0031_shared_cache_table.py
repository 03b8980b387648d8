"""The table of the shared database cache (settings.CACHES), made here so that every
installation that migrates has it; `createcachetable` skips a table that exists."""

from django.core.management import call_command
from django.db import migrations


def create(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0030_event_refuses_truncate"),
    ]

    operations = [
        migrations.RunPython(create, migrations.RunPython.noop),
    ]
