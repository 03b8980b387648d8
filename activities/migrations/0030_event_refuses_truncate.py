"""On PostgreSQL the database also refuses TRUNCATE of the event log.

The row trigger of 0012 sees UPDATE and DELETE only; TRUNCATE empties a table without touching
a row, so it needs a statement-level trigger of its own. Against an owner who disables the
triggers the defence is the role: the app connects as a role that does not own its tables
(deploy/postgres-roles.sql), and only the owner, who runs the migrations, can disable them.
"""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS activities_event_no_truncate ON activities_event;
CREATE TRIGGER activities_event_no_truncate
    BEFORE TRUNCATE ON activities_event
    FOR EACH STATEMENT EXECUTE FUNCTION activities_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS activities_event_no_truncate ON activities_event;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0029_task_paths_follow_the_wings"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
