"""Log filters the logging configuration (settings.LOGGING) loads before the apps are ready,
so this module imports none of them."""

import logging

# Answers the app gives on purpose: a page of another unit (403) or a run that is not yours to
# see (404). They are worth a line, not a traceback or a mail to the administrators.
EXPECTED_REFUSALS = {403, 404}


class QuietRefusalFilter(logging.Filter):
    """Turns django.request's record of an expected 403/404 into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in EXPECTED_REFUSALS:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True
