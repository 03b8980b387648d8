"""The officials sign a finished run's laporan with their own TTE, then the office seals it.

1. The pelapor signs first: the final laporan is rendered once, with its verification code, its
   naskah number (taken from the unit's register for this run now, `register.reserve`) and
   both signature blocks (the pelapor, and the acknowledging official or his Plt./Plh. in force
   that day), and sent with his passphrase or TOTP to the signing service (`tte`). A failed
   signing keeps the run's number: the next attempt prints the same one.
2. The acknowledging official named on it signs the stored document the same way.
3. Then `laporan.archive_laporan` (the worker) adds the office seal as the last signature and
   archives the file; its SHA-256 is taken after that seal.

Each signing is one call to the service in the request, outside any transaction; the secret
goes to the service and nowhere else. The lock covers only the compare-and-set and the writes.
A timeout after sending changes nothing stored: the stored document is checked and shows the
signature is not there; it is never signed again behind the person's back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.background.tasks import enqueue_on_commit
from activities.core import events, locking, policy
from activities.core.errors import Forbidden, Invalid, Stale
from activities.documents import laporan, register, signing, tte, verification
from activities.models import (
    ActingAppointment,
    Event,
    LaporanSignature,
    Pegawai,
    Role,
    Run,
    SignedLaporan,
    pegawai_of,
    performed_as,
)

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return tte.configured_service() is not None


def role_title(role: Role, unit) -> str:
    """A role as a signature block names it: the unit's full head title for its head
    (“Kepala Kantor Kesatuan Bangsa dan Politik”), else the role's name."""
    if role.kind == Role.Kind.HEAD and unit.head_title.startswith(role.name):
        return unit.head_title
    return role.name


def official_of(role: Role, unit, day) -> tuple[Pegawai | None, str]:
    """(person, title) of whoever signs for `role` on `day`: the Plt./Plh. in force, else the
    role's holder."""
    appointment = (
        ActingAppointment.objects.in_force(day)
        .filter(role=role)
        .select_related("person__pegawai")
        .order_by("pk")
        .first()
    )
    title = role_title(role, unit)
    if appointment is not None:
        return pegawai_of(appointment.person), f"{appointment.get_kind_display()} {title}"
    holder = role.members.filter(is_active=True, pegawai__isnull=False).order_by("pk").first()
    return pegawai_of(holder), title


@dataclasses.dataclass
class Block:
    """One signature block of the laporan."""

    label: str
    title: str
    name: str
    rank: str
    nip: str
    signed: bool = True


def blocks(signed: SignedLaporan) -> list[Block]:
    return [
        Block(
            _("Pelapor,"),
            signed.reporter_as,
            signed.reporter.full_name,
            signed.reporter.rank,
            signed.reporter.nip or "",
        ),
        Block(
            _("Mengetahui,"),
            signed.acknowledger_as,
            signed.acknowledger.full_name,
            signed.acknowledger.rank,
            signed.acknowledger.nip or "",
        ),
    ]


def _acknowledger(run: Run, day) -> tuple[Pegawai, str]:
    """(person, title) of the official who acknowledges run `run`'s laporan signed on `day`."""
    role = run.sop.acknowledging_role()
    if role is None:
        raise Invalid(_("SOP ini belum menetapkan jabatan yang mengetahui laporan."))
    acknowledger, acknowledger_as = official_of(role, run.unit, day)
    if acknowledger is None or acknowledger.user_id is None:
        raise Invalid(
            _("Belum ada pegawai pemegang jabatan %(role)s yang dapat menandatangani laporan.")
            % {"role": role.name}
        )
    return acknowledger, acknowledger_as


def _render(run: Run, reporter: Pegawai, reporter_as: str, now) -> tuple[bytes, SignedLaporan]:
    """The laporan as its officials sign it, with the run's naskah number, taken now if it has
    none yet (checked first: a laporan that cannot be signed takes no number)."""
    day = timezone.localdate(now)
    acknowledger, acknowledger_as = _acknowledger(run, day)
    naskah = register.reserve(run, now=now)
    signed = SignedLaporan(
        run=run,
        code=verification.new_code(),
        rendered_at=now,
        reporter=reporter,
        reporter_as=reporter_as,
        acknowledger=acknowledger,
        acknowledger_as=acknowledger_as,
        nomor=naskah.nomor,
        klasifikasi=naskah.klasifikasi,
    )
    report = laporan.build_run_report(run.pk, now=now, code=signed.code, naskah=naskah)
    report.signature_blocks = blocks(signed)
    report.signed_on = day
    report.tte = "bsre" if isinstance(tte.configured_service(), tte.EsignClient) else "demo"
    return laporan.pdf.render_pdf(laporan.LAPORAN_TEMPLATE, {"report": report}), signed


def _read_stored(signed: SignedLaporan) -> bytes:
    with default_storage.open(signed.file.name, "rb") as handle:
        return handle.read()


