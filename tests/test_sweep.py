"""The deadline sweep: a reminder at 80 % of the standard and at the due time, escalation up the
reports_to chain, one morning digest per user; idempotent, and silent outside office hours."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.background import schedule
from activities.core import chain, events, workflow
from activities.models import Event, Notification, StepRun, update_rows
from activities.notifications import channels
from activities.notifications.channels import render_text
from activities.templatetags.sopflow import waktu
from activities.time import deadlines

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def wib(day, hour, minute=0, month=11):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=WIB)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def staf_step(sop1, users):
    """SOP 1 run whose step 4 (Staf seksi, 60 menit) became active Monday 23 November 08:30."""
    with at(wib(23, 8, 0)):
        run = workflow.open_run(
            sop=sop1,
            user=users["kasi"],
            title="Sosialisasi & Wawasan Kebangsaan",
            scheduled_on=datetime.date(2026, 12, 10),
            place="Aula",
        )
    with at(wib(23, 8, 30)):
        workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])
        workflow.approve_step(run_id=run.pk, number=2, user=users["kepala"], instruction="Ok")
        workflow.complete_step(run_id=run.pk, number=3, user=users["kasi"])
    step_run = run.step_runs.get(step__number=4)
    assert step_run.due_at == wib(23, 9, 30)
    mail.outbox.clear()
    return step_run


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """sweep(moment): the sweep with the clock at `moment`; mails go out after its commits."""

    def run(moment):
        with at(moment), django_capture_on_commit_callbacks(execute=True):
            return deadlines.sweep()

    return run


def events_of(step_run, kind):
    return list(Event.objects.filter(step_run=step_run, kind=kind).order_by("id"))


def test_reminders_then_escalation_up_the_chain_each_sent_once(staf_step, users, sweep):
    assert sweep(wib(23, 9, 10)).reminders == 0  # 40 of 60 minutes: too early

    first = sweep(wib(23, 9, 20))  # 50 of 60 minutes: past 80 %
    assert first.reminders == 1
    assert sweep(wib(23, 9, 21)).as_dict() | {"checked": 0} == deadlines.SweepResult().as_dict()
    (reminder,) = Notification.objects.filter(kind=Notification.Kind.REMINDER)
    assert reminder.recipient == users["staf"]
    assert reminder.url == f"/kegiatan/{staf_step.run_id}/langkah/4/"

    assert sweep(wib(23, 9, 31)).due == 1
    assert sweep(wib(23, 10, 20)).escalations == 0  # 50 minutes late: within the margin
    assert sweep(wib(23, 10, 31)).escalations == 1  # 61 minutes late: to the Kasi
    assert sweep(wib(23, 11, 29)).escalations == 0  # 119 minutes late
    assert sweep(wib(23, 11, 31)).escalations == 1  # 121 office minutes late: to the Kepala
    # The chain ends at the Kepala: nothing more is to come for the round.
    assert StepRun.objects.get(pk=staf_step.pk).next_alert_at is None
    assert sweep(wib(23, 12, 30)).as_dict() == deadlines.SweepResult().as_dict()
    assert sweep(wib(23, 16, 0)).escalations == 0

    escalations = Notification.objects.filter(kind=Notification.Kind.ESCALATION)
    assert sorted(n.recipient.username for n in escalations) == ["kasi", "kepala"]
    assert len(events_of(staf_step, Event.Kind.REMINDED)) == 2
    levels = [e.after["level"] for e in events_of(staf_step, Event.Kind.ESCALATED)]
    assert levels == [1, 2]
    assert events_of(staf_step, Event.Kind.ESCALATED)[0].after["roles"] == ["Kasi"]
    assert events_of(staf_step, Event.Kind.ESCALATED)[0].after["recipients"] == ["kasi"]
    # Each notification went out by mail once (besides Monday's morning digest).
    subjects = [m.subject for m in mail.outbox if "Ringkasan" not in m.subject]
    assert len(subjects) == 4 and len(mail.outbox) == 5


def test_a_late_first_sweep_sends_each_stage_once_and_skips_the_early_reminder(staf_step, sweep):
    result = sweep(wib(23, 13, 31))
    assert (result.reminders, result.due, result.escalations) == (0, 1, 2)
    assert sweep(wib(23, 13, 35)).as_dict()["escalations"] == 0
    assert StepRun.objects.get(pk=staf_step.pk).alert_stage == deadlines.Stage.ESCALATED + 1


def test_the_sweep_is_silent_on_days_off_and_outside_office_hours(sop1, users, sweep):
    with at(wib(27, 16, 20)):  # Friday; step 1 (15 menit) is due Monday 07:35
        run = workflow.open_run(
            sop=sop1,
            user=users["admin"],
            title="X",
            scheduled_on=datetime.date(2026, 12, 10),
            place="Aula",
        )
    mail.outbox.clear()
    step_run = run.step_runs.get(step__number=1)
    # 80 % of 15 minutes: 10 on Friday before 16:30, 2 on Monday from 07:30.
    assert step_run.next_alert_at == wib(30, 7, 32)
    for moment in (wib(27, 20, 0), wib(28, 10, 0), wib(29, 23, 0), wib(30, 7, 20)):
        result = sweep(moment)
        assert result.checked == result.reminders == result.due == 0, moment
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()
    # Only Monday's morning digest (07:00, before the office opens) went out.
    assert [m.subject for m in mail.outbox if "Ringkasan" not in m.subject] == []
    digests = Notification.objects.filter(kind=Notification.Kind.DIGEST)
    assert [n.key for n in digests] == ["digest:2026-11-30"]
    result = sweep(wib(30, 7, 40))  # Monday, in office hours, past the due time
    assert result.due == 1
    assert run.step_runs.get(step__number=1).alert_stage == deadlines.Stage.DUE


def test_one_digest_per_user_each_working_morning(staf_step, users, sweep):
    assert sweep(wib(24, 6, 55)).digests == 0  # before 07:00 WIB
    result = sweep(wib(24, 7, 5))
    assert result.digests == 1  # only the Staf holds an active step
    (digest,) = [m for m in mail.outbox if m.to == [users["staf"].email]]
    assert "Ringkasan tugas Selasa, 24 November 2026" in digest.subject
    assert "Terlambat" in digest.body and "Sosialisasi & Wawasan Kebangsaan" in digest.body
    assert "&amp;" not in digest.body
    assert f"/kegiatan/{staf_step.run_id}/langkah/4/" in digest.body
    assert sweep(wib(24, 9, 0)).digests == 0  # one a day
    assert sweep(wib(25, 7, 1)).digests == 1  # the next working morning


def test_no_digest_on_a_day_off_or_after_office_hours(staf_step, sweep):
    assert sweep(wib(28, 7, 5)).digests == 0  # Saturday
    assert sweep(wib(24, 16, 5)).digests == 0  # Tuesday, after office hours
    assert sweep(wib(24, 16, 5)).digests == 0


def test_the_scheduler_runs_the_sweep_as_a_periodic_job(staf_step, settings):
    assert [job.name for job in schedule.JOBS][0] == "sweep_deadlines"
    with at(wib(23, 9, 31)):
        assert "sweep_deadlines" in schedule.run_due_jobs()
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 1


def test_the_command_prints_its_counts(staf_step, capsys):
    with at(wib(23, 9, 31)):
        call_command("sweep_deadlines")
    assert "1 due" in capsys.readouterr().out


def open_runs(sop, user, count, moment, *, cancel=False):
    runs = []
    for index in range(count):
        with at(moment):
            run = workflow.open_run(
                sop=sop,
                user=user,
                title=f"R{index}",
                scheduled_on=datetime.date(2026, 12, 10),
                place="Aula",
            )
            if cancel:
                workflow.cancel_run(run_id=run.pk, user=user, reason="Ditunda")
        runs.append(run)
    return runs


def test_a_sweep_with_nothing_due_is_two_queries_whatever_the_active_steps(
    staf_step, sop2, users, django_assert_num_queries, sweep
):
    open_runs(sop2, users["subkor"], 5, wib(23, 8, 0))
    open_runs(sop2, users["subkor"], 3, wib(23, 8, 0), cancel=True)
    sweep(wib(23, 8, 5))  # the morning digest, once a day
    # The rounds whose alert has come (none), and whether the digest is due: nothing else.
    with django_assert_num_queries(2):
        result = sweep(wib(23, 8, 6))
    assert result.as_dict() == deadlines.SweepResult().as_dict()
    with django_assert_num_queries(1):  # before the digest time: one query
        sweep(wib(23, 6, 30))


def test_the_sweep_s_queries_do_not_grow_with_the_alerts_it_sends(sop2, users, sweep):
    def queries_for(count, day):
        runs = open_runs(sop2, users["subkor"], count, wib(day, 8, 0))
        sweep(wib(day, 7, 55))  # the digest of that morning, before the runs were opened
        # The sweep alone: the deliveries it queues run after its commits, in their tasks.
        with at(wib(day, 15, 0)), CaptureQueriesContext(connection) as captured:
            result = deadlines.sweep()
        assert result.due == count and result.escalations >= count
        for run in runs:
            (step_run,) = run.step_runs.filter(state=StepRun.State.ACTIVE)
            assert step_run.alert_stage >= deadlines.Stage.ESCALATED
        return len(captured)

    # Step 1 of SOP 2 (15 menit) was due at 08:15: by 15:00 due, and escalated up the chain.
    # Per batch: the runs locked, the rounds, their update, the notifications already sent,
    # the notifications and deliveries, the events (runs locked, one INSERT, the runs' heads).
    one = queries_for(1, 24)
    eight = queries_for(8, 25)
    assert eight == one


def test_after_an_outage_the_office_hours_still_hold_and_a_killed_sweep_resumes(
    staf_step, sop2, users, sweep, monkeypatch
):
    """A sweep killed half-way keeps its finished batches, and the next sends each of the
    rest once, the hash chains whole."""
    runs = [staf_step.run, *open_runs(sop2, users["subkor"], 4, wib(23, 8, 0))]
    # Nobody swept on Monday: at 20:00 the office is closed, so nothing is sent yet.
    result = sweep(wib(23, 20, 0))
    assert result.silent == 5 and result.checked == 0
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()

    monkeypatch.setattr(deadlines._Sweep, "BATCH", 2)
    calls = []
    real = events.record_many

    def dies_on_the_second_batch(entries):
        calls.append(len(entries))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(entries)

    monkeypatch.setattr(events, "record_many", dies_on_the_second_batch)
    with pytest.raises(RuntimeError):
        sweep(wib(24, 7, 45))
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 2
    assert StepRun.objects.filter(alert_stage__gt=0).count() == 2

    monkeypatch.setattr(events, "record_many", real)
    result = sweep(wib(24, 7, 46))
    assert result.due == 3
    reminders = Notification.objects.filter(kind=Notification.Kind.REMINDER)
    assert reminders.count() == 5 and len({n.step_run_id for n in reminders}) == 5
    assert sweep(wib(24, 7, 47)).due == 0
    for run in runs:
        run.refresh_from_db()
        rows = list(Event.objects.filter(run=run))
        assert chain.verify_run(run.pk, rows, run.event_count, run.event_head) is None
        assert [e.kind for e in rows].count(Event.Kind.REMINDED) == 1


def test_the_next_alert_is_set_on_activation_and_cleared_when_the_round_closes(
    staf_step, sop2, users
):
    # Step 4: 60 minutes from 08:30, the reminder at 80 %.
    assert staf_step.next_alert_at == wib(23, 9, 18)
    with at(wib(23, 9, 0)):
        workflow.complete_step(run_id=staf_step.run_id, number=4, user=users["staf"])
    staf_step.refresh_from_db()
    assert staf_step.next_alert_at is None
    following = StepRun.objects.get(run=staf_step.run, state=StepRun.State.ACTIVE)
    assert following.next_alert_at is not None and following.next_alert_at > wib(23, 9, 0)
    (run,) = open_runs(sop2, users["subkor"], 1, wib(23, 8, 0), cancel=True)
    assert not run.step_runs.filter(next_alert_at__isnull=False).exists()


def test_the_escalation_names_the_late_step_s_roles_as_text(staf_step, users, sweep):
    sweep(wib(23, 10, 31))  # 61 minutes late: to the Kasi
    (escalation,) = Notification.objects.filter(kind=Notification.Kind.ESCALATION)
    assert "Langkah 4 (Staf seksi) melewati jatuh tempo" in escalation.body
    assert "QuerySet" not in escalation.body and "<Role" not in escalation.body
    (message,) = [m for m in mail.outbox if m.to == [users["kasi"].email]]
    assert "Langkah 4 (Staf seksi) melewati jatuh tempo" in message.body


def test_the_migration_gives_active_rounds_a_next_alert_no_later_than_the_true_one(
    staf_step, sop2, users, sweep
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("activities.migrations.0037_round_next_alert")
    (cancelled,) = open_runs(sop2, users["subkor"], 1, wib(23, 8, 0), cancel=True)
    exact = staf_step.next_alert_at
    StepRun.objects.update(next_alert_at=None)
    migration.fill(apps, None)
    staf_step.refresh_from_db()
    assert staf_step.next_alert_at is not None and staf_step.next_alert_at <= exact
    assert not cancelled.step_runs.filter(next_alert_at__isnull=False).exists()
    # A sweep before that moment sends nothing, and the moment stays.
    assert sweep(wib(23, 9, 0)).reminders == 0
    staf_step.refresh_from_db()
    assert staf_step.next_alert_at == exact


def test_alerts_of_different_runs_in_one_batch_each_say_their_own_round(
    staf_step, sop2, users, sweep
):
    """The subjects and bodies are filled from one rendering per template and variant: each
    still names its own run, SOP, step, due time and link, as a rendering of its own would."""
    with at(wib(23, 8, 0)):
        other = workflow.open_run(
            sop=sop2,
            user=users["subkor"],
            title="Wawaran 100% & <tuntas>",
            scheduled_on=datetime.date(2026, 12, 10),
            place="Balai",
        )
    result = sweep(wib(23, 9, 31))  # step 4 of the first just due; step 1 of the other late
    assert (result.due, result.escalations) == (2, 1)
    notes = Notification.objects.filter(
        kind__in=[Notification.Kind.REMINDER, Notification.Kind.ESCALATION]
    ).select_related("step_run__step", "run__sop")
    assert {note.run_id for note in notes} == {staf_step.run_id, other.pk}
    for note in notes:
        step_run, run = note.step_run, note.run
        stranger = other if run.pk == staf_step.run_id else staf_step.run
        values = {
            "number": step_run.step.number,
            "at": waktu(step_run.due_at),
            "title": run.title,
            "sop": run.sop.name,
            "activity": step_run.step.activity,
            "standard": step_run.step.standard_display,
            "roles": step_run.roles_display,
        }
        if note.kind == Notification.Kind.REMINDER:
            template, context = "reminder", values | {"due": True}
            assert note.url == f"/kegiatan/{run.pk}/langkah/{step_run.step.number}/"
        else:
            template, context = "escalation", values
            assert note.url == run.get_absolute_url()
        assert note.body == render_text(f"emails/{template}.txt", context)
        assert note.subject == render_text(f"emails/{template}_subject.txt", context).strip()
        assert run.title in note.subject and stranger.title not in note.body
        assert f"Langkah {step_run.step.number}: {step_run.step.activity}" in note.body


def test_each_alert_template_is_rendered_once_per_sweep_whatever_the_alerts(
    sop2, users, sweep, monkeypatch
):
    runs = open_runs(sop2, users["subkor"], 6, wib(24, 8, 0))
    sweep(wib(24, 7, 55))  # the morning digest, before the runs were opened
    rendered = []
    real = channels.render_text

    def counted(template_name, context):
        rendered.append((template_name, context.get("due")))
        return real(template_name, context)

    monkeypatch.setattr(channels, "render_text", counted)
    monkeypatch.setattr(deadlines._Sweep, "BATCH", 4)  # two batches, one stencil per sweep
    result = sweep(wib(24, 15, 0))
    assert result.due == 6 and result.escalations >= 6
    assert sorted(rendered) == [
        ("emails/escalation.txt", None),
        ("emails/escalation_subject.txt", None),
        ("emails/reminder.txt", True),
        ("emails/reminder_subject.txt", True),
    ]
    bodies = Notification.objects.filter(kind=Notification.Kind.REMINDER).values_list(
        "run__title", "body"
    )
    assert sorted(title for title, body in bodies if f"Kegiatan: {title}\n" in body) == sorted(
        run.title for run in runs
    )


def test_a_stencil_fills_in_values_as_they_are(db):
    stencil = channels.Stencil("emails/escalation_subject.txt", {}, deadlines.ALERT_TEXTS)
    odd = "A\x001\x00 %(number)s {{ title }} & <b>"
    values = {"number": 7, "title": odd}
    assert stencil.fill(values) == render_text("emails/escalation_subject.txt", values)
    assert odd in stencil.fill(values)


def test_a_digest_lists_the_first_rows_of_each_list_and_links_to_the_rest(
    sop2, users, sweep, monkeypatch, settings
):
    monkeypatch.setattr(deadlines, "DIGEST_ROWS", 3)
    runs = open_runs(sop2, users["subkor"], 5, wib(23, 8, 0))  # step 1 due 08:15
    assert sweep(wib(24, 7, 5)).digests >= 1  # Tuesday, before the office opens
    (digest,) = [
        note
        for note in Notification.objects.filter(kind=Notification.Kind.DIGEST)
        if f"/kegiatan/{runs[0].pk}/langkah/1/" in note.body
    ]
    listed = [run for run in runs if f"/kegiatan/{run.pk}/langkah/1/\n" in digest.body]
    assert listed == runs[:3]  # the soonest due first
    inbox = settings.SITE_URL.rstrip("/") + "/tugas/"
    assert f"- dan 2 lainnya: {inbox}\n" in digest.body
    assert "5 terlambat" in digest.subject  # the subject counts them all
    assert "Jatuh tempo hari ini" not in digest.body


def test_update_rows_writes_each_row_its_own_values_nulls_included(staf_step, sop2, users):
    (run,) = open_runs(sop2, users["subkor"], 1, wib(23, 8, 0))
    other = run.step_runs.get(state=StepRun.State.ACTIVE)
    fields = ("alert_stage", "next_alert_at")
    rows = {staf_step.pk: (3, wib(24, 9, 5)), other.pk: (1, None)}
    assert update_rows(StepRun, rows, fields) == 2
    written = dict(StepRun.objects.filter(pk__in=rows).values_list("pk", "alert_stage"))
    assert written == {staf_step.pk: 3, other.pk: 1}
    assert StepRun.objects.get(pk=staf_step.pk).next_alert_at == wib(24, 9, 5)
    assert StepRun.objects.get(pk=other.pk).next_alert_at is None
    # A column set to NULL on every row keeps its type.
    assert update_rows(StepRun, {staf_step.pk: (2, None), other.pk: (2, None)}, fields) == 2
    assert not StepRun.objects.filter(pk__in=rows, next_alert_at__isnull=False).exists()
    assert StepRun.objects.exclude(pk__in=rows).filter(alert_stage=2).count() == 0
