"""The transitions of a run: who may do what, in which order, and what each one leaves behind."""

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from activities.authoring.lifecycle import copy_as_revision
from activities.background import tasks
from activities.core import policy, workflow
from activities.core.workflow import WorkflowError
from activities.models import Event, Notification, Run, Sop, StepRun

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def wib(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WIB)


def open_run(sop, user, *, now=None, title="Sosialisasi Wawasan Kebangsaan"):
    return workflow.open_run(
        sop=sop,
        user=user,
        title=title,
        scheduled_on=datetime.date(2026, 9, 21),
        place="Aula Kecamatan Cibodas",
        notes="Peserta 50 orang",
        now=now,
    )


def holder(run, number):
    """A user holding the first role of step `number` of the run's SOP."""
    step = run.sop.steps.get(number=number)
    return step.roles.order_by("position", "name").first().members.order_by("pk").first()


def act(run, number, user=None, **times):
    """Do step `number` the ordinary way: complete a process step, approve an approval step.
    A joint step is signed off by a holder of each of its roles (`user` signs first)."""
    step = run.sop.steps.get(number=number)
    if step.is_joint and user is None:
        for role in step.roles.order_by("position", "name"):
            closed = act(run, number, role.members.order_by("pk").first(), **times)
        return closed
    user = user or holder(run, number)
    if step.is_approval:
        return workflow.approve_step(
            run_id=run.pk, number=number, user=user, instruction="Lanjutkan.", **times
        )
    return workflow.complete_step(run_id=run.pk, number=number, user=user, **times)


def send_back(run, number, user=None, **times):
    user = user or holder(run, number)
    return workflow.return_step(
        run_id=run.pk, number=number, user=user, reason="Perbaiki dulu.", **times
    )


def states(run):
    """{(step number, round): state} of every step run."""
    return {
        (sr.step.number, sr.round): sr.state for sr in run.step_runs.select_related("step").all()
    }


def kinds(run):
    return list(run.events.order_by("at", "id").values_list("kind", flat=True))


def snapshot(run):
    """Everything a refused transition must leave untouched."""
    run.refresh_from_db()
    return (
        run.status,
        run.cancel_reason,
        list(run.step_runs.order_by("pk").values_list("pk", "state", "version", "completed_by")),
        run.events.count(),
    )


# --- opening ---------------------------------------------------------------------------------


def test_open_activates_step_one_and_leaves_the_rest_waiting(sop1, users):
    run = open_run(sop1, users["kasi"])

    assert run.status == Run.Status.RUNNING
    assert run.sop == sop1 and run.unit == sop1.unit and run.opened_by == users["kasi"]
    expected = {(n, 1): StepRun.State.WAITING for n in range(2, 16)}
    expected[(1, 1)] = StepRun.State.ACTIVE
    assert states(run) == expected
    first = run.step_runs.get(step__number=1)
    assert first.activated_at == run.opened_at
    assert kinds(run) == [Event.Kind.OPENED, Event.Kind.ACTIVATED]
    opened = run.events.get(kind=Event.Kind.OPENED)
    assert opened.actor == users["kasi"] and not opened.on_behalf
    assert opened.after["sop_version"] == 1
    assert run.events.get(kind=Event.Kind.ACTIVATED).step_run == first


@pytest.mark.parametrize("username", ["staf", "kepala", "kasubag_tu", "outsider", "subkor"])
def test_only_a_role_that_opens_runs_opens_a_run(sop1, users, username):
    assert not policy.can_open(users[username], sop1)
    with pytest.raises(WorkflowError) as error:
        open_run(sop1, users[username])
    assert error.value.code == "forbidden"
    assert not Run.objects.exists() and not Event.objects.exists()


def test_can_open_for_the_opening_role_and_superuser(sop1, sop2, users):
    assert policy.can_open(users["kasi"], sop1)
    assert policy.can_open(users["subkor"], sop2)
    assert not policy.can_open(users["kasi"], sop2)
    assert policy.can_open(users["admin"], sop1)


