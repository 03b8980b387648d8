"""Django's `flush`, which empties every table with TRUNCATE, past the event log's TRUNCATE guard.

Emptying the whole database is an owner's act like a lawful purge (docs/DESIGN.md, "Event
log"), and done the same way: the guard is off only inside the flush's own transaction. The
app's role owns no table, so it cannot flush at all; the test runner, which owns the test
database, empties it this way between transactional tests.
"""

from django.core.management.commands import flush
from django.db import connections, transaction

GUARD = "activities_event_no_truncate"


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal", [GUARD]
            )
            guarded = cursor.fetchone() is not None
            if guarded:
                cursor.execute(f"ALTER TABLE activities_event DISABLE TRIGGER {GUARD}")
            super().handle(**options)
            if guarded:
                cursor.execute(f"ALTER TABLE activities_event ENABLE TRIGGER {GUARD}")
