"""The floor's reference: the project's settings without sopflow's own middleware (Django's,
whitenoise's, django-htmx's, simple-history's and axes' stay), serving bench/http_urls.py."""

from bench.http_settings import *  # noqa: F403

MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("activities.")]  # noqa: F405
