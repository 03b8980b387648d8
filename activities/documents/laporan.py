"""The laporan of a run and its archived final copy.

The report is built completely here (all queries, all timing) and only then handed to the
template and WeasyPrint, so rendering never touches the database."""

import dataclasses
import datetime
import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from activities.background.tasks import retried
from activities.core import events, uploads
from activities.documents import outlines, pdf, register, signing, tte, verification
from activities.documents.letterhead import Letterhead
from activities.models import (
    ActingAppointment,
    ArchivedReport,
    Attachment,
    Event,
    Pegawai,
    Role,
    Run,
    SignedLaporan,
    StepRun,
    StepSignOff,
    grouped_values,
    normalize_nip,
    pegawai_of,
    performed_as,
)
from activities.notifications import announcements
from activities.time import timing

logger = logging.getLogger(__name__)

LAPORAN_TEMPLATE = "reports/laporan.html"


def stylesheet_url():
    return pdf.static_url("css/report.css")


def _person(user):
    """A person as documents name him: from his person record (with gelar), else the login."""
    if user is None:
        return ""
    person = pegawai_of(user)
    if person is not None:
        return person.full_name
    return user.get_full_name() or user.get_username()


# Laporan kegiatan ---------------------------------------------------------------------------


@dataclass
class StepRow:
    """One round of one step, as a row of the laporan's step table."""

    number: int
    round: int
    activity: str
    state: str
    state_display: str
    performer: str
    role: str
    on_behalf: bool
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    same_day: bool
    standard_text: str
    actual: str
    wall: str
    difference: str
    late: bool | None
    output: str
    notes: str
    return_reason: str
    attachment_names: list
    # (label, text) of the step data the round recorded (jumlah peserta, kelurahan).
    data: list = field(default_factory=list)
    # Done wholly outside office hours (a Saturday sosialisasi): no office minute passed, so it
    # is not late by the rule, but neither is it "on time" in the usual sense: it says so.
    outside_office: bool = False
    # A joint step's sign-offs: each required performer's part, with its times.
    sign_offs: list = field(default_factory=list)

    @property
    def details(self):
        """(label, text) pairs printed under the row."""
        pairs = [
            *self.data,
            (_("Output"), self.output),
            (_("Catatan"), self.notes),
            (_("Alasan pengembalian"), self.return_reason),
            (_("Lampiran"), ", ".join(self.attachment_names)),
        ]
        return [(label, text) for label, text in pairs if text]


@dataclass
class Disposition:
    number: int
    round: int
    activity: str
    by: str
    role: str
    on_behalf: bool
    at: datetime.datetime
    approved: bool
    decision_display: str
    instruction: str
    deadline: datetime.date | None
    notes: str
    return_reason: str
    return_to: int | None


@dataclass
class Photo:
    url: str
    caption: str
    step_number: int
    uploaded_by: str
    uploaded_at: datetime.datetime
    # When the photo was taken (its EXIF), which the stamp prints; None: only the upload time.
    taken_at: datetime.datetime | None = None


@dataclass
class Document:
    name: str
    size: int
    sha256: str
    step_number: int


@dataclass
class Verification:
    """What the archived laporan prints so that anyone can check it: code, address, QR code."""

    code: str
    # The run's chain head when it was archived (activities.core.chain): printed, and carried
    # in the PDF's keywords, which the signature covers; verify_archive compares it.
    chain_count: int = 0
    chain_head: str = ""

    @property
    def anchor(self):
        return verification.anchor_keyword(self.chain_count, self.chain_head)

    @property
    def printed_head(self):
        return " ".join(self.chain_head[i : i + 16] for i in range(0, len(self.chain_head), 16))

    @property
    def printed_code(self):
        return verification.grouped(self.code)

    @property
    def url(self):
        return verification.url(self.code)

    @property
    def qr(self):
        return verification.qr_data_uri(self.url)


@dataclass
class RunReport:
    run: Run
    letterhead: Letterhead
    rows: list
    dispositions: list
    photos: list
    documents: list
    timing: timing.RunTiming
    final: bool
    printed_at: datetime.datetime
    signed_on: datetime.date
    acts: dict = field(default_factory=dict)
    first_roles: str = ""
    verification: Verification | None = None
    # The signature blocks of the officials' TTE (pelapor, mengetahui), when they sign it.
    signature_blocks: list = field(default_factory=list)
    tte: str = ""
    # The number from the unit's register, printed on the archived copy.
    naskah: register.Naskah | None = None
    # Photos whose small rendition the worker has not made yet: left out, and said so.
    pending_photos: int = 0
    stylesheet: str = field(default_factory=stylesheet_url)

    @property
    def watermark(self):
        if self.run.status == Run.Status.CANCELLED:
            return "DIBATALKAN"
        return "" if self.final else "DRAF"

    @property
    def watermark_image(self):
        """The watermark drawn in outlines, so that its letters are not read as text."""
        return outlines.watermark_uri(self.watermark) if self.watermark else ""

    @property
    def actual_display(self):
        return self.timing.actual_display

    @property
    def difference_display(self):
        return self.timing.difference_display

    @property
    def lead_display(self):
        return self.timing.display(self.timing.lead_minutes)

    @property
    def lead_wall_display(self):
        return timing.format_wall_minutes(self.timing.lead_wall_minutes)

    @property
    def returned_rounds(self):
        return sum(1 for row in self.rows if row.state == StepRun.State.RETURNED)


