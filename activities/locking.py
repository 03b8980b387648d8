"""Row locks with a timeout: a stuck transaction must not hold a run or an SOP for ever.

On PostgreSQL `SET LOCAL lock_timeout` makes a waiting `select_for_update` give up after
SOPFLOW_LOCK_TIMEOUT_MS; the wait becomes a `Stale` error with a message to try again.
SQLite has no row locks (its IMMEDIATE transactions wait up to the connection's timeout).
"""

from django.conf import settings
from django.db import OperationalError, connection
from django.utils.translation import gettext as _

from activities.errors import NotFound, Stale

# PostgreSQL's SQLSTATE for "lock not available" (lock_timeout expired).
LOCK_NOT_AVAILABLE = "55P03"


def set_lock_timeout():
    """Limit lock waits until the end of the current transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{settings.SOPFLOW_LOCK_TIMEOUT_MS}ms"])


def lock_timed_out(error):
    return getattr(error.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE


def busy():
    return Stale(
        _("Data ini sedang diubah orang lain. Tunggu sebentar lalu coba lagi."), code="locked"
    )


def locked_get(queryset, pk):
    """`queryset.get(pk=pk)` of a `select_for_update` queryset, with the timeout set."""
    set_lock_timeout()
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise NotFound(_("Data ini tidak ditemukan lagi.")) from None
    except OperationalError as error:
        if lock_timed_out(error):
            raise busy() from None
        raise
