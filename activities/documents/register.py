"""The register of naskah numbers (nomor naskah dinas) of laporan.

Each unit numbers its naskah per year. A number is taken under a row lock on the unit's counter
of the year and bound to its run for good (`NaskahNumber`); the lock covers the counter and the
new row only, never a render or a signature. When it is taken:

- with the office seal alone, in the transaction that archives the laporan
  (`laporan.ensure_archived`), which prints it on the document before sealing it: a rollback
  (a failed render, a failed seal) gives the number back;
- with the officials' own TTE, when the pelapor first signs (`laporan_tte.sign`): the page they
  sign must print it. It is committed before the signing service is called; if the signing
  fails or is left for later, the number stays with the run and the next attempt prints the
  same one, so no number is lost and none is given twice (a finished run is always archived).

The kode klasifikasi of a run can change until its number is printed on a signed page.
"""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from activities.core import events
from activities.models import (
    ArchivedReport,
    Event,
    Klasifikasi,
    NaskahCounter,
    NaskahNumber,
    Run,
    SignedLaporan,
    Sop,
)

# How long taking a number waits for another archiving of the same unit and year to finish (it
# renders and seals while it holds the counter): longer than the connection's lock_timeout.
REGISTER_LOCK_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class Naskah:
    """The number a laporan carries, and where in the register it stands."""

    nomor: str
    klasifikasi: str
    klasifikasi_title: str
    unit_id: int
    year: int
    number: int


def read_klasifikasi(run: Run, *, choices: bool = False) -> list[Klasifikasi]:
    """Read the kode klasifikasi of `run` and of its SOP into `run.klasifikasi` and
    `run.sop.klasifikasi`, and with `choices` every active code (what a form offers, returned):
    one small query, instead of two more tables joined to the run's (the run page's query
    planned three times longer with them)."""
    known = {run.klasifikasi_id, run.sop.klasifikasi_id} - {None}
    if not known and not choices:
        return []
    wanted = (Q(pk__in=known) | Q(active=True)) if choices else Q(pk__in=known)
    rows = list(Klasifikasi.objects.filter(wanted))
    by_pk = {row.pk: row for row in rows}
    if run.klasifikasi_id:
        run.klasifikasi = by_pk[run.klasifikasi_id]
    if run.sop.klasifikasi_id:
        run.sop.klasifikasi = by_pk[run.sop.klasifikasi_id]
    return [row for row in rows if row.active] if choices else []


def klasifikasi_of(run: Run) -> Klasifikasi | None:
    """The kode klasifikasi run `run` is numbered under: its own, else its SOP's, else the
    office's default (SOPFLOW_DEFAULT_KLASIFIKASI)."""
    if run.klasifikasi_id:
        return run.klasifikasi
    if run.sop.klasifikasi_id:
        return run.sop.klasifikasi
    return Klasifikasi.objects.filter(code=settings.SOPFLOW_DEFAULT_KLASIFIKASI).first()


def format_nomor(*, klasifikasi: str, number: int, unit_code: str, year: int) -> str:
    """The printed number, in the office's format (SOPFLOW_NOMOR_NASKAH_FORMAT)."""
    return settings.SOPFLOW_NOMOR_NASKAH_FORMAT.format(
        klasifikasi=klasifikasi or "-", urut=number, unit=unit_code, tahun=year
    )


def register_year(run: Run) -> int:
    """The year of the register: that of the day the run finished (the laporan's date)."""
    finished = run.finished_at or timezone.now()
    return timezone.localtime(finished).year


def counter_for(unit_id: int, year: int) -> NaskahCounter:
    """The unit's counter of `year`, created at 0 the first time (outside the lock)."""
    counter, _created = NaskahCounter.objects.get_or_create(unit_id=unit_id, year=year)
    return counter