def _load_run(run_id):
    run = Run.objects.select_related("sop", "unit", "opened_by").get(pk=run_id)
    attachments = Attachment.objects.select_related("uploaded_by__pegawai").order_by(
        "uploaded_at", "pk"
    )
    step_runs = list(
        StepRun.objects.filter(run=run)
        .select_related("step__return_to", "completed_by__pegawai", "completed_as")
        .prefetch_related(
            "step__roles",
            "values",
            Prefetch("attachments", queryset=attachments),
            Prefetch(
                "sign_offs",
                queryset=StepSignOff.objects.select_related("user__pegawai", "role").order_by(
                    "entered_at", "pk"
                ),
            ),
        )
        .order_by("step__number", "round")
    )
    for step_run in step_runs:
        step_run.run = run
    return run, step_runs


def _step_row(round_timing):
    step_run = round_timing.step_run
    step = step_run.step
    role = step_run.performed_as
    if not role:
        role = step_run.roles_display
    started, completed = step_run.started_at, step_run.completed_at
    same_day = bool(
        started
        and completed
        and timezone.localtime(started).date() == timezone.localtime(completed).date()
    )
    done = step_run.state in (StepRun.State.DONE, StepRun.State.RETURNED)
    return StepRow(
        number=step.number,
        round=step_run.round,
        activity=step.activity,
        state=step_run.state,
        state_display=step_run.get_state_display(),
        performer=_person(step_run.completed_by),
        role=role,
        on_behalf=step_run.on_behalf,
        started_at=started,
        completed_at=completed,
        same_day=same_day,
        standard_text=step.standard_display,
        actual=timing.format_minutes(round_timing.actual_minutes, round_timing.day_minutes),
        wall=timing.format_wall_minutes(round_timing.wall_minutes),
        difference=timing.format_signed_minutes(
            round_timing.difference_minutes, round_timing.day_minutes
        ),
        late=round_timing.late if done else None,
        outside_office=bool(
            done and not round_timing.actual_minutes and (round_timing.wall_minutes or 0) > 0
        ),
        output=(step_run.output or step.output) if done else "",
        notes=step_run.notes,
        return_reason=step_run.return_reason,
        attachment_names=[a.original_name for a in step_run.attachments.all()],
        data=grouped_values(step_run.values.all()),
        sign_offs=[
            SignedPart(
                performer=_person(sign_off.user),
                role=performed_as(sign_off.role, sign_off.acting, step_run.run.sop),
                on_behalf=sign_off.on_behalf,
                started_at=sign_off.started_at,
                completed_at=sign_off.completed_at,
                actual=timing.format_minutes(
                    sign_off.handling_office_minutes, round_timing.day_minutes
                ),
            )
            for sign_off in step_run.sign_offs.all()
        ],
    )


@dataclass
class SignedPart:
    """One performer's sign-off of a joint step, as the laporan prints it under the step."""

    performer: str
    role: str
    on_behalf: bool
    started_at: datetime.datetime
    completed_at: datetime.datetime
    actual: str


def _disposition(step_run):
    step = step_run.step
    approved = step_run.decision == StepRun.Decision.APPROVED
    return Disposition(
        number=step.number,
        round=step_run.round,
        activity=step.activity,
        by=_person(step_run.completed_by),
        role=step_run.performed_as,
        on_behalf=step_run.on_behalf,
        at=step_run.completed_at,
        approved=approved,
        decision_display=step_run.get_decision_display(),
        instruction=step_run.instruction,
        deadline=step_run.deadline,
        notes=step_run.decision_notes,
        return_reason=step_run.return_reason,
        return_to=step.return_to.number if step.return_to_id and not approved else None,
    )


