"""Acting officials: appointing a Plt./Plh. of a role for a date range, and ending it early.

While an appointment is in force (`ActingAppointment.objects.in_force(today)`), the policy
gives the person the role's steps: they are in his inbox at once and leave it when the range
ends, with nothing stored to clean up. Both services lock the role row, so two appointments
for one role cannot overlap even when they are made at the same moment, and each records an
`Event`.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from activities.core import events, locking, policy
from activities.core.errors import Forbidden, Invalid, Stale
from activities.models import (
    Acting,
    ActingAppointment,
    Event,
    Role,
    normalize_nip,
    pegawai_of,
)

# A surat perintah for a Plh. covers days or weeks; a year is far beyond any real one and
# catches a mistyped year.
MAX_DAYS = 366


def day_display(value):
    return formats.date_format(value, "j F Y")


def _appointer(user, unit_id):
    actor = policy.unit_actor(user, "appoint_acting", unit_id, policy.fresh_subject(user))
    if actor is None:
        raise Forbidden(_("Jabatan Anda tidak berwenang menunjuk Plt./Plh. di unit ini."))
    return actor


def _overlapping(role, start_date, end_date):
    return (
        ActingAppointment.objects.filter(role=role, ended_at__isnull=True)
        .filter(start_date__lte=end_date, end_date__gte=start_date)
        .select_related("person")
        .first()
    )


@transaction.atomic
def appoint(
    *,
    user,
    role,
    person,
    kind,
    start_date,
    end_date,
    letter_number,
    letter_date,
    reason,
    person_rank="",
    person_nip="",
    now=None,
):
    """Appoint `person` as Plt./Plh. of `role` from `start_date` to `end_date` (inclusive)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    actor = _appointer(user, role.unit_id)
    role = locking.locked_get(Role.objects.select_for_update().select_related("unit"), role.pk)
    letter_number, reason = (letter_number or "").strip(), (reason or "").strip()
    if kind not in Acting.values:
        raise Invalid(_("Pilih Plt. atau Plh."), field="kind", code="required")
    if not letter_number:
        raise Invalid(
            _("Nomor surat perintah wajib diisi."), field="letter_number", code="required"
        )
    if not reason:
        raise Invalid(_("Alasan penunjukan wajib diisi."), field="reason", code="required")
    if start_date is None or end_date is None or letter_date is None:
        raise Invalid(_("Tanggal mulai, sampai dan tanggal surat wajib diisi."), code="required")
    if end_date < start_date:
        raise Invalid(
            _("Tanggal sampai tidak boleh sebelum tanggal mulai."), field="end_date", code="order"
        )
    if start_date < today:
        raise Invalid(
            _("Penunjukan tidak dapat dimulai di masa lalu (hari ini %(today)s).")
            % {"today": day_display(today)},
            field="start_date",
            code="past",
        )
    if (end_date - start_date).days >= MAX_DAYS:
        raise Invalid(
            _("Penunjukan paling lama satu tahun; periksa tanggalnya."),
            field="end_date",
            code="too_long",
        )
    if letter_date > today:
        raise Invalid(
            _("Tanggal surat perintah tidak boleh di masa depan."),
            field="letter_date",
            code="future",
        )
    if person.pk == user.pk:
        raise Invalid(
            _("Anda tidak dapat menunjuk diri sendiri sebagai Plt./Plh."),
            field="person",
            code="self",
        )
    if not person.is_active or not person.sop_roles.filter(unit_id=role.unit_id).exists():
        raise Invalid(
            _("%(person)s bukan pegawai %(unit)s; Plt./Plh. harus dari unit yang sama.")
            % {"person": person.get_full_name() or person.get_username(), "unit": role.unit},
            field="person",
            code="other_unit",
        )
    if person.sop_roles.filter(pk=role.pk).exists():
        raise Invalid(
            _("%(person)s sudah memegang jabatan %(role)s.")
            % {"person": person.get_full_name() or person.get_username(), "role": role.name},
            field="person",
            code="holder",
        )
    clash = _overlapping(role, start_date, end_date)
    if clash is not None:
        raise Invalid(
            _(
                "Sudah ada %(title)s pada %(start)s – %(end)s (%(person)s); "
                "rentang tanggal penunjukan untuk satu jabatan tidak boleh bertumpuk."
            )
            % {
                "title": clash.title,
                "start": day_display(clash.start_date),
                "end": day_display(clash.end_date),
                "person": clash.person.get_full_name() or clash.person.get_username(),
            },
            field="start_date",
            code="overlap",
        )
    # The appointee's pangkat and NIP as his person record has them on the day (kept with the
    # surat perintah).
    record = pegawai_of(person)
    appointment = ActingAppointment.objects.create(
        unit_id=role.unit_id,
        role=role,
        person=person,
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        letter_number=letter_number,
        letter_date=letter_date,
        reason=reason,
        person_rank=(person_rank or "").strip() or (record.rank if record else ""),
        person_nip=normalize_nip(person_nip or "") or ((record.nip or "") if record else ""),
        appointed_by=user,
    )
    events.record(
        Event.Kind.APPOINTED,
        actor=actor,
        at=now,
        appointment=appointment,
        after={
            "role": role.name,
            "unit": role.unit_id,
            "person": person.get_username(),
            "kind": kind,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "letter_number": letter_number,
            "letter_date": letter_date.isoformat(),
            "reason": reason,
        },
    )
    return appointment


@transaction.atomic
def end(appointment, *, user, now=None):
    """End an appointment before its range is over (the holder is back early)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    actor = _appointer(user, appointment.unit_id)
    locking.locked_get(Role.objects.select_for_update(), appointment.role_id)
    appointment = ActingAppointment.objects.select_related("role").get(pk=appointment.pk)
    if appointment.ended_at is not None or appointment.end_date < today:
        raise Stale(_("Penunjukan ini sudah berakhir."), code="ended")
    appointment.ended_at = now
    appointment.save(update_fields=["ended_at"])
    events.record(
        Event.Kind.APPOINTMENT_ENDED,
        actor=actor,
        at=now,
        appointment=appointment,
        before={"end_date": appointment.end_date.isoformat()},
        after={"ended_on": today.isoformat()},
    )
    return appointment


def candidates(unit_ids):
    """People who may be appointed in these units: active users holding a role there."""
    return (
        get_user_model()
        .objects.filter(is_active=True, sop_roles__unit_id__in=unit_ids)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def default_range(today):
    """Next week, Monday to Friday: the usual shape of a Plh. for a week's leave."""
    monday = today + datetime.timedelta(days=7 - today.weekday())
    return monday, monday + datetime.timedelta(days=4)
