"""Row locks with a timeout: a stuck transaction must not hold a run or an SOP for ever.

On PostgreSQL every connection starts with `lock_timeout` = SOPFLOW_LOCK_TIMEOUT_MS (settings:
DATABASES' options), so a waiting `select_for_update` gives up after that long; the wait
becomes a `Stale` error with a message to try again. SQLite has no row locks (its IMMEDIATE
transactions wait up to the connection's timeout).
"""

from django.db import OperationalError
from django.utils.translation import gettext as _

from activities.core.errors import NotFound, Stale

# PostgreSQL's SQLSTATE for "lock not available" (lock_timeout expired).
LOCK_NOT_AVAILABLE = "55P03"


def lock_timed_out(error):
    return getattr(error.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE


def busy():
    return Stale(
        _("Data ini sedang diubah orang lain. Tunggu sebentar lalu coba lagi."), code="locked"
    )


def locked_get(queryset, pk):
    """`queryset.get(pk=pk)` of a `select_for_update` queryset; a lock wait past the timeout
    is `busy()`."""
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise NotFound(_("Data ini tidak ditemukan lagi.")) from None
    except OperationalError as error:
        if lock_timed_out(error):
            raise busy() from None
        raise
