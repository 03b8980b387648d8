"""seed_scale: bulk-written runs are row for row what the transitions write."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from activities import seeding
from activities.models import Event, Run, StepRun, Unit


@pytest.fixture
def templates(sop1, sop2):
    return [seeding.Office(sop1), seeding.Office(sop2)]


def test_bulk_rows_equal_the_rows_of_the_transitions(templates):
    plans = seeding.sample_plans(templates, timezone.now())
    shapes = {(plan.sop.pk, plan.actions[-1].kind if plan.actions else "") for plan in plans}
    assert len(plans) == 12 and len(shapes) > 4
    assert seeding.compare_with_workflow(plans) == []
    assert Run.objects.count() == 0  # both sides were rolled back


def test_the_comparison_notices_a_bulk_writer_that_drifts(templates, monkeypatch):
    plans = seeding.sample_plans(templates, timezone.now())
    original = seeding.BulkWriter._close

    def sloppy(self, run, row, *args):
        original(self, run, row, *args)
        row.notes = "ditulis lain"

    monkeypatch.setattr(seeding.BulkWriter, "_close", sloppy)
    problems = seeding.compare_with_workflow(plans)
    assert problems and all("notes" in problem for problem in problems)


def test_seed_scale_builds_runs_of_every_shape(seeded):
    out = io.StringIO()
    call_command("seed_scale", runs=300, stdout=out)
    assert "bulk rows match the transitions" in out.getvalue()
    assert Run.objects.count() == 300
    statuses = set(Run.objects.values_list("status", flat=True))
    assert statuses == {"running", "finished", "cancelled"}
    assert StepRun.objects.filter(state=StepRun.State.RETURNED).exists()
    assert not Run.objects.filter(status="finished", closed_at__isnull=True).exists()
    # Every run has its opening event and exactly one active round while it runs.
    assert Event.objects.filter(kind=Event.Kind.OPENED).count() == 300
    running = Run.objects.filter(status="running").count()
    active = StepRun.objects.filter(state="active", run__status="running").count()
    assert active == running
    # Ids continue after the bulk insert: the transitions can still create rows.
    from activities import workflow

    sop = Unit.objects.get(short_name="Kesbangpol").sops.get()
    kasi = sop.steps.get(number=1).roles.get().members.get()
    workflow.open_run(
        sop=sop, user=kasi, title="Baru", scheduled_on=timezone.localdate(), place="Aula"
    )
    assert Run.objects.count() == 301


def test_archive_totals_from_tuples_equal_the_run_timing(seeded):
    from activities import reports, timing

    call_command("seed_scale", runs=80, stdout=io.StringIO())
    runs = list(Run.objects.filter(closed_at__isnull=False).select_related("unit"))
    summaries = reports.bulk_timings(runs)
    assert len(runs) > 10
    for run in runs:
        step_runs = list(run.step_runs.select_related("step"))
        full = timing.run_timing(run, step_runs, run.unit.calendar)
        summary = summaries[run.pk]
        for name in (
            "standard_display",
            "standard_total_minutes",
            "actual_total_minutes",
            "steps_done",
            "steps_on_time",
            "late",
            "on_time_share",
        ):
            assert getattr(summary, name) == pytest.approx(getattr(full, name)), name
