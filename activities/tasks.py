"""Background work, on Django's tasks API (django-tasks; django-tasks-db keeps the queue in the
database and `manage.py db_worker` runs it).

Every task is idempotent, keyed by what it produces (the archived laporan of a run, the
delivery of one notification on one channel): a retry, a second worker or a task queued again
after its worker died never writes twice. Tasks are queued with `enqueue_on_commit`, so they
see the committed change that asked for them, and nothing is queued for a change that rolled
back. A task that fails is logged and retried after RETRY_DELAYS; after the last retry it stays
failed, listed in the admin (Django Tasks › results) with its traceback.
"""

import datetime
import functools
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

logger = logging.getLogger(__name__)

# Seconds before the 2nd, 3rd and 4th attempt; then the task stays failed.
RETRY_DELAYS = (30, 120, 600)


def enqueue_on_commit(task_, *args, **kwargs):
    """Queue `task_` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(functools.partial(task_.enqueue, *args, **kwargs), robust=True)


def retried(function=None, *, on_give_up=None):
    """Retry `function` (a task body) with growing delays, a bounded number of times.

    Each attempt is its own task result, so the admin shows every failure; the attempt number
    travels as the `attempt` keyword argument. `on_give_up(*args, error=…)`, if given, runs
    once the last attempt has failed (to mark what the task was making as failed).
    """
    if function is None:
        return functools.partial(retried, on_give_up=on_give_up)
    path = f"{function.__module__}.{function.__name__}"

    @functools.wraps(function)
    def attempt_once(*args, attempt=1, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if attempt > len(RETRY_DELAYS):
                logger.exception("Task %s%r failed for good after %d attempts", path, args, attempt)
                if on_give_up is not None:
                    on_give_up(*args, error=error, **kwargs)
                raise
            delay = RETRY_DELAYS[attempt - 1]
            logger.exception(
                "Task %s%r failed (attempt %d); retrying in %d s", path, args, attempt, delay
            )
            retry = import_string(path)
            if retry.get_backend().supports_defer:
                retry = retry.using(run_after=timezone.now() + datetime.timedelta(seconds=delay))
            retry.enqueue(*args, attempt=attempt + 1, **kwargs)
            raise

    return attempt_once


@task()
@retried
def deliver(delivery_id):
    """Send one notification through one outside channel (e-mail, webhook), once."""
    from activities import notifications

    return notifications.deliver(delivery_id)


@task()
@retried
def announce_activation(step_run_id, actor_id=None, returned=False):
    """Tell the holders of a step that has become active, once (in-app, then the channels)."""
    from activities import notifications

    return notifications.announce_activation(step_run_id, actor_id=actor_id, returned=returned)


@task()
@retried
def announce_finished(run_id, actor_id=None):
    """Tell whoever opened a run that it is finished, once."""
    from activities import notifications

    return notifications.announce_finished(run_id, actor_id=actor_id)


@task()
@retried
def make_rendition(attachment_id):
    """Make the small JPEG of one uploaded photo, once (activities.uploads.make_rendition)."""
    from activities import uploads

    return uploads.make_rendition(attachment_id)


@task()
@retried
def archive_laporan(run_id):
    """Render and store the final laporan of a finished run, once; tell its keepers."""
    from activities import notifications, reports
    from activities.models import ArchivedReport, Run

    run = Run.objects.select_related("unit", "sop").get(pk=run_id)
    if run.status != Run.Status.FINISHED:
        return None
    if ArchivedReport.objects.filter(run_id=run_id).exists():
        report = run.archived_report
    else:
        report = reports.ensure_archived(run_id)
    with transaction.atomic():
        notifications.laporan_archived(run, report)
    return report.sha256


def _period_report_failed(report_id, *, error):
    from activities import period_reports

    period_reports.mark_failed(report_id, error)


@task()
@retried(on_give_up=_period_report_failed)
def prepare_period_report(report_id):
    """Render and store one period report that was too large for the request, once."""
    from activities import period_reports

    return period_reports.prepare(report_id)


@task()
def expire_period_reports():
    """Delete the files of period reports kept longer than SOPFLOW_PERIOD_REPORT_KEEP_HOURS."""
    from activities import period_reports

    return period_reports.expire_due()


@task()
def sweep_deadlines():
    """Reminders, escalations and the morning digest (activities.deadlines.sweep)."""
    from activities import deadlines

    return deadlines.sweep().as_dict()


@task()
def remind_semester_end():
    """After a semester ends, remind each unit's monitors once to write its Tabel 7."""
    from activities import monitoring

    return monitoring.remind_semester_end()


@task()
def clean_orphan_files():
    """Remove stored files no row refers to, once a day old (manage.py clean_orphan_files)."""
    from django.core.management import call_command

    call_command("clean_orphan_files")
