"""Joint steps: a step every role it names must complete (or a quorum of its holders), each
performer signing off his part; the round closes in the sign-off that meets the rule."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.core import workflow
from activities.core.workflow import WorkflowError
from activities.models import Event, StepRun, StepSignOff
from activities.monitoring import kinerja
from tests.test_run_views import form_data, step_url
from tests.test_workflow import act, open_run, wib


@pytest.fixture
def run7(sop2, users):
    opener = next(
        u for u in users.values() if u.sop_roles.filter(opens_runs=True, unit=sop2.unit).exists()
    )
    run = open_run(sop2, opener, now=wib(2026, 9, 21, 8))
    for number in range(1, 7):
        act(run, number, now=wib(2026, 9, 21, 8, 8 * number))
    return run


def sign(run, user, at, **values):
    return workflow.complete_step(run_id=run.pk, number=7, user=user, now=at, **values)


def test_step_7_of_the_diskominfo_sop_waits_for_both_roles(run7, users):
    first = sign(run7, users["tim"], wib(2026, 9, 21, 10), notes="Tim menyampaikan informasi")
    assert first.sign_offs_needed == 1
    assert [role.name for role in first.awaiting] == ["Kernet/Supir"]
    assert first.following is None
    round7 = StepRun.objects.get(run=run7, step__number=7)
    assert round7.state == StepRun.State.ACTIVE
    assert StepRun.objects.get(run=run7, step__number=8).state == StepRun.State.WAITING

    second = sign(run7, users["supir"], wib(2026, 9, 21, 11), output="Rute Cibodas")
    assert second.sign_offs_needed == 0
    round7.refresh_from_db()
    assert round7.state == StepRun.State.DONE
    assert round7.completed_by == users["supir"]
    # The round runs from its activation to the last sign-off.
    assert round7.completed_at == wib(2026, 9, 21, 11)
    assert "Tim: Tim menyampaikan informasi" in round7.notes
    assert "Kernet/Supir: Rute Cibodas" in round7.output
    assert StepRun.objects.get(run=run7, step__number=8).state == StepRun.State.ACTIVE
    signed = list(
        round7.sign_offs.order_by("entered_at").values_list("user__username", "role__name")
    )
    assert signed == [("tim", "Tim"), ("supir", "Kernet/Supir")]
    kinds = list(
        Event.objects.filter(run=run7, step_run=round7)
        .order_by("seq")
        .values_list("kind", flat=True)
    )
    assert kinds == ["activated", "signed_off", "signed_off", "completed"]


def test_a_second_sign_off_by_the_same_person_is_refused(run7, users):
    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    events = Event.objects.filter(run=run7).count()
    with pytest.raises(WorkflowError) as refused:
        sign(run7, users["tim"], wib(2026, 9, 21, 10, 5))
    assert refused.value.code == "already_signed"
    assert "sudah menyelesaikan bagian Anda" in refused.value.message
    assert Event.objects.filter(run=run7).count() == events
    assert StepSignOff.objects.filter(step_run__run=run7).count() == 1


def test_each_performer_finds_his_sign_off_in_his_e_kinerja_month(run7, users):
    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    sign(run7, users["supir"], wib(2026, 9, 21, 11))
    month = datetime.date(2026, 9, 1)
    for username, role in (("tim", "Tim"), ("supir", "Kernet/Supir")):
        rows = [
            a
            for a in kinerja.activities(users[username], month, person=users[username])
            if a.step == 7
        ]
        assert [(a.username, a.role) for a in rows] == [(username, role)]


def test_the_run_page_says_whom_the_joint_step_still_waits_for(run7, users, client_for):
    sign(run7, users["tim"], wib(2026, 9, 21, 10), notes="Tim menyampaikan informasi")
    page = client_for("tim").get(f"/kegiatan/{run7.pk}/").content.decode()
    assert "menunggu Kernet/Supir" in page
    assert "Tim menyampaikan informasi" in page
    # The Tim member has signed: his step page shows no form, only why.
    step_page = client_for("tim").get(f"/kegiatan/{run7.pk}/langkah/7/").content.decode()
    assert "Bagian Anda sudah tercatat; menunggu Kernet/Supir." in step_page
    assert 'name="action" value="selesai"' not in step_page
    # The driver still has his form.
    driver_page = client_for("supir").get(f"/kegiatan/{run7.pk}/langkah/7/").content.decode()
    assert 'name="action" value="selesai"' in driver_page


def test_the_run_page_reads_the_sign_offs_once_however_many_there_are(run7, users, client_for):
    """Each part names its performer's role as the run's SOP prints it: the round, the run and
    the SOP come with the page, not from a query per part."""
    client = client_for("kabid")
    url = f"/kegiatan/{run7.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    sign(run7, users["supir"], wib(2026, 9, 21, 11))
    with CaptureQueriesContext(connection) as after:
        page = client.get(url).content.decode()
    assert "(Tim)" in page and "(Kernet/Supir)" in page
    # The signed round's step 8 is active now: nothing else on the page changes its queries.
    assert len(after) == len(before), [query["sql"][:80] for query in after]


def test_pages_of_a_run_whose_joint_step_has_not_begun_read_no_sign_offs(sop2, users, client_for):
    """A waiting round has no parts: the run page and the step page of a run before its joint
    step ask nothing of the sign-offs."""
    opener = next(
        u for u in users.values() if u.sop_roles.filter(opens_runs=True, unit=sop2.unit).exists()
    )
    run = open_run(sop2, opener, now=wib(2026, 9, 21, 8))
    act(run, 1, now=wib(2026, 9, 21, 9))
    client = client_for("kabid")
    for url in (f"/kegiatan/{run.pk}/", step_url(run, 3)):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert not [q for q in queries if "activities_stepsignoff" in q["sql"]], url


def test_the_first_performer_posting_the_form_is_told_whom_the_step_waits_for(
    run7, users, client_for
):
    client = client_for("tim")
    data = form_data(run7, 7, "selesai", notes="Menyampaikan informasi")
    response = client.post(step_url(run7, 7), data, follow=True)
    assert (
        "Bagian Anda pada langkah 7 tercatat. Menunggu Kernet/Supir." in response.content.decode()
    )
    # The same form sent again is refused with a message; nothing more is written.
    again = client.post(step_url(run7, 7), data, follow=True)
    assert "Bagian Anda sudah tercatat; menunggu Kernet/Supir." in again.content.decode()
    assert StepSignOff.objects.filter(step_run__run=run7).count() == 1


def test_the_laporan_lists_both_performers_with_their_times(run7, users):
    from activities.documents import laporan

    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    sign(run7, users["supir"], wib(2026, 9, 21, 11))
    report = laporan.build_run_report(run7.pk, now=wib(2026, 9, 21, 12))
    row = next(row for row in report.rows if row.number == 7)
    # Each under the name his person record prints (with gelar where he has one).
    assert [(part.performer, part.role) for part in row.sign_offs] == [
        ("Fajar Nugroho, S.Kom.", "Tim"),
        ("Ujang Suherman", "Kernet/Supir"),
    ]
    assert [part.completed_at for part in row.sign_offs] == [
        wib(2026, 9, 21, 10),
        wib(2026, 9, 21, 11),
    ]


def test_the_statistics_count_every_performers_part(run7, users, client_for):
    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    sign(run7, users["supir"], wib(2026, 9, 21, 11))
    response = client_for("kabid").get(
        f"/sop/{run7.sop_id}/statistik/?dari=2026-09-01&sampai=2026-09-30"
    )
    assert response.context["stats"].sign_offs == [(7, "Kernet/Supir", 1), (7, "Tim", 1)]
    assert "Langkah bersama: bagian tiap pelaksana" in response.content.decode()


def test_a_quorum_approval_returned_by_one_performer_keeps_the_round_sign_offs(sop2, users):
    from django.contrib.auth import get_user_model

    from activities.models import Role, Step

    kabid_role = Role.objects.get(unit=sop2.unit, name="Kepala Bidang DIKP")
    deputy = get_user_model().objects.create_user("wakil", first_name="Wakil Kabid")
    kabid_role.members.add(deputy)
    Step.objects.filter(sop=sop2, number=5).update(completion="quorum", quorum=2)
    opener = next(
        u for u in users.values() if u.sop_roles.filter(opens_runs=True, unit=sop2.unit).exists()
    )
    run = open_run(sop2, opener, now=wib(2026, 9, 21, 8))
    for number in range(1, 5):
        act(run, number, now=wib(2026, 9, 21, 8, 8 * number))
    first = workflow.approve_step(
        run_id=run.pk,
        number=5,
        user=users["kabid"],
        instruction="Setuju.",
        now=wib(2026, 9, 21, 9),
    )
    assert first.sign_offs_needed == 1 and first.following is None
    returned = workflow.return_step(
        run_id=run.pk,
        number=5,
        user=deputy,
        reason="Narasi belum lengkap.",
        now=wib(2026, 9, 21, 9, 30),
    )
    assert returned.state == StepRun.State.RETURNED
    assert list(returned.sign_offs.values_list("user__username", flat=True)) == ["kabid"]
    assert StepRun.objects.get(run=run, step__number=4, round=2).state == StepRun.State.ACTIVE
    new_round = StepRun.objects.get(run=run, step__number=5, round=2)
    assert not new_round.sign_offs.exists()


def test_a_cancelled_run_offers_its_joint_step_to_nobody(run7, users, client_for):
    sign(run7, users["tim"], wib(2026, 9, 21, 10))
    workflow.cancel_run(run_id=run7.pk, user=users["admin"], reason="Hujan deras")
    page = client_for("supir").get(f"/kegiatan/{run7.pk}/").content.decode()
    assert "Kerjakan" not in page
