"""Tasks queued before the app was cut into wings name their old module (`activities.tasks.…`);
each now lives beside its service. Queued and retrying tasks are pointed at the new paths so an
upgrade with a full queue loses none of them; finished results keep their history as it was."""

from django.db import migrations

MOVED = {
    "activities.tasks.deliver": "activities.notifications.channels.deliver",
    "activities.tasks.announce_activation": "activities.notifications.announcements.announce_activation",
    "activities.tasks.announce_finished": "activities.notifications.announcements.announce_finished",
    "activities.tasks.make_rendition": "activities.core.uploads.make_rendition",
    "activities.tasks.clean_orphan_files": "activities.core.uploads.clean_orphan_files",
    "activities.tasks.archive_laporan": "activities.documents.laporan.archive_laporan",
    "activities.tasks.prepare_period_report": "activities.documents.period_reports.prepare_period_report",
    "activities.tasks.expire_period_reports": "activities.documents.period_reports.expire_period_reports",
    "activities.tasks.sweep_deadlines": "activities.time.deadlines.sweep_deadlines",
    "activities.tasks.remind_semester_end": "activities.monitoring.tabel7.remind_semester_end",
}


def forward(apps, schema_editor):
    results = apps.get_model("django_tasks_database", "DBTaskResult").objects
    for old, new in MOVED.items():
        results.filter(task_path=old).exclude(status__in=("SUCCESSFUL", "FAILED")).update(
            task_path=new
        )


def backward(apps, schema_editor):
    results = apps.get_model("django_tasks_database", "DBTaskResult").objects
    for old, new in MOVED.items():
        results.filter(task_path=new).exclude(status__in=("SUCCESSFUL", "FAILED")).update(
            task_path=old
        )


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0028_step_action"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forward, backward)]
