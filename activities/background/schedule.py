"""The scheduler's periodic jobs, and the repair of tasks whose worker died.

`manage.py run_scheduler` (one per installation; two do no harm) wakes every few seconds, queues
each job of `JOBS` whose time has come, and puts tasks that have been running for longer than
SOPFLOW_TASK_STALE_SECONDS back in the queue. Adding a periodic job is one line in `JOBS`: a
name, a task of `activities.background.tasks` (idempotent, like all of them) and an interval.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus as Status
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from activities.models import PeriodicJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of a task in activities.background.tasks
    every: datetime.timedelta

    def get_task(self) -> Task:
        return import_string(self.task)


JOBS: list[Job] = [
    Job(
        "sweep_deadlines",
        "activities.time.deadlines.sweep_deadlines",
        datetime.timedelta(minutes=settings.SOPFLOW_SWEEP_MINUTES),
    ),
    Job(
        "remind_semester_end",
        "activities.monitoring.tabel7.remind_semester_end",
        datetime.timedelta(hours=6),
    ),
    Job(
        "requeue_deliveries",
        "activities.notifications.channels.requeue_deliveries",
        datetime.timedelta(minutes=5),
    ),
    Job(
        "dispatch_webhooks",
        "activities.core.webhooks.dispatch_webhooks",
        datetime.timedelta(seconds=settings.SOPFLOW_WEBHOOK_DISPATCH_SECONDS),
    ),
    Job(
        "clean_orphan_files",
        "activities.core.uploads.clean_orphan_files",
        datetime.timedelta(days=1),
    ),
    Job(
        "expire_period_reports",
        "activities.documents.period_reports.expire_period_reports",
        datetime.timedelta(hours=1),
    ),
]


def run_due_jobs(now=None):
    """Queue every job whose next run has come; returns the names queued.

    A job is claimed by moving its `next_run_at` forward with a conditional UPDATE, so of two
    schedulers only one queues it. A scheduler that was down does not replay missed slots: the
    job runs once and its next run is one interval from now.
    """
    now = now or timezone.now()
    queued = []
    for job in JOBS:
        try:
            with transaction.atomic():
                PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        except IntegrityError:
            pass  # another scheduler created it at the same moment
        claimed = PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if claimed:
            job.get_task().enqueue()
            queued.append(job.name)
    return queued


def requeue_stale_tasks(now=None):
    """Put tasks back in the queue whose worker was killed mid-task; returns how many.

    The database backend marks a task running when a worker claims it and never hears of it
    again if that worker dies, so such a task would wait for ever. Tasks are idempotent, so
    running one again is safe even if its old worker was merely slow.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS)
    stale = DBTaskResult.objects.filter(status=Status.RUNNING, started_at__lt=cutoff)
    ids = list(stale.values_list("id", flat=True))
    if ids:
        count = DBTaskResult.objects.filter(id__in=ids, status=Status.RUNNING).update(
            status=Status.READY, run_after=now
        )
        logger.warning("Queued %d task(s) again whose worker stopped: %s", count, ids)
        return count
    return 0


def tick(now=None):
    """One round of the scheduler: (jobs queued, stale tasks queued again)."""
    return run_due_jobs(now), requeue_stale_tasks(now)