def test_superuser_opens_on_behalf_and_it_is_logged(sop1, users):
    run = open_run(sop1, users["admin"])
    opened = run.events.get(kind=Event.Kind.OPENED)
    assert opened.actor == users["admin"] and opened.on_behalf
    # The row keeps a copy for the run's pages; a run opened in one's own role has none.
    assert Run.objects.get(pk=run.pk).opened_on_behalf
    assert not Run.objects.get(pk=open_run(sop1, users["kasi"]).pk).opened_on_behalf


def test_runs_opened_on_behalf_before_the_row_said_so_are_marked_from_their_events(sop1, users):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("activities.migrations.0041_run_opened_on_behalf")
    by_admin, by_kasi = open_run(sop1, users["admin"]), open_run(sop1, users["kasi"])
    Run.objects.update(opened_on_behalf=False)
    migration.copy_from_events(apps, None)
    assert Run.objects.get(pk=by_admin.pk).opened_on_behalf
    assert not Run.objects.get(pk=by_kasi.pk).opened_on_behalf


@pytest.mark.parametrize("status", [Sop.Status.DRAFT, Sop.Status.RETIRED])
def test_a_draft_or_retired_sop_cannot_be_run(sop1, users, status):
    Sop.objects.filter(pk=sop1.pk).update(status=status)
    with pytest.raises(WorkflowError) as error:
        open_run(sop1, users["kasi"])
    assert error.value.code == "sop_inactive"
    assert not Run.objects.exists()


@pytest.mark.parametrize("field", ["title", "place"])
def test_open_needs_title_and_place(sop1, users, field):
    values = {"title": "Sosialisasi", "place": "Aula"} | {field: "   "}
    with pytest.raises(WorkflowError) as error:
        workflow.open_run(
            sop=sop1, user=users["kasi"], scheduled_on=datetime.date(2026, 9, 21), **values
        )
    assert (error.value.code, error.value.field) == ("required", field)
    assert not Run.objects.exists()


# --- completing in order ----------------------------------------------------------------------


def test_steps_complete_in_order_and_the_next_one_activates(sop1, users):
    run = open_run(sop1, users["kasi"])

    done = workflow.complete_step(
        run_id=run.pk,
        number=1,
        user=users["kasi"],
        output="Nota pertimbangan",
        notes="Dikirim ke Kepala",
        requirements_checked=["Surat", "Undangan"],
    )

    assert done.state == StepRun.State.DONE
    assert done.completed_by == users["kasi"] and done.completed_as.name == "Kasi"
    assert not done.on_behalf
    assert done.output == "Nota pertimbangan" and done.notes == "Dikirim ke Kepala"
    assert done.requirements_checked_list() == ["Surat", "Undangan"]
    assert done.entered_at is not None and done.started_at == done.activated_at
    second = run.step_runs.get(step__number=2)
    assert second.state == StepRun.State.ACTIVE
    assert second.activated_at == done.completed_at
    assert kinds(run)[-2:] == [Event.Kind.COMPLETED, Event.Kind.ACTIVATED]
    completed = run.events.get(kind=Event.Kind.COMPLETED)
    assert completed.before["state"] == StepRun.State.ACTIVE
    assert completed.after["state"] == StepRun.State.DONE
    assert completed.after["role"] == "Kasi"


def test_a_transition_stays_within_a_query_budget(sop1, users, django_assert_num_queries):
    run = open_run(sop1, users["kasi"])  # builds the unit's calendar, kept after (Unit.calendar)
    # Savepoint; lock and read the run; its active and waiting rounds with their steps; the two
    # steps' roles with what the user holds of them; the closed round; the next round's
    # activation; both events in one INSERT; the run's chain head; release. Nothing per step,
    # per role holder or per user: they are told by a task after the commit.
    with django_assert_num_queries(9):
        workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])


@pytest.mark.parametrize("number", [2, 3, 15])
def test_a_step_that_is_not_active_is_refused(sop1, users, number):
    run = open_run(sop1, users["kasi"])
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        act(run, number, users["admin"])
    assert error.value.code == "not_active"
    assert "langkah 1" in error.value.message
    assert snapshot(run) == before


