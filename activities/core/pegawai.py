"""Importing the person records (pegawai) from a CSV export of the personnel system (SIMPEG).

Columns (a header row, names as below, `;` or `,` separated): nip, nama, gelar_depan,
gelar_belakang, pangkat, jabatan, nik, email, username (the sopflow login to link, optional).
Every row is checked first; one bad row refuses the whole file with the line numbers of every
bad row, and nothing is imported. A good file is written in one transaction: a NIP already
recorded is updated, a new one created.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from activities.background.tasks import enqueue_on_commit, retried
from activities.core import events
from activities.models import Event, Pegawai, PegawaiImport, nip_problem, normalize_nip

COLUMNS = (
    "nip",
    "nama",
    "gelar_depan",
    "gelar_belakang",
    "pangkat",
    "jabatan",
    "nik",
    "email",
    "username",
)
REQUIRED = ("nip", "nama")
# Rows written between two calls of `progress`.
CHUNK = 200


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def _rows(text: str) -> tuple[list[dict], list[str]]:
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return [], [_("Baris 1: kolom %(cols)s tidak ada.") % {"cols": ", ".join(missing)}]
    reader.fieldnames = header
    return [
        {key: (value or "").strip() for key, value in row.items() if key in COLUMNS}
        for row in reader
    ], []


def check(
    text: str, *, progress: Callable[[int, int], None] | None = None
) -> tuple[list[dict], list[str]]:
    """(clean rows, errors with line numbers) of the CSV `text`; `progress(checked, total)`
    every CHUNK rows."""
    rows, errors = _rows(text)
    users = {user.username: user for user in get_user_model().objects.filter(is_active=True)}
    seen: dict[str, int] = {}
    clean = []
    for line, row in enumerate(rows, start=2):
        problems = []
        nip = normalize_nip(row.get("nip", ""))
        problem = nip_problem(nip)
        if problem:
            problems.append(f"NIP “{row.get('nip', '')}”: {problem}")
        elif nip in seen:
            problems.append(
                _("NIP %(nip)s sudah ada di baris %(line)s.") % {"nip": nip, "line": seen[nip]}
            )
        if not row.get("nama"):
            problems.append(_("nama kosong."))
        nik = row.get("nik", "")
        if nik and (len(nik) != 16 or not nik.isdigit()):
            problems.append(_("NIK terdiri dari 16 angka."))
        username = row.get("username", "")
        if username and username not in users:
            problems.append(_("akun “%(u)s” tidak ada atau tidak aktif.") % {"u": username})
        if problems:
            errors.append(_("Baris %(line)s: %(p)s") % {"line": line, "p": " ".join(problems)})
            continue
        seen[nip] = line
        clean.append({**row, "nip": nip, "user": users.get(username)})
        if progress is not None and (line - 1) % CHUNK == 0:
            progress(line - 1, len(rows))
    if not rows and not errors:
        errors.append(_("Berkas tidak berisi baris pegawai."))
    return clean, errors


def import_csv(text: str, *, progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import the CSV `text`: all its rows, or none of them (`errors` says why)."""
    rows, errors = check(text, progress=progress)
    if errors:
        return ImportResult(errors=errors)
    result = ImportResult()
    with transaction.atomic():
        for row in rows:
            values = {
                "name": row["nama"],
                "front_title": row.get("gelar_depan", ""),
                "back_title": row.get("gelar_belakang", ""),
                "rank": row.get("pangkat", ""),
                "position": row.get("jabatan", ""),
                "nik": row.get("nik", ""),
                "email": row.get("email", ""),
            }
            if row["user"] is not None:
                Pegawai.objects.filter(user=row["user"]).exclude(nip=row["nip"]).update(user=None)
                values["user"] = row["user"]
            _person, created = Pegawai.objects.update_or_create(nip=row["nip"], defaults=values)
            result.created += created
            result.updated += not created
    if progress is not None:
        progress(len(rows), len(rows))
    return result


# The upload in the web page, imported by the worker ---------------------------------------

# A SIMPEG export of a city government is a few thousand rows; far beyond is not one.
MAX_BYTES = 5 * 1024 * 1024


def request_import(user, upload, *, now=None) -> PegawaiImport:
    """Store the uploaded CSV and queue its import after the commit."""
    now = now or timezone.now()
    with transaction.atomic():
        job = PegawaiImport(requested_by=user, original_name=upload.name[:255], created_at=now)
        job.file.save(f"pegawai-{now:%Y%m%d%H%M%S}.csv", upload, save=False)
        job.save()
        events.record(
            Event.Kind.PEOPLE_IMPORT,
            actor=user,
            at=now,
            after={"import": job.pk, "file": job.original_name},
        )
        enqueue_on_commit(import_pegawai, job.pk)
    return job


@task()
@retried
def import_pegawai(job_id):
    """Check and import an uploaded SIMPEG CSV, once (claimed by a conditional update)."""
    now = timezone.now()
    claimed = PegawaiImport.objects.filter(pk=job_id, status=PegawaiImport.Status.QUEUED).update(
        status=PegawaiImport.Status.RUNNING, started_at=now
    )
    if not claimed:
        return None
    mine = PegawaiImport.objects.filter(pk=job_id, started_at=now)
    job = PegawaiImport.objects.get(pk=job_id)
    try:
        with job.file.open("rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        mine.update(
            status=PegawaiImport.Status.REFUSED,
            errors=_("Berkas bukan CSV berkode UTF-8."),
            finished_at=timezone.now(),
        )
        return None

    def progress(done, total):
        mine.update(done=done, total=total)

    result = import_csv(text, progress=progress)
    status = PegawaiImport.Status.REFUSED if result.errors else PegawaiImport.Status.DONE
    mine.update(
        status=status,
        created=result.created,
        updated=result.updated,
        errors="\n".join(result.errors),
        finished_at=timezone.now(),
    )
    return status
