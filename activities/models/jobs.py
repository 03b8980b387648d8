"""The periodic jobs the scheduler keeps."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicJob(models.Model):
    """When a periodic job of the scheduler (activities/background/schedule.py) is next due.

    Schedulers claim a slot with a conditional UPDATE on `next_run_at`, so two of them running
    by mistake still enqueue each job once per interval.
    """

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tugas berkala")
        verbose_name_plural = _("tugas berkala")

    def __str__(self):
        return self.name


# Monitoring and evaluation (Permenpan RB 35/2012) -----------------------------------------------
