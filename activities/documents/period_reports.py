"""Period reports too large for the request, prepared by the worker for the user who asked.

A request above `archive.ARCHIVE_REPORT_INLINE_MAX_RUNS` finished runs creates a `PeriodReport`
and queues `tasks.prepare_period_report` after the commit; the user waits on the report's status
page. Asking again for the same period while the report is queued, being prepared or ready gets
the same row (a unique constraint guards a double click and two racing requests). The task
claims the row with a conditional UPDATE, renders with the same code as the in-request report,
and writes its result only while its claim holds, so a retry or a second worker never writes
twice. Ready files are deleted after SOPFLOW_PERIOD_REPORT_KEEP_HOURS by the scheduler.
"""

import datetime
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from activities.background.tasks import enqueue_on_commit, retried
from activities.documents import archive
from activities.models import PeriodReport

logger = logging.getLogger(__name__)

Status = PeriodReport.Status


def keep_for():
    return datetime.timedelta(hours=settings.SOPFLOW_PERIOD_REPORT_KEEP_HOURS)


def _stale_after():
    return datetime.timedelta(seconds=settings.SOPFLOW_TASK_STALE_SECONDS)


def unit_key(units):
    return ",".join(str(pk) for pk in sorted({unit.pk for unit in units}))


def _parameters(user, units, date_from, date_to, sop):
    return {
        "requested_by": user,
        "unit_ids": unit_key(units),
        "sop": sop,
        "date_from": date_from,
        "date_to": date_to,
    }


def _live(parameters, now):
    """The live report for these parameters, or None; a ready one past its time is expired
    on the way, so that the constraint lets a new one in."""
    report = PeriodReport.objects.filter(**parameters, status__in=PeriodReport.LIVE).first()
    if report is not None and report.is_expired(now):
        expire(report)
        return None
    return report


def request_report(user, units, date_from, date_to, *, sop=None, total=0, now=None):
    """(report, created): the user's live report for the period, or a new one whose task is
    queued once the transaction commits."""
    now = now or timezone.now()
    parameters = _parameters(user, units, date_from, date_to, sop)
    report = _live(parameters, now)
    if report is not None:
        if report.status == Status.QUEUED and report.created_at < now - _stale_after():
            # Its task should have started long ago: it was lost, so queue it again (the
            # claim makes a second copy of the task harmless).
            enqueue_on_commit(prepare_period_report, report.pk)
        return report, False
    try:
        with transaction.atomic():
            report = PeriodReport.objects.create(**parameters, total=total, created_at=now)
            report.units.set(units)
            enqueue_on_commit(prepare_period_report, report.pk)
    except IntegrityError:
        # Another request for the same period committed first: that one is the report.
        return PeriodReport.objects.get(**parameters, status__in=PeriodReport.LIVE), False
    return report, True


def _claim(report_id, now):
    """Take the report for this worker: queued, or running under a worker that stopped long
    ago (SOPFLOW_TASK_STALE_SECONDS, when the scheduler queues its task again)."""
    stale = now - _stale_after()
    return (
        PeriodReport.objects.filter(pk=report_id)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, started_at__lt=stale))
        .update(status=Status.RUNNING, started_at=now, done=0, attempts=F("attempts") + 1)
    )


def prepare(report_id):
    """Render and store report `report_id` if it is still to be made; returns the file name,
    or None when there was nothing to do (made already, or another worker has it)."""
    claimed_at = timezone.now()
    if not _claim(report_id, claimed_at):
        return None
    mine = PeriodReport.objects.filter(pk=report_id, status=Status.RUNNING, started_at=claimed_at)
    report = PeriodReport.objects.select_related("sop").get(pk=report_id)

    def progress(done, total):
        mine.update(done=done, total=total)

    try:
        data = archive.render_archive_report(
            list(report.units.all()),
            report.date_from,
            report.date_to,
            sop=report.sop,
            progress=progress,
        )
    except Exception as error:
        # Back in the queue for the retry, which claims it again.
        mine.update(status=Status.QUEUED, error=_describe(error))
        raise
    name = (
        f"laporan-arsip-{report.pk}-{report.date_from.isoformat()}-{report.date_to.isoformat()}.pdf"
    )
    report.file.save(name, ContentFile(data), save=False)
    finished = timezone.now()
    written = mine.update(
        status=Status.READY,
        file=report.file.name,
        finished_at=finished,
        expires_at=finished + keep_for(),
        error="",
    )
    if not written:
        # The claim went to another worker meanwhile; its file is the report.
        default_storage.delete(report.file.name)
        return None
    logger.info("Period report %s ready: %s (%d bytes)", report_id, report.file.name, len(data))
    return report.file.name


def _describe(error):
    return f"{type(error).__name__}: {error}"[:2000]


def mark_failed(report_id, error):
    """After the task's last attempt: the report is failed, and says so on its page."""
    PeriodReport.objects.filter(pk=report_id, status__in=(Status.QUEUED, Status.RUNNING)).update(
        status=Status.FAILED, finished_at=timezone.now(), error=_describe(error)
    )


def expire(report):
    """Mark a ready report expired and delete its file; safe to call twice."""
    PeriodReport.objects.filter(pk=report.pk, status=Status.READY).update(status=Status.EXPIRED)
    report.status = Status.EXPIRED
    if report.file:
        try:
            default_storage.delete(report.file.name)
        except OSError:
            # The file stays named on the row, so the next run of the job tries again.
            logger.exception("Could not delete the expired period report %s", report.file.name)
            return
        PeriodReport.objects.filter(pk=report.pk).update(file="")
        report.file = ""


def expire_due(now=None):
    """Expire every ready report past its time (and finish any deletion that failed before);
    returns how many reports were expired."""
    now = now or timezone.now()
    due = PeriodReport.objects.filter(
        Q(status=Status.READY, expires_at__lte=now) | Q(status=Status.EXPIRED) & ~Q(file="")
    )
    count = 0
    for report in due.iterator():
        expire(report)
        count += 1
    return count


def _period_report_failed(report_id, *, error):
    mark_failed(report_id, error)


@task()
@retried(on_give_up=_period_report_failed)
def prepare_period_report(report_id):
    """Render and store one period report that was too large for the request, once."""
    return prepare(report_id)


@task()
def expire_period_reports():
    """Delete the files of period reports kept longer than SOPFLOW_PERIOD_REPORT_KEEP_HOURS."""
    return expire_due()
