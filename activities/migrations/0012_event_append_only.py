"""On PostgreSQL the database itself refuses UPDATE and DELETE on the event log.

The model already refuses `save()` on an existing row and `delete()`; this trigger also stops
queryset `update()`/`delete()` and plain SQL. A lawful purge is an operator's act, done in one
transaction (docs/DESIGN.md, "Event log"):

    BEGIN;
    SET CONSTRAINTS ALL IMMEDIATE;
    ALTER TABLE activities_event DISABLE TRIGGER activities_event_append_only;
    DELETE FROM activities_event WHERE ...;
    ALTER TABLE activities_event ENABLE TRIGGER activities_event_append_only;
    COMMIT;
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION activities_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'activities_event is append-only: % refused', TG_OP
        USING HINT = 'A lawful purge disables trigger activities_event_append_only first.';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS activities_event_append_only ON activities_event;
CREATE TRIGGER activities_event_append_only
    BEFORE UPDATE OR DELETE ON activities_event
    FOR EACH ROW EXECUTE FUNCTION activities_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS activities_event_append_only ON activities_event;
DROP FUNCTION IF EXISTS activities_event_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0011_notification_kind_monitoring"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
