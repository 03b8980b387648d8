"""The hash chain over each run's events: seq, prev_hash and hash on Event, event_head on Run.

Existing events are chained in their insertion (id) order: each run's, and the events without a
run (SOP status, acting appointments) as one chain of their own. On PostgreSQL the events table may
carry a trigger that refuses UPDATE; it is switched off for this back-fill only.
"""

from django.db import migrations, models

from activities.core import chain


def backfill(apps, schema_editor):
    Event = apps.get_model("activities", "Event")
    Run = apps.get_model("activities", "Run")
    table = Event._meta.db_table
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    events = Event._base_manager
    run_ids = events.values_list("run_id", flat=True).distinct().order_by("run_id")
    for run_id in run_ids.iterator():
        previous = chain.GENESIS
        for seq, event in enumerate(events.filter(run_id=run_id).order_by("pk"), 1):
            event.seq, event.prev_hash = seq, previous
            event.hash = chain.event_hash(event)
            events.filter(pk=event.pk).update(
                seq=event.seq, prev_hash=event.prev_hash, hash=event.hash
            )
            previous = event.hash
        if run_id is not None:
            Run._base_manager.filter(pk=run_id).update(event_count=seq, event_head=previous)
    if postgres:
        # Run pending constraint checks now: ALTER TABLE refuses a table with pending events.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0015_sop_role_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="event_count",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="jumlah catatan"
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="event_head",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                max_length=64,
                verbose_name="hash catatan terakhir",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="seq",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="urutan"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="event",
            name="prev_hash",
            field=models.CharField(
                blank=True, editable=False, max_length=64, verbose_name="hash sebelumnya"
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="hash",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="hash"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
    ]