def test_completing_a_step_twice_says_who_was_first(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    with pytest.raises(WorkflowError) as error:
        act(run, 1)
    assert error.value.code == "already_done"
    assert "Budi Santoso" in error.value.message


@pytest.mark.parametrize("username", ["staf", "kepala", "outsider", "subkor", "kabid"])
def test_a_user_without_the_step_role_is_refused(sop1, users, username):
    run = open_run(sop1, users["kasi"])
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.complete_step(run_id=run.pk, number=1, user=users[username])
    assert error.value.code == "forbidden"
    assert snapshot(run) == before


def test_roles_are_unit_scoped(sop2, users):
    # kepala heads Kesbangpol; SOP 2's approvals belong to Diskominfo's Kepala Bidang.
    run = open_run(sop2, users["subkor"])
    act(run, 1)
    act(run, 2)
    with pytest.raises(WorkflowError) as error:
        act(run, 3, users["kepala"])
    assert error.value.code == "forbidden"
    act(run, 3, users["kabid"])


def test_superuser_acts_on_behalf_and_it_is_logged(sop1, users):
    run = open_run(sop1, users["kasi"])
    done = workflow.complete_step(run_id=run.pk, number=1, user=users["admin"])
    assert done.completed_by == users["admin"]
    assert done.on_behalf and done.completed_as is None
    event = run.events.get(kind=Event.Kind.COMPLETED)
    assert event.actor == users["admin"] and event.on_behalf
    assert run.events.get(step_run__step__number=2, kind=Event.Kind.ACTIVATED).on_behalf


def test_holder_of_a_role_who_is_also_superuser_acts_in_his_role(sop1, users):
    kasi = users["kasi"]
    kasi.is_superuser = True
    kasi.save()
    run = open_run(sop1, kasi)
    done = workflow.complete_step(run_id=run.pk, number=1, user=kasi)
    assert not done.on_behalf and done.completed_as.name == "Kasi"


def test_approval_and_process_steps_take_their_own_transition(sop1, users):
    run = open_run(sop1, users["kasi"])
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(run_id=run.pk, number=1, user=users["kasi"], instruction="Ya")
    assert error.value.code == "not_approval"
    with pytest.raises(WorkflowError) as error:
        workflow.return_step(run_id=run.pk, number=1, user=users["kasi"], reason="Tidak")
    assert error.value.code == "not_returnable"
    act(run, 1)
    with pytest.raises(WorkflowError) as error:
        workflow.complete_step(run_id=run.pk, number=2, user=users["kepala"])
    assert error.value.code == "approval"


# --- approving --------------------------------------------------------------------------------


@pytest.mark.parametrize("instruction", ["", "   \n"])
def test_approval_needs_an_instruction(sop1, users, instruction):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(
            run_id=run.pk, number=2, user=users["kepala"], instruction=instruction
        )
    assert (error.value.code, error.value.field) == ("required", "instruction")
    assert snapshot(run) == before


def test_disposisi_deadline_cannot_precede_the_approval(sop1, users):
    now = wib(2026, 9, 8, 10)
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 8, 9))
    act(run, 1, now=wib(2026, 9, 8, 9, 15))
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(
            run_id=run.pk,
            number=2,
            user=users["kepala"],
            instruction="Laksanakan",
            deadline=datetime.date(2026, 9, 7),
            now=now,
        )
    assert (error.value.code, error.value.field) == ("deadline", "deadline")
    assert snapshot(run) == before

    approved = workflow.approve_step(
        run_id=run.pk,
        number=2,
        user=users["kepala"],
        instruction="Laksanakan, koordinasi dengan kecamatan",
        deadline=datetime.date(2026, 9, 8),
        decision_notes="Anggaran dari DPA 2026",
        now=now,
    )
    assert approved.state == StepRun.State.DONE
    assert approved.decision == StepRun.Decision.APPROVED
    assert approved.instruction == "Laksanakan, koordinasi dengan kecamatan"
    assert approved.deadline == datetime.date(2026, 9, 8)
    assert approved.decision_notes == "Anggaran dari DPA 2026"
    assert run.step_runs.get(step__number=3).state == StepRun.State.ACTIVE
    event = run.events.get(kind=Event.Kind.APPROVED)
    assert event.after["instruction"] == "Laksanakan, koordinasi dengan kecamatan"
    assert event.after["deadline"] == "2026-09-08"