def signed_by_acting_head(letterhead, unit_id, signed_on):
    """The letterhead with its signatory from the person records: the unit's head by his NIP
    (name with gelar, pangkat), or the Plt./Plh. of the unit's head appointed for the signing
    day: “Plh. Kepala Kantor …”, his name, rank and NIP."""
    appointment = (
        ActingAppointment.objects.in_force(signed_on)
        .filter(unit_id=unit_id, role__kind=Role.Kind.HEAD)
        .select_related("person__pegawai")
        .order_by("pk")
        .first()
    )
    if appointment is None:
        head = Pegawai.objects.filter(nip=normalize_nip(letterhead.head_nip)).first()
        if head is None or not letterhead.head_nip:
            return letterhead
        return dataclasses.replace(
            letterhead,
            head_name=head.full_name,
            head_rank=head.rank or letterhead.head_rank,
            head_nip=head.nip,
        )
    person = pegawai_of(appointment.person)
    return dataclasses.replace(
        letterhead,
        head_title=f"{appointment.get_kind_display()} {letterhead.head_title or _('Kepala')}",
        head_name=person.full_name if person else _person(appointment.person),
        head_rank=(person.rank if person and person.rank else appointment.person_rank),
        head_nip=(person.nip if person and person.nip else appointment.person_nip),
    )


def _first_step_roles(step_runs):
    first = next((sr for sr in step_runs if sr.step.number == 1), None)
    return first.roles_display if first else ""


def build_run_report(run_id, *, now=None, code=None, naskah=None):
    """Everything the laporan of run `run_id` shows, computed up front; `code`: the
    verification code the archived copy prints, `naskah`: its number from the register."""
    now = now or timezone.now()
    run, step_runs = _load_run(run_id)
    run_timing = timing.run_timing(run, step_runs, run.unit.calendar, now=now)
    # In the order they happened: a step reworked after a return follows the return.
    rows = sorted(
        (_step_row(round_timing) for round_timing in run_timing.rounds),
        key=lambda row: (row.started_at is None, row.started_at or now, row.number, row.round),
    )
    dispositions = [_disposition(sr) for sr in step_runs if sr.decision]
    photos, documents = [], []
    pending_photos = 0
    for step_run in step_runs:
        for attachment in step_run.attachments.all():
            if attachment.is_image and not attachment.rendition:
                # The laporan embeds renditions only, never the stored photo itself.
                pending_photos += 1
            elif attachment.is_image:
                photos.append(
                    Photo(
                        url=pdf.media_url(attachment.rendition.name),
                        caption=attachment.caption or attachment.original_name,
                        step_number=step_run.step.number,
                        uploaded_by=_person(attachment.uploaded_by),
                        uploaded_at=attachment.uploaded_at,
                        taken_at=attachment.taken_at,
                    )
                )
            else:
                documents.append(
                    Document(
                        name=attachment.original_name,
                        size=attachment.size,
                        sha256=attachment.sha256,
                        step_number=step_run.step.number,
                    )
                )
    final = run.status == Run.Status.FINISHED
    signed_on = timezone.localtime(run.finished_at if final else now).date()
    return RunReport(
        run=run,
        letterhead=signed_by_acting_head(Letterhead.for_unit(run.unit), run.unit_id, signed_on),
        rows=rows,
        dispositions=dispositions,
        photos=photos,
        pending_photos=pending_photos,
        documents=documents,
        timing=run_timing,
        final=final,
        printed_at=now,
        signed_on=signed_on,
        acts=run.acts(),
        first_roles=_first_step_roles(step_runs),
        verification=Verification(code, run.event_count, run.event_head) if code else None,
        naskah=naskah,
    )


def render_run_report(run_id, *, now=None, code=None, naskah=None):
    """PDF bytes of the laporan: the final one for a finished run, a marked draft otherwise.

    PDF/A-3b and tagged: the archive keeps the laporan for years, and readers and archive
    search read its text in order."""
    report = build_run_report(run_id, now=now, code=code, naskah=naskah)
    return pdf.render_pdf(LAPORAN_TEMPLATE, {"report": report}, archival=True)


class AwaitingSignatures(ValueError):
    """The officials have not all signed the laporan yet: it is not archived."""


@dataclass
class FinalDocument:
    data: bytes
    code: str
    signed_by: str
    naskah: register.Naskah


def final_document(run, *, now, naskah: register.Naskah) -> FinalDocument:
    """The final laporan of finished `run`, numbered `naskah`.

    The one place that makes the archived document, wherever archiving runs (at the finish,
    in a background task, on the first download): rendered with its verification code and QR
    code, then signed by the configured signer (PAdES), if any. A laporan its officials signed
    is sealed as they signed it, with the number it prints.
    """
    signed = SignedLaporan.objects.filter(run=run).first()
    if signed is not None and signed.signatures.count() >= 2:
        # Signed by its officials (activities/documents/laporan_tte.py): seal that file.
        code = signed.code
        naskah = register.as_printed(naskah, signed)
        with default_storage.open(signed.file.name, "rb") as handle:
            data = handle.read()
    elif tte.configured_service() is not None:
        raise AwaitingSignatures(f"the laporan of run {run.pk} waits for its officials' TTE")
    else:
        code = verification.new_code()
        data = render_run_report(run.pk, now=now, code=code, naskah=naskah)
    signer = signing.configured_signer()
    if signer is None:
        return FinalDocument(data, code, "", naskah)
    sealed = signer.sign(
        data,
        reason=f"Laporan kegiatan {run.pk}: {run.title}"[:200],
        location=run.unit.name,
    )
    return FinalDocument(sealed, code, signer.subject, naskah)


