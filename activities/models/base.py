"""Pieces the models share: configuration history, the append-only base, a bulk update."""

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from activities.documents.letterhead import check_emblem


def validate_emblem(file):
    check_emblem(file)


class LetterheadRule(models.TextChoices):
    DOUBLE = "double", _("Garis ganda (tebal dan tipis)")
    SINGLE = "single", _("Satu garis")
    NONE = "none", _("Tanpa garis")


class ConfigurationHistory(HistoricalRecords):
    """django-simple-history for the configuration models: who changed what, when, with the
    values before and after (shown in the admin's "Riwayat").

    A many-to-many change made from the other side (`user.sop_roles.add(role)`) is recorded
    on the changed objects of this side too, so "who made this person the Kepala" is always
    in the role's history.
    """

    def m2m_changed(self, instance, action, attr, pk_set, reverse, model=None, **kwargs):
        if not reverse:
            return super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        if action in ("post_add", "post_remove") and pk_set:
            for obj in model.objects.filter(pk__in=pk_set):
                super().m2m_changed(obj, action, attr, None, False, **kwargs)
        return None


class AppendOnly(models.Model):
    """A record that is written once: saving an existing row or deleting one is refused."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("Catatan perubahan tidak dapat diubah."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Catatan perubahan tidak dapat dihapus."))


def normalize_nip(value):
    return "".join(ch for ch in value if ch.isdigit()) or value.strip()


def nip_problem(value, *, today=None):
    """Why `value` is not a NIP, or "". A NIP is 18 digits: birth date (yyyymmdd), the month of
    appointment as civil servant (TMT, yyyymm), sex (1 man, 2 woman) and a serial (001–999)."""
    import datetime

    today = today or datetime.date.today()
    digits = normalize_nip(value or "")
    if len(digits) != 18 or not digits.isdigit():
        return _("NIP terdiri dari 18 angka.")
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return _("Delapan angka pertama NIP bukan tanggal lahir yang sah.")
    if not 1930 <= born.year <= today.year - 17:
        return _("Tanggal lahir dalam NIP (%(year)s) tidak masuk akal.") % {"year": born.year}
    year, month = int(digits[8:12]), int(digits[12:14])
    if not 1 <= month <= 12:
        return _("Bulan TMT dalam NIP (angka ke-13 dan ke-14) bukan bulan yang sah.")
    if year < born.year + 17 or (year, month) > (today.year, today.month):
        return _("TMT dalam NIP (%(year)s) tidak masuk akal untuk tanggal lahirnya.") % {
            "year": year
        }
    if digits[14] not in "12":
        return _("Angka ke-15 NIP (jenis kelamin) harus 1 atau 2.")
    if digits[15:] == "000":
        return _("Nomor urut NIP (tiga angka terakhir) tidak boleh 000.")
    return ""


def validate_nip(value):
    problem = nip_problem(value)
    if problem:
        raise ValidationError(problem, code="nip")


def format_nip(value):
    """NIP 196406061985031015 → 19640606 198503 1 015 (birth date, appointment, sex, serial)."""
    digits = normalize_nip(value or "")
    if len(digits) != 18 or not digits.isdigit():
        return value or ""
    return f"{digits[:8]} {digits[8:14]} {digits[14]} {digits[15:]}"


def _sop_list(sops):
    return ", ".join(f"{sop.name} v{sop.version}" for sop in sops[:3])


def update_rows(model, rows, fields, *, using="default"):
    """Write `fields` of many rows of `model` in one UPDATE, each row its own values: `rows`
    maps a primary key to its values (in the order of `fields`). What `bulk_update` writes,
    without building a Case/When expression per row: "SET f = CASE pk WHEN … THEN … ELSE f
    END" with the values prepared by each field, which every backend reads the same way (the
    ELSE gives the CASE its column's type, so even a column set to NULL on every row is typed).
    Returns the count of rows updated."""
    if not rows:
        return 0
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta
    pk = quote(meta.pk.column)
    assignments, params = [], []
    for index, name in enumerate(fields):
        field = meta.get_field(name)
        column = quote(field.column)
        assignments.append(
            f"{column} = CASE {pk} "
            + " ".join(["WHEN %s THEN %s"] * len(rows))
            + f" ELSE {column} END"
        )
        for key, values in rows.items():
            params += [key, field.get_db_prep_save(values[index], connection)]
    params += list(rows)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {pk} IN ({', '.join(['%s'] * len(rows))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


class PreparedQueries:
    """The SQL of queries every request runs, built by the ORM once per process for each key.

    The user's roles, his acting appointments and the navigation's counts are read on every
    page; for each of them Django spends several times longer building and compiling the query
    than the database spends answering it (0.5–1.5 ms against 0.1 ms). Their SQL and
    parameters depend only on a few values (the user, the day, the user's role ids): `key`
    names them all, and `build(*key)` returns the queryset for them. The least recently used
    keys are dropped beyond `size`.
    """

    def __init__(self, build, size=4096):
        self.build = build
        self.size = size
        self.compiled: dict = {}

    def sql(self, key):
        """(sql, params, database alias) of the query for `key`, compiled at its first use."""
        found = self.compiled.pop(key, None)
        if found is None:
            queryset = self.build(*key)
            found = (*queryset.query.get_compiler(queryset.db).as_sql(), queryset.db)
            if len(self.compiled) >= self.size:
                del self.compiled[next(iter(self.compiled))]
        self.compiled[key] = found
        return found

    def rows(self, model, key):
        """The query's rows as `model` instances (it selects the model's columns)."""
        sql, params, using = self.sql(key)
        return list(model.objects.db_manager(using).raw(sql, params))

    def one(self, key):
        """The first row of the query, as a tuple."""
        sql, params, using = self.sql(key)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
