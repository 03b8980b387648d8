"""SQL aggregates the statistics need beyond Django's own: a continuous percentile.

PostgreSQL has the ordered-set aggregate `percentile_cont(f) WITHIN GROUP (ORDER BY x)`.
SQLite has none, so sopflow registers `sopflow_percentile_cont(x, f)` on every SQLite
connection: an aggregate function that keeps the values of one group, sorts them at the end and
interpolates exactly like PostgreSQL's (linearly between the two nearest ranks). Its memory is
bounded by the size of one group (one step's rounds in a period, one month's runs), and the
query stays a single GROUP BY: no rows travel to Python.
"""

import math

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField

SQLITE_PERCENTILE = "sopflow_percentile_cont"


class Percentile(Aggregate):
    """Percentile(expression, 0.9): the continuous percentile of `expression`, or NULL."""

    function = "percentile_cont"
    name = "Percentile"
    output_field = FloatField()
    allow_distinct = False
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction, **extra):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"percentile fraction must be within 0..1, got {fraction}")
        # A float rendered by repr() is a plain SQL numeric literal: nothing from outside.
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function=SQLITE_PERCENTILE,
            template="%(function)s(%(expressions)s, %(fraction)s)",
            **extra_context,
        )


def percentile_cont(values, fraction):
    """PostgreSQL's percentile_cont over sorted `values` (non-empty)."""
    position = (len(values) - 1) * fraction
    lower, upper = math.floor(position), math.ceil(position)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)


class _SqlitePercentile:
    def __init__(self):
        self.values = []
        self.fraction = None

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        self.values.sort()
        return percentile_cont(self.values, self.fraction)


def _register(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, _SqlitePercentile)


def install():
    """Called from the app's ready(): every new SQLite connection gets the function."""
    connection_created.connect(_register, dispatch_uid="sopflow_sqlite_percentile")
