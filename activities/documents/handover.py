"""Handing an archived laporan over to SRIKANDI, the government's records application.

SRIKANDI publishes no API: today an office registers the naskah by hand, typing its metadata
into SRIKANDI's registration form and attaching the PDF, and keeps the agenda number SRIKANDI
gives it. `Handover` is what any way into SRIKANDI offers; `ManualSrikandi`, the only one now,
makes the package TU works from (the archived PDF/A laporan exactly as stored, and its metadata
as CSV and JSON under the names of SRIKANDI's form) and records the agenda number TU types
back, as an event of the run: the archived file itself is never touched. When SRIKANDI offers
an interface, an adapter implementing `Handover` can send the same package itself.
"""

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Protocol

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.reader import PdfFileReader

from activities.core import events
from activities.models import ArchivedReport, Event

# The fields of SRIKANDI's registration of a naskah, named as its form names them, in its order.
FIELDS = (
    "Jenis Naskah",
    "Sifat Naskah",
    "Klasifikasi",
    "Nomor Naskah",
    "Tanggal Naskah",
    "Hal",
    "Isi Ringkas",
    "Media Arsip",
    "Jumlah Halaman",
    "Bahasa",
    "Unit Pengolah",
    "Nama Berkas",
    "Kode Verifikasi",
    "SHA-256",
)
AGENDA_MAX_LENGTH = 100
# An agenda number as SRIKANDI prints it: letters, digits and the usual separators.
AGENDA_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z ./\-_:]*$")


class HandoverError(ValueError):
    pass


@dataclass(frozen=True)
class Package:
    filename: str
    data: bytes
    metadata: dict


class Handover(Protocol):
    """A way to bring an archived laporan into SRIKANDI."""

    def package(self, report: ArchivedReport) -> Package:
        """What is handed over: the laporan and its metadata."""

    def registered(self, report: ArchivedReport, agenda: str, *, actor, now=None) -> Event:
        """Record that SRIKANDI registered the laporan under `agenda`."""


def page_count(data: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Count"])


def _read(report: ArchivedReport) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def metadata(report: ArchivedReport, data: bytes) -> dict:
    """The registration fields of `report` (its run, SOP and unit selected with it), in
    Indonesian whatever the language of the user who downloads them: they go into SRIKANDI."""
    with translation.override("id"):
        return _metadata(report, data)


def _metadata(report: ArchivedReport, data: bytes) -> dict:
    run = report.run
    finished = timezone.localtime(run.finished_at)
    klasifikasi = report.klasifikasi
    return {
        "Jenis Naskah": _("Laporan"),
        "Sifat Naskah": _("Biasa"),
        "Klasifikasi": klasifikasi,
        "Nomor Naskah": report.nomor,
        "Tanggal Naskah": finished.date().isoformat(),
        "Hal": _("Laporan Kegiatan %(title)s") % {"title": run.title},
        "Isi Ringkas": _(
            "Laporan pelaksanaan kegiatan %(title)s di %(place)s tanggal %(date)s menurut SOP "
            "%(sop)s (versi %(version)s)."
        )
        % {
            "title": run.title,
            "place": run.place,
            "date": formats.date_format(run.scheduled_on, "j F Y"),
            "sop": run.sop.name,
            "version": run.sop.version,
        },
        "Media Arsip": _("Elektronik"),
        "Jumlah Halaman": page_count(data),
        "Bahasa": _("Indonesia"),
        "Unit Pengolah": run.unit.name,
        "Nama Berkas": package_pdf_name(report),
        "Kode Verifikasi": report.code,
        "SHA-256": report.sha256,
    }


def package_pdf_name(report: ArchivedReport) -> str:
    return f"laporan-kegiatan-{report.run_id}.pdf"


class ManualSrikandi:
    """The handover by hand: TU downloads the package, registers it in SRIKANDI, and types the
    agenda number back."""

    def package(self, report: ArchivedReport) -> Package:
        data = _read(report)
        fields = metadata(report, data)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerow(fields)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(package_pdf_name(report), data)
            # UTF-8 with a byte order mark: a spreadsheet opens the CSV with its accents right.
            archive.writestr("metadata.csv", "\ufeff" + text.getvalue())
            archive.writestr(
                "metadata.json", json.dumps(fields, ensure_ascii=False, indent=2) + "\n"
            )
        return Package(f"srikandi-laporan-kegiatan-{report.run_id}.zip", buffer.getvalue(), fields)

    def registered(self, report: ArchivedReport, agenda: str, *, actor, now=None) -> Event:
        agenda = clean_agenda(agenda)
        return events.record(
            Event.Kind.HANDOVER_REGISTERED,
            run=report.run,
            actor=actor,
            at=now or timezone.now(),
            after={"srikandi_agenda": agenda, "nomor": report.nomor, "sha256": report.sha256},
        )


def clean_agenda(text: str) -> str:
    """The agenda number as typed, trimmed; HandoverError with the reason if it cannot be one."""
    agenda = " ".join((text or "").split())
    if not agenda:
        raise HandoverError(_("Isi nomor agenda SRIKANDI."))
    if len(agenda) > AGENDA_MAX_LENGTH:
        raise HandoverError(
            _("Nomor agenda paling panjang %(n)s karakter.") % {"n": AGENDA_MAX_LENGTH}
        )
    if not AGENDA_PATTERN.match(agenda):
        raise HandoverError(
            _("Nomor agenda hanya boleh berisi huruf, angka, spasi dan tanda . / - _ :")
        )
    return agenda


def handover() -> Handover:
    """The handover in use: the manual one until SRIKANDI offers an interface."""
    return ManualSrikandi()


def srikandi_agenda(run) -> Event | None:
    """The latest agenda number TU recorded for `run` (a correction is a newer event)."""
    return (
        Event.objects.filter(run=run, kind=Event.Kind.HANDOVER_REGISTERED)
        .select_related("actor")
        .order_by("-seq")
        .first()
    )