# The archived final laporan ------------------------------------------------------------------


class _AlreadyArchived(Exception):
    pass


def ensure_archived(run_id, *, now=None):
    """The archived laporan of a finished run, rendering and storing it the first time.

    The laporan carries its naskah number from the unit's register
    (activities/documents/register.py): the one its officials' signed page prints, or else one
    taken in the transaction that stores it, where the document is rendered and sealed holding
    the lock on the unit's counter of the year (about a second; archivings of other units and
    years do not wait), so a failure gives it back. Everything that can be read before (the
    run, the photos' renditions, the counter row) is read outside. When two requests archive
    the same run at once, the second finds the first's report under the lock.
    """
    existing = ArchivedReport.objects.filter(run_id=run_id).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    run = Run.objects.select_related("unit", "sop__klasifikasi", "klasifikasi").get(pk=run_id)
    if run.status != Run.Status.FINISHED:
        raise ValueError(f"run {run_id} is not finished")
    problem = verification.site_url_problem(settings.SITE_URL, debug=settings.DEBUG)
    if problem:
        # The archive prints its QR code once and is signed: a wrong address stays for ever.
        raise ImproperlyConfigured(f"not archiving run {run_id}: {problem}")
    # The archived laporan is final: it must carry every photo, so none may still be waiting.
    uploads.ensure_renditions(run_id)
    counter = register.counter_for(run.unit_id, register.register_year(run))
    stored = ""
    try:
        with transaction.atomic():
            taken = register.take(run, counter, now=now)
            if ArchivedReport.objects.filter(run_id=run_id).exists():
                raise _AlreadyArchived
            final = final_document(run, now=now, naskah=taken)
            data, code, signed_by, naskah = final.data, final.code, final.signed_by, final.naskah
            digest = hashlib.sha256(data).hexdigest()
            report = ArchivedReport(
                run=run,
                sha256=digest,
                size=len(data),
                archived_at=now,
                code=code,
                signed_by=signed_by,
                nomor=naskah.nomor,
                klasifikasi=naskah.klasifikasi,
                signature_level=signing.pades_level(data) if signed_by else "",
            )
            name = f"laporan-kegiatan-{run.pk}-{digest[:12]}.pdf"
            report.file.save(name, ContentFile(data), save=False)
            stored = report.file.name
            report.save()
            events.record(
                Event.Kind.ARCHIVED,
                run=run,
                at=now,
                after={
                    "file": report.file.name,
                    "sha256": digest,
                    "size": len(data),
                    "code": code,
                    "signed_by": signed_by,
                    "nomor": naskah.nomor,
                    "klasifikasi": naskah.klasifikasi,
                    "signature_level": report.signature_level,
                },
            )
    except _AlreadyArchived:
        return ArchivedReport.objects.get(run_id=run_id)
    except IntegrityError:
        if stored:
            default_storage.delete(stored)
        return ArchivedReport.objects.get(run_id=run_id)
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return report


def archive_run(run_id, *, now=None):
    """Called once a run has finished: archive its final laporan, or log why it could not.

    A failure here must never undo or block the finished run; the laporan view archives it on
    its first request instead.
    """
    try:
        return ensure_archived(run_id, now=now)
    except AwaitingSignatures:
        return None
    except Exception:
        logger.exception("Could not archive the laporan of run %s", run_id)
        return None


def file_digest(report):
    """(sha256, size) of the stored file of an archived report; raises OSError if it is gone."""
    digest = hashlib.sha256()
    size = 0
    with default_storage.open(report.file.name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# The archive ---------------------------------------------------------------------------------

CLOSED_STATUSES = (Run.Status.FINISHED, Run.Status.CANCELLED)


@task()
@retried
def archive_laporan(run_id):
    """Render and store the final laporan of a finished run, once; tell its keepers."""
    run = Run.objects.select_related("unit", "sop").get(pk=run_id)
    if run.status != Run.Status.FINISHED:
        return None
    if ArchivedReport.objects.filter(run_id=run_id).exists():
        report = run.archived_report
    else:
        try:
            report = ensure_archived(run_id)
        except AwaitingSignatures:
            # Queued again by the last signature.
            return None
    with transaction.atomic():
        announcements.laporan_archived(run, report)
    return report.sha256
