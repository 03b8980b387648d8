"""Emails to the people who must act next. Called after the transaction that made the change
commits, so nobody is told about a step that was rolled back."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.utils import translation

from activities.models import StepRun

logger = logging.getLogger(__name__)


def step_activated(step_run_id, exclude_user_id=None):
    """Mail the holders of the activated step's roles; the person who caused the activation
    (`exclude_user_id`) already knows and is left out."""
    step_run = StepRun.objects.select_related("run__sop", "step").get(pk=step_run_id)
    if step_run.state != StepRun.State.ACTIVE or not step_run.run.is_running:
        return  # already acted on (or the run closed) before this mail went out
    recipients = (
        get_user_model()
        .objects.filter(sop_roles__steps=step_run.step_id, is_active=True)
        .exclude(email="")
        .exclude(pk=exclude_user_id)
        .distinct()
        .order_by("pk")
    )
    with translation.override(settings.LANGUAGE_CODE):
        context = {"step_run": step_run, "site_url": settings.SITE_URL.rstrip("/")}
        subject = render_to_string("emails/step_activated_subject.txt", context).strip()
        body = render_to_string("emails/step_activated.txt", context)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]) for user in recipients]
    if messages:
        # A mail server that is down must not undo a committed step: log and carry on.
        try:
            send_mass_mail(messages, fail_silently=False)
        except OSError:
            logger.exception("Could not send notifications for step run %s", step_run_id)
