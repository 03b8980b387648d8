"""Acting officials (Plt./Plh.): the rules of an appointment, the inbox during and after its
range, what an acting person's act records, and how every document prints it."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from activities.core import acting, policy, workflow
from activities.core.errors import Forbidden, Invalid
from activities.documents import laporan
from activities.models import ActingAppointment, Event, Role, StepRun

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
# Monday 23 November 2026, 09:00 WIB; the Kepala is away the next week.
MONDAY = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=WIB)
NEXT_MONDAY = datetime.date(2026, 11, 30)
NEXT_FRIDAY = datetime.date(2026, 12, 4)
NIP = "197001011995031002"


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def kepala_role():
    return Role.objects.get(unit__short_name="Kesbangpol", name="Kepala")


def appoint(users, *, by="kepala", person="kasubag_tu", start=NEXT_MONDAY, end=NEXT_FRIDAY, **kw):
    values = {
        "role": kepala_role(),
        "person": users[person],
        "kind": "plh",
        "start_date": start,
        "end_date": end,
        "letter_number": "800/123-Kesbangpol/2026",
        "letter_date": datetime.date(2026, 11, 20),
        "reason": "Cuti tahunan",
        "person_rank": "Penata Tk.I, III/d",
        "person_nip": NIP,
    } | kw
    return acting.appoint(user=users[by], **values)


def at_step_two(sop1, users):
    run = workflow.open_run(
        sop=sop1,
        user=users["kasi"],
        title="Sosialisasi wawasan kebangsaan",
        scheduled_on=datetime.date(2026, 12, 10),
        place="Aula",
    )
    workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])
    return run


def test_an_appointment_is_recorded_as_an_event(clock, users, sop1):
    appointment = appoint(users)
    assert appointment.title == "Plh. Kepala"
    event = Event.objects.get(kind=Event.Kind.APPOINTED)
    assert (event.appointment, event.actor, event.role.name) == (
        appointment,
        users["kepala"],
        "Kepala",
    )
    assert event.after["person"] == "kasubag_tu" and event.after["end_date"] == "2026-12-04"


@pytest.mark.parametrize(
    ("changes", "code", "text"),
    [
        ({"start": datetime.date(2026, 11, 20)}, "past", "masa lalu"),
        ({"end": datetime.date(2026, 11, 29)}, "order", "sebelum tanggal mulai"),
        ({"person": "kepala"}, "self", "diri sendiri"),
        ({"person": "kabid"}, "other_unit", "unit yang sama"),
        ({"person": "outsider"}, "other_unit", "unit yang sama"),
        ({"letter_number": " "}, "required", "Nomor surat"),
        ({"reason": ""}, "required", "Alasan"),
        ({"end": datetime.date(2027, 12, 31)}, "too_long", "satu tahun"),
    ],
)
def test_a_wrong_appointment_is_refused_with_a_message(clock, users, sop1, changes, code, text):
    with pytest.raises(Invalid) as error:
        appoint(users, **changes)
    assert error.value.code == code and text in error.value.message
    assert not ActingAppointment.objects.exists() and not Event.objects.exists()


def test_overlapping_appointments_for_one_role_are_refused(clock, users, sop1):
    appoint(users)
    with pytest.raises(Invalid) as error:
        appoint(users, person="kasi", start=NEXT_FRIDAY, end=NEXT_FRIDAY + datetime.timedelta(3))
    assert error.value.code == "overlap" and "Siti Rahmawati" in error.value.message
    # The day after the range is free.
    appoint(
        users,
        person="kasi",
        start=NEXT_FRIDAY + datetime.timedelta(1),
        end=NEXT_FRIDAY + datetime.timedelta(3),
    )
    assert ActingAppointment.objects.count() == 2


@pytest.mark.parametrize("username", ["kasi", "staf", "kasubag_tu", "kabid", "outsider"])
def test_only_a_role_that_appoints_may_appoint(clock, users, sop1, username):
    person = "pengelola" if username == "kasubag_tu" else "kasubag_tu"
    with pytest.raises(Forbidden):
        appoint(users, by=username, person=person)
    assert not ActingAppointment.objects.exists()


def test_the_delegate_has_the_steps_only_during_the_range(clock, users, sop1):
    run = at_step_two(sop1, users)
    appoint(users)
    tu = users["kasubag_tu"]
    assert not policy.Subject(tu).acting
    assert not policy.inbox(tu).filter(run=run).exists()

    clock.move_to(datetime.datetime(2026, 11, 30, 7, 30, tzinfo=WIB))
    assert policy.inbox(tu).filter(run=run).exists()
    # The holder keeps his own access.
    assert policy.inbox(users["kepala"]).filter(run=run).exists()

    clock.move_to(datetime.datetime(2026, 12, 5, 0, 1, tzinfo=WIB))
    assert not policy.inbox(tu).filter(run=run).exists()
    with pytest.raises(Forbidden):
        workflow.approve_step(run_id=run.pk, number=2, user=tu, instruction="Lanjut")


def test_an_act_records_the_person_and_the_role_represented(clock, users, sop1):
    run = at_step_two(sop1, users)
    appointment = appoint(users)
    clock.move_to(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=WIB))
    workflow.approve_step(
        run_id=run.pk, number=2, user=users["kasubag_tu"], instruction="Segera laksanakan"
    )
    step_run = StepRun.objects.get(run=run, step__number=2)
    assert (step_run.completed_by, step_run.completed_as.name, step_run.acting) == (
        users["kasubag_tu"],
        "Kepala",
        "plh",
    )
    assert step_run.performed_as == "Plh. Kepala"
    event = Event.objects.get(run=run, kind=Event.Kind.APPROVED)
    assert (event.actor, event.role.name, event.acting) == (users["kasubag_tu"], "Kepala", "plh")
    assert event.after["appointment"] == appointment.pk


def test_ending_early_removes_the_steps_at_once(clock, users, sop1):
    run = at_step_two(sop1, users)
    appointment = appoint(users, start=datetime.date(2026, 11, 23))
    assert policy.inbox(users["kasubag_tu"]).filter(run=run).exists()
    acting.end(appointment, user=users["kepala"])
    # A new request reads the user again (the policy's facts are cached per request).
    tu = type(users["kasubag_tu"]).objects.get(username="kasubag_tu")
    assert not policy.inbox(tu).filter(run=run).exists()
    assert Event.objects.filter(kind=Event.Kind.APPOINTMENT_ENDED).count() == 1


def test_run_page_and_laporan_print_the_acting_title(clock, client_for, users, sop1):
    run = at_step_two(sop1, users)
    appoint(users)
    clock.move_to(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=WIB))
    workflow.approve_step(run_id=run.pk, number=2, user=users["kasubag_tu"], instruction="Lanjut")
    page = client_for("kepala").get(run.get_absolute_url()).content.decode()
    assert "Siti Rahmawati" in page and "(Plh. Kepala)" in page

    report = laporan.build_run_report(run.pk)
    assert report.dispositions[0].role == "Plh. Kepala"
    assert report.letterhead.head_title.startswith("Plh. Kepala Kantor")
    # Named by her person record, with gelar, pangkat and NIP: typed nowhere else.
    assert report.letterhead.head_name == "Siti Rahmawati, S.E."
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(laporan.render_run_report(run.pk))).pages
    )
    assert "Plh. Kepala Kantor" in text
    assert "NIP 19750211 200003 2 002" in text
    assert "Penata Tk.I, III/d" in text


def test_delegasi_page_appoints_and_refuses_with_messages(clock, client_for, users, sop1):
    client = client_for("kepala")
    response = client.get(reverse("appointment_list"))
    assert response.status_code == 200
    data = {
        "role": kepala_role().pk,
        "kind": "plh",
        "person": users["kasubag_tu"].pk,
        "start_date": "2026-11-30",
        "end_date": "2026-12-04",
        "letter_number": "800/123-Kesbangpol/2026",
        "letter_date": "2026-11-20",
        "reason": "Cuti tahunan",
    }
    assert "Siti Rahmawati, S.E. — NIP 19750211 200003 2 002" in response.content.decode()
    response = client.post(reverse("appointment_list"), data, follow=True)
    assert "ditunjuk sebagai Plh. Kepala" in response.content.decode()
    # Her pangkat and NIP come from her person record; the form does not ask for them.
    appointment = ActingAppointment.objects.get()
    assert (appointment.person_nip, appointment.person_rank) == (
        "197502112000032002",
        "Penata Tk.I, III/d",
    )

    again = client.post(reverse("appointment_list"), data | {"person": users["kasi"].pk})
    assert again.status_code == 200 and "tidak boleh bertumpuk" in again.content.decode()
    past = client.post(reverse("appointment_list"), data | {"start_date": "2026-11-01"})
    assert "masa lalu" in past.content.decode()
    assert ActingAppointment.objects.count() == 1


@pytest.mark.parametrize("username", ["kasi", "kasubag_tu", "staf", "outsider", "subkor"])
def test_delegasi_is_refused_to_roles_that_do_not_appoint(client_for, sop1, username):
    assert client_for(username).get(reverse("appointment_list")).status_code == 403
    assert client_for(username).post(reverse("appointment_list"), {}).status_code == 403


def test_kabid_appoints_only_in_his_own_unit(clock, client_for, users, sop1, sop2):
    response = client_for("kabid").get(reverse("appointment_list"))
    roles = {role.unit.short_name for role in response.context["form"].fields["role"].queryset}
    assert roles == {"Diskominfo"}
    with pytest.raises(Forbidden):
        appoint(users, by="kabid", person="kasubag_tu")


# --- nobody approves his own work ----------------------------------------------------------------


def test_a_plh_may_not_approve_the_step_he_completed(clock, client_for, users, sop1):
    """The Kasi, Plh. Kepala for the week, completed step 1: the Kepala's disposisi of it
    (step 2) is refused him, by the transition and on the page, and nothing is written."""
    run = at_step_two(sop1, users)
    appoint(users, person="kasi")
    clock.move_to(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=WIB))
    before = Event.objects.filter(run=run).count()
    with pytest.raises(Forbidden) as refused:
        workflow.approve_step(run_id=run.pk, number=2, user=users["kasi"], instruction="Lanjut")
    assert refused.value.code == "own_work"
    assert "Anda sendiri yang menyelesaikan langkah 1" in refused.value.message
    assert Event.objects.filter(run=run).count() == before

    client = client_for("kasi")
    page = client.get(f"/kegiatan/{run.pk}/langkah/2/").content.decode()
    assert "Anda sendiri yang menyelesaikan langkah 1" in page
    assert 'value="setujui"' not in page
    assert 'value="kembalikan"' in page  # returning it for rework stays his
    response = client.post(
        f"/kegiatan/{run.pk}/langkah/2/",
        {"action": "setujui", "setuju-instruction": "Lanjut"},
        follow=True,
    )
    assert "Anda sendiri yang menyelesaikan langkah 1" in response.content.decode()
    assert StepRun.objects.get(run=run, step__number=2).state == StepRun.State.ACTIVE

    # Another person acting for the head approves it.
    workflow.approve_step(run_id=run.pk, number=2, user=users["kepala"], instruction="Lanjut")
    assert StepRun.objects.get(run=run, step__number=2).state == StepRun.State.DONE


def test_an_approval_after_someone_elses_work_is_allowed_to_the_plh(clock, users, sop1):
    run = at_step_two(sop1, users)
    appoint(users)  # the Kasubag TU did not complete step 1
    clock.move_to(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=WIB))
    workflow.approve_step(run_id=run.pk, number=2, user=users["kasubag_tu"], instruction="Ya")
    assert StepRun.objects.get(run=run, step__number=2).completed_by == users["kasubag_tu"]


def test_a_plh_records_on_a_later_day_a_step_done_while_appointed(clock, users, sop1, client_for):
    """Done on Wednesday 2 December by the Plh. (appointed 30 Nov–4 Dec), recorded on
    Sunday 6 December: judged by the appointment of the day of the act."""
    appoint(users)
    run = at_step_two(sop1, users)
    done = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=WIB)
    clock.move_to(datetime.datetime(2026, 12, 6, 9, 0, tzinfo=WIB))
    closed = workflow.approve_step(
        run_id=run.pk,
        number=2,
        user=users["kasubag_tu"],
        instruction="Laksanakan",
        started_at=done - datetime.timedelta(minutes=30),
        completed_at=done,
    )
    assert closed.performed_as == "Plh. Kepala"
    event = Event.objects.get(run=run, kind=Event.Kind.APPROVED)
    assert event.acting == "plh" and event.actor == users["kasubag_tu"]


def test_a_plh_appointed_today_cannot_act_for_last_week(clock, users, sop1):
    run = at_step_two(sop1, users)
    clock.move_to(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=WIB))
    appoint(users, start=datetime.date(2026, 11, 30))
    last_week = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=WIB)
    with pytest.raises(Forbidden, match="24 November 2026"):
        workflow.approve_step(
            run_id=run.pk,
            number=2,
            user=users["kasubag_tu"],
            instruction="Laksanakan",
            started_at=last_week - datetime.timedelta(minutes=30),
            completed_at=last_week,
        )
    # Today he may.
    workflow.approve_step(run_id=run.pk, number=2, user=users["kasubag_tu"], instruction="Ya")


def test_the_step_form_records_a_past_act_of_a_plh(clock, users, sop1, client_for):
    appoint(users)
    run = at_step_two(sop1, users)
    clock.move_to(datetime.datetime(2026, 12, 6, 9, 0, tzinfo=WIB))
    current = run.step_runs.get(step__number=2, state=StepRun.State.ACTIVE)
    response = client_for("kasubag_tu").post(
        reverse("step_action", args=[run.pk, 2]),
        {
            "action": "setujui",
            "setuju-round": current.round,
            "setuju-version": current.version,
            "setuju-instruction": "Laksanakan",
            "setuju-started_at": "2026-12-02T09:30",
            "setuju-completed_at": "2026-12-02T10:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    current.refresh_from_db()
    assert current.state == StepRun.State.DONE and current.on_behalf is False
    assert current.performed_as == "Plh. Kepala"