# --- returning --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_return_needs_a_reason(sop1, users, reason):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.return_step(run_id=run.pk, number=2, user=users["kepala"], reason=reason)
    assert (error.value.code, error.value.field) == ("required", "reason")
    assert snapshot(run) == before


def test_a_return_reactivates_the_target_in_a_new_round(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)

    returned = workflow.return_step(
        run_id=run.pk, number=2, user=users["kepala"], reason="Lengkapi anggaran"
    )

    assert returned.state == StepRun.State.RETURNED
    assert returned.decision == StepRun.Decision.RETURNED
    assert returned.return_reason == "Lengkapi anggaran"
    assert returned.completed_by == users["kepala"]
    got = states(run)
    assert got[(1, 1)] == StepRun.State.DONE
    assert got[(2, 1)] == StepRun.State.RETURNED
    assert got[(1, 2)] == StepRun.State.ACTIVE
    assert got[(2, 2)] == StepRun.State.WAITING
    assert got[(3, 1)] == StepRun.State.WAITING
    assert len(got) == 17
    again = run.step_runs.get(step__number=1, round=2)
    assert again.activated_at == returned.completed_at
    assert kinds(run)[-2:] == [Event.Kind.RETURNED, Event.Kind.ACTIVATED]
    assert run.events.get(kind=Event.Kind.RETURNED).after["return_to"] == 1


def test_a_return_reruns_every_step_between_target_and_returning_step(sop1, users):
    run = open_run(sop1, users["kasi"])
    for number in range(1, 6):
        act(run, number)

    send_back(run, 6)  # Kepala returns the draft letters to the Staf (step 4)

    got = states(run)
    assert [got[(n, 1)] for n in (4, 5)] == [StepRun.State.DONE] * 2
    assert got[(6, 1)] == StepRun.State.RETURNED
    assert (got[(4, 2)], got[(5, 2)], got[(6, 2)]) == ("active", "waiting", "waiting")
    assert (3, 2) not in got and (7, 2) not in got
    assert got[(7, 1)] == StepRun.State.WAITING

    act(run, 4)
    act(run, 5)
    act(run, 6)
    assert run.step_runs.get(step__number=7).state == StepRun.State.ACTIVE


