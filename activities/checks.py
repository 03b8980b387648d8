"""System checks of sopflow's settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from activities.documents import verification


@register(Tags.security, deploy=True)
def site_url_check(app_configs, **kwargs):
    """SITE_URL goes into every QR code and mail: with DEBUG off it must be public https."""
    problem = verification.site_url_problem(settings.SITE_URL, debug=settings.DEBUG)
    if not problem:
        return []
    return [
        Error(
            problem,
            hint="Set SITE_URL to the https address people open, e.g. https://sopflow.kota.go.id",
            id="sopflow.E001",
        )
    ]
