"""What every background task shares, on Django's tasks API (django-tasks; django-tasks-db keeps
the queue in the database and `manage.py db_worker` runs it).

Each task is defined beside the service it runs (`notifications.channels.deliver`,
`documents.laporan.archive_laporan`, `time.deadlines.sweep_deadlines`, …); this module holds only
the queueing and retry helpers they use, and `schedule` lists the periodic jobs.

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