def test_sop1_from_first_to_last_step_with_two_returns(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    send_back(run, 2)  # → 1
    act(run, 1)
    act(run, 2)
    act(run, 3)
    act(run, 4)
    send_back(run, 5)  # → 4
    for number in range(4, 16):
        act(run, number)

    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    rounds = {}
    for (number, round_), state in states(run).items():
        rounds[number] = max(round_, rounds.get(number, 0))
        assert state in (StepRun.State.DONE, StepRun.State.RETURNED)
    assert rounds == {n: 2 if n in (1, 2, 4, 5) else 1 for n in range(1, 16)}
    assert run.step_runs.filter(state=StepRun.State.RETURNED).count() == 2
    last = run.step_runs.get(step__number=15)
    assert run.finished_at == last.completed_at

    counts = {kind: kinds(run).count(kind) for kind in Event.Kind.values}
    # 19 rounds: 17 done (12 completed, 5 approved) and 2 returned; each closed round but the
    # last activated another one, plus step 1 at opening.
    assert counts == {
        "opened": 1,
        "signed_off": 0,
        "activated": 19,
        "completed": 12,
        "approved": 5,
        "returned": 2,
        "cancelled": 0,
        "finished": 1,
        "attached": 0,
        "archived": 0,
        "klasifikasi": 0,
        "handover_packaged": 0,
        "handover_registered": 0,
        "reminded": 0,
        "escalated": 0,
    } | {
        kind: 0
        for kind in Event.Kind.values
        if kind.startswith(("sop_", "appoint", "laporan_", "signing_", "people_"))
    }
    assert kinds(run)[-2:] == [Event.Kind.COMPLETED, Event.Kind.FINISHED]


def test_a_finished_run_is_read_only(sop2, users):
    run = open_run(sop2, users["subkor"])
    for number in range(1, 10):
        act(run, number)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    before = snapshot(run)

    attempts = [
        lambda: act(run, 9, users["admin"]),
        lambda: act(run, 5, users["admin"]),
        lambda: send_back(run, 5, users["admin"]),
        lambda: workflow.cancel_run(run_id=run.pk, user=users["subkor"], reason="Batal"),
    ]
    for attempt in attempts:
        with pytest.raises(WorkflowError) as error:
            attempt()
        assert error.value.code == "closed"
    assert snapshot(run) == before


# --- cancelling -------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staf", "kepala", "outsider", "subkor"])
def test_only_a_role_that_cancels_runs_cancels(sop1, users, username):
    run = open_run(sop1, users["kasi"])
    assert not policy.can_cancel(users[username], run)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.cancel_run(run_id=run.pk, user=users[username], reason="Batal")
    assert error.value.code == "forbidden"
    assert snapshot(run) == before


def test_cancel_needs_a_reason_and_closes_the_run(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    assert policy.can_cancel(users["kasi"], run)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason=" ")
    assert (error.value.code, error.value.field) == ("required", "reason")
    assert snapshot(run) == before

    cancelled = workflow.cancel_run(
        run_id=run.pk, user=users["kasi"], reason="Narasumber berhalangan"
    )

    assert cancelled.status == Run.Status.CANCELLED
    assert cancelled.cancel_reason == "Narasumber berhalangan"
    assert cancelled.cancelled_at is not None and cancelled.finished_at is None
    event = run.events.get(kind=Event.Kind.CANCELLED)
    assert event.actor == users["kasi"] and event.after["reason"] == "Narasumber berhalangan"
    assert event.before["active"] == [[2, 1]]
    assert run.step_runs.count() == 15  # nothing deleted

    closed = snapshot(run)
    attempts = [
        lambda: act(run, 2),
        lambda: send_back(run, 2),
        lambda: workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason="Lagi"),
    ]
    for attempt in attempts:
        with pytest.raises(WorkflowError) as error:
            attempt()
        assert error.value.code == "closed"
    assert snapshot(run) == closed
    assert not policy.inbox(users["kepala"]).exists()


def test_superuser_cancels_on_behalf(sop1, users):
    run = open_run(sop1, users["kasi"])
    workflow.cancel_run(run_id=run.pk, user=users["admin"], reason="Salah input")
    assert run.events.get(kind=Event.Kind.CANCELLED).on_behalf


# --- hand-entered times -----------------------------------------------------------------------


@pytest.fixture
def yesterdays_run(sop1, users):
    """Step 1 done on Monday afternoon; step 2 active since 14:00."""
    run = open_run(sop1, users["kasi"], now=wib(2026, 9, 7, 13))
    act(run, 1, started_at=wib(2026, 9, 7, 13, 30), completed_at=wib(2026, 9, 7, 14))
    return run


def test_back_filled_times_and_the_moment_of_entry_are_kept(yesterdays_run, users):
    now = wib(2026, 9, 8, 8, 5)
    approved = workflow.approve_step(
        run_id=yesterdays_run.pk,
        number=2,
        user=users["kepala"],
        instruction="Setuju",
        started_at=wib(2026, 9, 7, 15),
        completed_at=wib(2026, 9, 7, 15, 10),
        now=now,
    )
    assert approved.started_at == wib(2026, 9, 7, 15)
    assert approved.completed_at == wib(2026, 9, 7, 15, 10)
    assert approved.entered_at == now
    third = yesterdays_run.step_runs.get(step__number=3)
    assert third.activated_at == wib(2026, 9, 7, 15, 10)
    event = yesterdays_run.events.get(kind=Event.Kind.APPROVED)
    assert event.at == now
    assert event.after["completed_at"] == wib(2026, 9, 7, 15, 10).isoformat()
    assert event.after["entered_at"] == now.isoformat()


