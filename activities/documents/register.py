"""The register of naskah numbers (nomor naskah dinas) of archived laporan.

Each unit numbers its naskah per year: the number is taken in the same transaction that stores
the archived laporan (`laporan.ensure_archived`), under a row lock on the unit's counter of the
year, and printed on the laporan before it is signed. A rollback (a failed render, a failed
signature, a lost race for the same run) gives the number back, so the register has no gaps and
no doubles. The lock covers one unit's counter of one year only, never a run.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from activities.core import events
from activities.models import ArchivedReport, Event, Klasifikasi, NaskahCounter, Run, Sop

# How long an archiving waits for another archiving of the same unit and year to finish (it
# renders and signs while it holds the counter): longer than the connection's lock_timeout.
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


def take(run: Run, counter: NaskahCounter) -> Naskah:
    """The next number of `counter` for `run`: call inside the archiving transaction only.

    Locks the counter row until that transaction ends; a rollback gives the number back."""
    if not connection.in_atomic_block:
        raise RuntimeError("a naskah number is taken inside the archiving transaction only")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {REGISTER_LOCK_TIMEOUT_MS}")
    locked = NaskahCounter.objects.select_for_update().get(pk=counter.pk)
    locked.last += 1
    locked.save(update_fields=["last"])
    # The run's row too, so that a change of its kode klasifikasi cannot pass in between.
    run = (
        Run.objects.select_for_update(of=("self",))
        .select_related("unit", "sop__klasifikasi", "klasifikasi")
        .get(pk=run.pk)
    )
    klasifikasi = klasifikasi_of(run)
    code = klasifikasi.code if klasifikasi else ""
    return Naskah(
        nomor=format_nomor(
            klasifikasi=code, number=locked.last, unit_code=run.unit.short_name, year=locked.year
        ),
        klasifikasi=code,
        klasifikasi_title=klasifikasi.title if klasifikasi else "",
        unit_id=run.unit_id,
        year=locked.year,
        number=locked.last,
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
    pass


def set_klasifikasi(run_id: int, klasifikasi: Klasifikasi | None, *, actor, now=None) -> bool:
    """Give run `run_id` its own kode klasifikasi (None: the SOP's) before it is archived;
    recorded as an event. False when nothing changed; NotChangeable once it is archived."""
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(of=("self",)).select_related("klasifikasi").get(pk=run_id)
        )
        if ArchivedReport.objects.filter(run_id=run_id).exists():
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