def take(run: Run, counter: NaskahCounter, *, now=None) -> Naskah:
    """Run `run`'s number: the one it was given before, else the next of `counter`, bound to
    it. Call inside a transaction only: it locks the run's row, then the counter's, until the
    transaction ends; a rollback gives a new number back."""
    if not connection.in_atomic_block:
        raise RuntimeError("a naskah number is taken inside a transaction only")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {REGISTER_LOCK_TIMEOUT_MS}")
    # The run's row first, so that a change of its kode klasifikasi cannot pass in between and
    # two takers of the same run wait for each other (always run, then counter: no deadlock).
    run = (
        Run.objects.select_for_update(of=("self",))
        .select_related("unit", "sop__klasifikasi", "klasifikasi")
        .get(pk=run.pk)
    )
    entry = NaskahNumber.objects.filter(run=run).first()
    if entry is None:
        locked = NaskahCounter.objects.select_for_update().get(pk=counter.pk)
        locked.last += 1
        locked.save(update_fields=["last"])
        entry = NaskahNumber.objects.create(
            run=run,
            unit_id=locked.unit_id,
            year=locked.year,
            number=locked.last,
            taken_at=now or timezone.now(),
        )
    return naskah_of(run, entry)


def reserve(run: Run, *, now=None) -> Naskah:
    """Run `run`'s number, taken in a transaction of its own (for a page about to be signed)."""
    counter = counter_for(run.unit_id, register_year(run))
    with transaction.atomic():
        return take(run, counter, now=now)


def naskah_of(run: Run, entry: NaskahNumber) -> Naskah:
    """The number `entry` as `run`'s laporan prints it, under the run's kode klasifikasi."""
    klasifikasi = klasifikasi_of(run)
    code = klasifikasi.code if klasifikasi else ""
    return Naskah(
        nomor=format_nomor(
            klasifikasi=code, number=entry.number, unit_code=run.unit.short_name, year=entry.year
        ),
        klasifikasi=code,
        klasifikasi_title=klasifikasi.title if klasifikasi else "",
        unit_id=entry.unit_id,
        year=entry.year,
        number=entry.number,
    )


def naskah_taken(run: Run) -> Naskah | None:
    """Run `run`'s number if it has been given one, else None (nothing is taken)."""
    entry = NaskahNumber.objects.filter(run=run).first()
    if entry is None:
        return None
    run = Run.objects.select_related("unit", "sop__klasifikasi", "klasifikasi").get(pk=run.pk)
    return naskah_of(run, entry)


def as_printed(naskah: Naskah, signed: SignedLaporan) -> Naskah:
    """`naskah` as the officials' signed page printed it (a page signed before the register
    printed numbers on it prints none: the register's number stands)."""
    if not signed.nomor:
        return naskah
    return dataclasses.replace(naskah, nomor=signed.nomor, klasifikasi=signed.klasifikasi)


def printed(run_id: int) -> bool:
    """Whether the run's number is printed on a signed page or an archived laporan: from then
    on its kode klasifikasi is fixed."""
    return (
        ArchivedReport.objects.filter(run_id=run_id).exists()
        or SignedLaporan.objects.filter(run_id=run_id).exists()
    )


def load_klasifikasi(path) -> int:
    """Add the codes of the JSON file at `path` that are missing (existing ones are the records
    unit's and left as they are), and give each unit's SOPs without a code the file's default
    for that unit; returns how many codes were added."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    added = 0
    for code, title in data.get("codes", []):
        _code, created = Klasifikasi.objects.get_or_create(code=code, defaults={"title": title})
        added += created
    for unit_short_name, code in data.get("sops", {}).items():
        klasifikasi = Klasifikasi.objects.filter(code=code).first()
        if klasifikasi is not None:
            Sop.objects.filter(unit__short_name=unit_short_name, klasifikasi=None).update(
                klasifikasi=klasifikasi
            )
    return added


class NotChangeable(Exception):
    """The run's number is printed on a signed page or in the archive already."""


def set_klasifikasi(run_id: int, klasifikasi: Klasifikasi | None, *, actor, now=None) -> bool:
    """Give run `run_id` its own kode klasifikasi (None: the SOP's) before it is archived;
    recorded as an event. False when nothing changed; NotChangeable once its number is printed
    on a signed page or in the archive."""
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(of=("self",)).select_related("klasifikasi").get(pk=run_id)
        )
        if printed(run_id):
            raise NotChangeable
        new_id = klasifikasi.pk if klasifikasi else None
        if run.klasifikasi_id == new_id:
            return False
        before = run.klasifikasi.code if run.klasifikasi else ""
        run.klasifikasi = klasifikasi
        run.save(update_fields=["klasifikasi"])
        events.record(
            Event.Kind.KLASIFIKASI,
            run=run,
            actor=actor,
            at=now or timezone.now(),
            before={"klasifikasi": before},
            after={"klasifikasi": klasifikasi.code if klasifikasi else ""},
        )
    return True