@pytest.mark.parametrize(
    ("started_at", "completed_at", "code", "field"),
    [
        (None, wib(2026, 9, 8, 9), "future", "completed_at"),
        (wib(2026, 9, 8, 9), wib(2026, 9, 8, 9, 30), "future", "started_at"),
        (wib(2026, 9, 7, 15), wib(2026, 9, 7, 14, 30), "order", "completed_at"),
        (wib(2026, 9, 7, 13, 59), wib(2026, 9, 7, 15), "before_previous", "started_at"),
        (None, wib(2026, 9, 7, 13, 45), "order", "completed_at"),
    ],
)
def test_entered_times_are_validated(yesterdays_run, users, started_at, completed_at, code, field):
    before = snapshot(yesterdays_run)
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(
            run_id=yesterdays_run.pk,
            number=2,
            user=users["kepala"],
            instruction="Setuju",
            started_at=started_at,
            completed_at=completed_at,
            now=wib(2026, 9, 8, 8),
        )
    assert (error.value.code, error.value.field) == (code, field)
    assert snapshot(yesterdays_run) == before


def test_before_previous_message_names_the_previous_completion(yesterdays_run, users):
    with pytest.raises(WorkflowError) as error:
        workflow.return_step(
            run_id=yesterdays_run.pk,
            number=2,
            user=users["kepala"],
            reason="Ulangi",
            started_at=wib(2026, 9, 7, 13),
            now=wib(2026, 9, 8, 8),
        )
    assert "7 September 2026 14:00" in error.value.message


# --- stale forms, the log, SOP versions ------------------------------------------------------


def test_a_stale_form_is_refused(sop1, users):
    run = open_run(sop1, users["kasi"])
    first = run.step_runs.get(step__number=1)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.complete_step(
            run_id=run.pk, number=1, user=users["kasi"], expected_version=first.version - 1
        )
    assert error.value.code == "stale"
    assert snapshot(run) == before
    done = workflow.complete_step(
        run_id=run.pk, number=1, user=users["kasi"], expected_version=first.version
    )
    assert done.state == StepRun.State.DONE


def test_a_form_of_an_earlier_round_is_stale(sop1, users):
    # Two holders of the approving role: one returns the step while the other still has the
    # form of round 1 open; after the rework that old form must not approve round 2 unseen.
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    form_version = run.step_runs.get(step__number=2, round=1).version
    send_back(run, 2)
    act(run, 1)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(
            run_id=run.pk,
            number=2,
            user=users["kepala"],
            instruction="Setuju",
            expected_version=form_version,
        )
    assert error.value.code == "stale"
    assert snapshot(run) == before


def test_a_form_of_an_earlier_round_names_the_return(sop1, users):
    """The round a form was read for is checked under the lock with its version: after a
    return the step runs again in a new round, and the old form is told so."""
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    send_back(run, 2)
    act(run, 1)
    second = run.step_runs.get(step__number=2, round=2)
    before = snapshot(run)
    with pytest.raises(WorkflowError) as error:
        workflow.approve_step(
            run_id=run.pk,
            number=2,
            user=users["kepala"],
            instruction="Setuju",
            expected_round=1,
            expected_version=second.version,
        )
    assert error.value.code == "round_moved"
    assert "sudah dikembalikan dan dibuka lagi" in error.value.message
    assert snapshot(run) == before
    approved = workflow.approve_step(
        run_id=run.pk,
        number=2,
        user=users["kepala"],
        instruction="Setuju",
        expected_round=2,
        expected_version=second.version,
    )
    assert approved.decision == StepRun.Decision.APPROVED


def test_the_turn_read_without_a_lock_refuses_as_the_transition_does(sop1, users):
    run = open_run(sop1, users["kasi"])
    turn = workflow.read_turn(run_id=run.pk, number=1, user=users["kasi"])
    assert (turn.current.step.number, turn.current.round) == (1, 1)
    assert turn.following.step.number == 2 and turn.actor.role.name
    for number, user, code in [(2, users["kasi"], "not_active"), (1, users["kepala"], "forbidden")]:
        with pytest.raises(WorkflowError) as error:
            workflow.read_turn(run_id=run.pk, number=number, user=user)
        assert error.value.code == code
    with pytest.raises(workflow.NotFound):
        workflow.read_turn(run_id=run.pk + 1000, number=1, user=users["kasi"])
    workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason="Batal")
    with pytest.raises(workflow.Closed):
        workflow.read_turn(run_id=run.pk, number=1, user=users["kasi"])