def sign(*, run_id: int, user, credential: tte.Credential, now=None) -> LaporanSignature:
    """The user's TTE on the next block of run `run_id`'s laporan."""
    service = tte.configured_service()
    if service is None:
        raise Invalid(_("Tanda tangan elektronik pegawai belum diaktifkan di server ini."))
    now = now or timezone.now()
    run = Run.objects.select_related("sop", "unit").get(pk=run_id)
    signed = (
        SignedLaporan.objects.filter(run=run).select_related("reporter", "acknowledger").first()
    )
    actor = policy.laporan_signer(user, run, signed)
    if actor is None:
        raise Forbidden(_("Laporan ini tidak menunggu tanda tangan Anda."))
    person = pegawai_of(user)
    if person is None or not person.nip:
        raise Invalid(_("Data pegawai Anda (NIP) belum tercatat; hubungi pengelola kepegawaian."))
    if signed is None:
        position = LaporanSignature.Position.REPORTER
        reporter_as = performed_as(actor.role, actor.acting, run.sop)
        data, signed = _render(run, person, reporter_as, now)
        version = 0
    else:
        position = LaporanSignature.Position.ACKNOWLEDGER
        data = _read_stored(signed)
        version = signed.version
    appearance = tte.Appearance(
        reason=_("Laporan kegiatan %(title)s") % {"title": run.title[:150]},
        location=run.unit.name,
        field=f"TTE-{position}",
    )
    who = tte.Person(
        name=person.full_name, nip=person.nip or "", nik=person.nik, email=person.email
    )
    sent = hashlib.sha256(data).hexdigest()
    try:
        returned = service.sign_pdf(data, person=who, credential=credential, appearance=appearance)
    except tte.OutcomeUnknown:
        _record_unknown(run, actor, position, sent, signed if version else None, now)
        raise
    check = tte.check_signed(data, returned, signatures=position)
    return _store(run, actor, person, signed, position, version, returned, check, now)


def _record_unknown(run, actor, position, sent, signed, now) -> None:
    """Record a signing that got no answer. The stored document is read back: it is the one
    sent, without this signature, so nothing is signed twice when the person tries again."""
    stored = "" if signed is None else hashlib.sha256(_read_stored(signed)).hexdigest()
    with transaction.atomic():
        events.record(
            Event.Kind.SIGNING_UNKNOWN,
            actor=actor,
            at=now,
            run=run,
            after={"position": position, "sent_sha256": sent, "stored_sha256": stored},
        )


def _store(run, actor, person, signed, position, version, data, check, now) -> LaporanSignature:
    digest = hashlib.sha256(data).hexdigest()
    name = default_storage.save(
        f"tte/{now:%Y}/laporan-{run.pk}-{position}-{digest[:12]}.pdf", ContentFile(data)
    )
    try:
        with transaction.atomic():
            locking.locked_get(Run.objects.select_for_update(of=("self",)), run.pk)
            current = SignedLaporan.objects.filter(run=run).first()
            if (current.version if current else 0) != version or (
                current is not None and current.signatures.filter(position=position).exists()
            ):
                raise Stale(_("Laporan ini baru saja ditandatangani. Muat ulang halamannya."))
            if current is None and _renumbered(run, signed):
                raise Stale(
                    _(
                        "Kode klasifikasi kegiatan ini baru saja diubah, sehingga nomor naskah "
                        "pada laporan yang Anda tandatangani tidak berlaku lagi. Muat ulang "
                        "halamannya dan tandatangani lagi."
                    )
                )
            old = current.file.name if current is not None else ""
            signed.file.name = name
            signed.sha256 = digest
            signed.version = version + 1
            signed.save()
            last = check.signatures[-1]
            signature = LaporanSignature.objects.create(
                laporan=signed,
                position=position,
                pegawai=person,
                user=actor.user,
                signed_as=(
                    signed.reporter_as
                    if position == LaporanSignature.Position.REPORTER
                    else signed.acknowledger_as
                ),
                signed_at=now,
                sha256=digest,
                certificate_subject=last.signer[:500],
            )
            events.record(
                Event.Kind.LAPORAN_SIGNED,
                actor=actor,
                at=now,
                run=run,
                after={
                    "position": position,
                    "nip": person.nip,
                    "sha256": digest,
                    "certificate": last.signer,
                    "code": signed.code,
                },
            )
            if position == LaporanSignature.Position.ACKNOWLEDGER:
                enqueue_on_commit(laporan.archive_laporan, run.pk)
    except Exception:
        default_storage.delete(name)
        raise
    if old:
        # The earlier state of the document is inside the new one (an incremental update).
        transaction.on_commit(lambda: default_storage.delete(old))
    return signature


def _renumbered(run: Run, signed: SignedLaporan) -> bool:
    """Whether the run's number reads otherwise now than on the page just signed (its kode
    klasifikasi changed while the pelapor signed). Call with the run's row locked."""
    taken = register.naskah_taken(run)
    return taken is None or taken.nomor != signed.nomor


def complete(run: Run) -> SignedLaporan | None:
    """The signed laporan of `run` once every official has signed it, else None."""
    signed = SignedLaporan.objects.filter(run=run).first()
    if signed is None or signed.signatures.count() < 2:
        return None
    return signed


def pending_document(run: Run) -> bytes | None:
    """What the laporan is while it waits for signatures: the partly signed file, if any."""
    signed = SignedLaporan.objects.filter(run=run).first()
    return _read_stored(signed) if signed is not None else None


def verify_stored(signed: SignedLaporan) -> signing.SignatureCheck:
    return signing.verify_signature(_read_stored(signed))
