"""seed_scale: bulk-written runs are row for row what the transitions write."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from activities.core import workflow
from activities.models import Event, Run, StepRun, Unit
from bench.seeding import bulk


@pytest.fixture
def templates(sop1, sop2):
    return [bulk.Office(sop1), bulk.Office(sop2)]


def test_bulk_rows_equal_the_rows_of_the_transitions(templates):
    plans = bulk.sample_plans(templates, timezone.now())
    shapes = {(plan.sop.pk, plan.actions[-1].kind if plan.actions else "") for plan in plans}
    assert len(plans) == 12 and len(shapes) > 4
    assert bulk.compare_with_workflow(plans) == []
    assert Run.objects.count() == 0  # both sides were rolled back


def test_the_comparison_notices_a_bulk_writer_that_drifts(templates, monkeypatch):
    plans = bulk.sample_plans(templates, timezone.now())
    original = bulk.BulkWriter._close

    def sloppy(self, run, row, *args):
        original(self, run, row, *args)
        row.notes = "ditulis lain"

    monkeypatch.setattr(bulk.BulkWriter, "_close", sloppy)
    problems = bulk.compare_with_workflow(plans)
    assert problems and all("notes" in problem for problem in problems)


def test_seed_scale_builds_runs_of_every_shape(users):
    out = io.StringIO()
    call_command("seed_scale", runs=300, stdout=out)
    assert "bulk rows match the transitions" in out.getvalue()
    assert Run.objects.count() == 300
    statuses = set(Run.objects.values_list("status", flat=True))
    assert statuses == {"running", "finished", "cancelled"}
    assert StepRun.objects.filter(state=StepRun.State.RETURNED).exists()
    assert not Run.objects.filter(status="finished", handling_office_minutes=None).exists()
    assert not Run.objects.filter(status="finished", closed_at__isnull=True).exists()
    assert not Run.objects.filter(status="running", closed_at__isnull=False).exists()
    # Every run has its opening event and exactly one active round while it runs.
    assert Event.objects.filter(kind=Event.Kind.OPENED).count() == 300
    running = Run.objects.filter(status="running").count()
    active = StepRun.objects.filter(state="active", run__status="running").count()
    assert active == running
    # Ids continue after the bulk insert: the transitions can still create rows.
    sop = Unit.objects.get(short_name="Kesbangpol").sops.get()
    workflow.open_run(
        sop=sop, user=users["kasi"], title="Baru", scheduled_on=timezone.localdate(), place="Aula"
    )
    assert Run.objects.count() == 301
