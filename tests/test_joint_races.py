"""Racing sign-offs of joint steps on PostgreSQL: 200 sign-offs of 20 rounds, each round
needing ten, sent by eight threads at once, round by round, so that the threads sign the same
round together and race to close it. The run's row lock serialises them: every sign-off is
kept, each round closes exactly once and the next step opens once."""

import queue
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from activities.core import workflow
from activities.core.workflow import WorkflowError
from activities.models import Event, Role, Step, StepRun, StepSignOff
from tests.test_workflow import act, open_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RUNS, QUORUM, THREADS = 20, 10, 8


def test_racing_sign_offs_close_each_round_once_and_lose_none(sop2, users):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… to prove row locks")
    tim = Role.objects.get(unit=sop2.unit, name="Tim")
    signers = [users["tim"]] + [
        get_user_model().objects.create_user(f"tim{n}", first_name=f"Anggota {n}")
        for n in range(1, QUORUM)
    ]
    tim.members.add(*signers)
    step = Step.objects.get(sop=sop2, number=7)
    Step.objects.filter(pk=step.pk).update(completion="quorum", quorum=QUORUM)
    step.roles.set([tim])
    opener = (
        get_user_model()
        .objects.filter(sop_roles__unit=sop2.unit, sop_roles__opens_runs=True)
        .first()
    )
    runs = []
    for _ in range(RUNS):
        run = open_run(sop2, opener)
        for number in range(1, 7):
            act(run, number)
        runs.append(run)

    # Round by round: the eight threads take eight sign-offs of one round at once, and the
    # tenth races the first ones of the next round.
    work = queue.Queue()
    for run in runs:
        for signer in signers:
            work.put((run.pk, signer))
    barrier = threading.Barrier(THREADS)
    outcomes, errors = [], []

    def racer():
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            while True:
                try:
                    run_id, signer = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    workflow.complete_step(run_id=run_id, number=7, user=signer)
                    outcomes.append("signed")
                except WorkflowError as error:
                    outcomes.append(error.code)
        except BaseException as error:  # anything else fails the test
            errors.append(error)
        finally:
            connection.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=racer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - began
    assert errors == []
    print(f"\n{len(outcomes)} sign-offs by {THREADS} threads in {elapsed:.1f} s")
    assert outcomes.count("signed") == RUNS * QUORUM
    assert StepSignOff.objects.filter(step_run__run__in=runs).count() == RUNS * QUORUM
    rounds = StepRun.objects.filter(run__in=runs, step__number=7)
    assert rounds.count() == RUNS
    assert all(r.state == StepRun.State.DONE for r in rounds)
    for run in runs:
        assert (
            Event.objects.filter(
                run=run, kind=Event.Kind.COMPLETED, step_run__step__number=7
            ).count()
            == 1
        )
        assert Event.objects.filter(run=run, kind=Event.Kind.SIGNED_OFF).count() == QUORUM
        assert list(
            StepRun.objects.filter(run=run, state=StepRun.State.ACTIVE).values_list(
                "step__number", flat=True
            )
        ) == [8]
