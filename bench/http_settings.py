"""Settings of bench/scale_http.py: the project's, plus the trivial view it pairs pages with."""

from sopflow.settings import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
