from django.core.management.base import BaseCommand

from activities.time import deadlines


class Command(BaseCommand):
    help = (
        "Send the reminders, escalations and morning digests that are due now. Idempotent: a "
        "rerun sends nothing new. The scheduler runs it every SOPFLOW_SWEEP_MINUTES."
    )

    def handle(self, *args, **options):
        result = deadlines.sweep()
        self.stdout.write(
            f"{result.checked} active steps checked ({result.silent} outside office hours): "
            f"{result.reminders} reminders, {result.due} due, {result.escalations} escalations, "
            f"{result.digests} digests"
        )