def test_events_are_append_only(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    event = run.events.get(kind=Event.Kind.COMPLETED)
    event.kind = Event.Kind.CANCELLED
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    assert run.events.get(pk=event.pk).kind == Event.Kind.COMPLETED
    with pytest.raises(ProtectedError):
        run.delete()
    assert Event.objects.filter(run=run).count() == 4


def test_a_run_keeps_the_sop_version_it_was_opened_from(sop1, users):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    original = dict(run.sop.steps.values_list("number", "activity"))
    assert sop1.is_frozen

    revision = copy_as_revision(sop1, user=users["kepala"])
    assert not revision.is_frozen
    revision.steps.filter(number=1).update(activity="Membuat nota dinas elektronik")
    Sop.objects.filter(pk=sop1.pk).update(status=Sop.Status.RETIRED)
    Sop.objects.filter(pk=revision.pk).update(status=Sop.Status.ACTIVE)

    run.refresh_from_db()
    assert run.sop_id == sop1.pk
    texts = {sr.step.number: sr.step.activity for sr in run.step_runs.select_related("step")}
    assert texts == original
    assert texts[1].startswith("Membuat Nota pertimbangan")
    # The running run carries on under its own version.
    act(run, 2)
    with pytest.raises(WorkflowError):
        open_run(sop1, users["kasi"])
    newer = open_run(revision, users["kasi"])
    assert newer.step_runs.get(step__number=1).step.activity == "Membuat nota dinas elektronik"


# --- notifications ----------------------------------------------------------------------------


def test_holders_of_the_activated_step_are_mailed_after_commit(
    sop1, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = open_run(sop1, users["kasi"])
    assert mail.outbox == []  # the Kasi opened it himself

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(run, 1)
    assert len(callbacks) == 1 and mail.outbox == []  # nothing is sent before the commit
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the announcement, which queues the mail once it is written
    assert [message.to for message in mail.outbox] == [[users["kepala"].email]]
    message = mail.outbox[0]
    assert "Langkah 2" in message.subject and run.title in message.subject
    assert f"/kegiatan/{run.pk}/langkah/2/" in message.body


def test_every_holder_of_a_shared_step_is_mailed(sop1, users, django_capture_on_commit_callbacks):
    run = open_run(sop1, users["kasi"])
    for number in range(1, 10):
        act(run, number)
    with django_capture_on_commit_callbacks(execute=True):
        act(run, 10)  # the Staf finishes step 10; step 11 is the Kasi's and the Staf's
    assert [message.to for message in mail.outbox] == [[users["kasi"].email]]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.cancel_run(run_id=run.pk, user=users["kasi"], reason="Ditunda")
    assert mail.outbox == []


def test_on_behalf_activation_mails_the_role_holders(
    sop1, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        open_run(sop1, users["admin"])
    assert [message.to for message in mail.outbox] == [[users["kasi"].email]]


def test_a_failing_mail_server_does_not_undo_the_step(
    sop1, users, settings, django_capture_on_commit_callbacks, caplog
):
    run = open_run(sop1, users["kasi"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        act(run, 1)
    assert run.step_runs.get(step__number=2).state == StepRun.State.ACTIVE
    # The in-app notification is there; the mail was tried, retried a bounded number of times
    # and is left unsent with its error for the admin.
    notification = Notification.objects.get(recipient=users["kepala"], step_run__step__number=2)
    delivery = notification.deliveries.get(channel="email")
    assert delivery.sent_at is None
    assert delivery.attempts == len(tasks.RETRY_DELAYS) + 1
    assert "ConnectionRefusedError" in delivery.last_error
    assert "failed for good after 4 attempts" in caplog.text


def test_returning_notifies_the_target_step(sop1, users, django_capture_on_commit_callbacks):
    run = open_run(sop1, users["kasi"])
    act(run, 1)
    with django_capture_on_commit_callbacks(execute=True):
        send_back(run, 2)
    assert [message.to for message in mail.outbox] == [[users["kasi"].email]]
    assert "Langkah 1" in mail.outbox[0].subject
