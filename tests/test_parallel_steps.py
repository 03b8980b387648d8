"""Steps side by side: consecutive steps of one parallel group become active together, each
done by its own role; the step after the group waits for all of them."""

import copy
import json

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from activities.authoring import definitions, sopdoc
from activities.authoring.definitions import SopFileError, load_sop
from activities.authoring.importers.common import ImportRefused, parse_rows
from activities.models import StepRun
from activities.time.timing import run_timing
from tests.test_workflow import act, open_run, send_back, states

SOP1_FILE = settings.BASE_DIR / "fixtures" / "sop-kesbangpol-sosialisasi.json"


def parallel_data(group=(3, 4)):
    data = json.loads(SOP1_FILE.read_text(encoding="utf-8"))
    data["sop"]["name"] = "Sosialisasi dengan langkah bersamaan"
    for step in data["steps"]:
        if step["number"] in group:
            step["parallel"] = 1
    return data


@pytest.fixture
def parallel_sop(seeded):
    sop, _created = load_sop(parallel_data())
    return sop


def test_steps_3_and_4_become_active_together_and_step_5_waits_for_both(parallel_sop, users):
    run = open_run(parallel_sop, users["kasi"])
    act(run, 1)
    act(run, 2)
    assert states(run)[(3, 1)] == states(run)[(4, 1)] == StepRun.State.ACTIVE
    assert states(run)[(5, 1)] == StepRun.State.WAITING
    # Each is done by its own role, in either order.
    closed = act(run, 4, users["staf"])
    assert closed.following is None
    assert states(run)[(3, 1)] == StepRun.State.ACTIVE
    assert states(run)[(5, 1)] == StepRun.State.WAITING
    act(run, 3, users["kasi"])
    assert states(run)[(5, 1)] == StepRun.State.ACTIVE
    assert StepRun.objects.filter(run=run, state=StepRun.State.ACTIVE).count() == 1


def test_a_return_to_a_step_of_the_group_reruns_only_what_it_names(parallel_sop, users):
    run = open_run(parallel_sop, users["kasi"])
    for number in (1, 2, 3, 4):
        act(run, number)
    # Step 5 (Kasi) returns to step 4: step 3 keeps its round, step 4 and 5 run again.
    send_back(run, 5)
    now = states(run)
    assert now[(3, 1)] == StepRun.State.DONE
    assert (3, 2) not in now
    assert now[(4, 2)] == StepRun.State.ACTIVE
    assert now[(5, 2)] == StepRun.State.WAITING
    act(run, 4)
    assert states(run)[(5, 2)] == StepRun.State.ACTIVE


def test_the_database_refuses_a_second_active_round_of_one_step(parallel_sop, users):
    run = open_run(parallel_sop, users["kasi"])
    act(run, 1)
    act(run, 2)
    waiting = StepRun.objects.get(run=run, step__number=5)
    extra = StepRun(run=run, step=waiting.step, round=2, state=StepRun.State.ACTIVE)
    extra.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        StepRun.objects.create(run=run, step=waiting.step, round=3, state=StepRun.State.ACTIVE)


def test_the_run_total_takes_the_longest_branch(parallel_sop, users):
    steps = {step.number: step for step in parallel_sop.steps.all()}
    run = open_run(parallel_sop, users["kasi"])
    timing = run_timing(run, list(run.step_runs.select_related("step")), run.unit.calendar)
    everything = sum(step.standard_minutes for step in steps.values())
    shorter = min(steps[3].standard_minutes, steps[4].standard_minutes)
    assert timing.standard_total_minutes == everything - shorter


def test_the_sop_document_draws_the_fork_and_the_join(parallel_sop):
    document = sopdoc.build(parallel_sop)
    rows = {row.number: row for row in document.pages[0].rows}

    def marks(row):
        return {
            value
            for cell in row.cells
            for shape in cell.shapes
            for name, value in shape.attrs
            if name == "data-symbol"
        }

    assert "fork" in marks(rows[3]) and "join" not in marks(rows[3])
    assert "join" in marks(rows[4]) and "fork" not in marks(rows[4])
    assert not {"fork", "join"} & marks(rows[5])


@pytest.mark.parametrize(
    "group, message",
    [((3,), "paling sedikit dua langkah"), ((3, 5), "berurutan"), ((1, 2), "Mulai dan Selesai")],
)
def test_an_sop_file_with_a_group_the_table_cannot_hold_is_refused(seeded, group, message):
    with pytest.raises(SopFileError, match=message):
        load_sop(parallel_data(group))


def test_an_sop_file_with_an_unknown_key_or_value_is_refused(seeded):
    data = parallel_data()
    data["steps"][2]["parallel"] = "ya"
    with pytest.raises(SopFileError, match="bilangan bulat"):
        load_sop(data)
    data = copy.deepcopy(parallel_data())
    data["steps"][2]["completion"] = "sebagian"
    with pytest.raises(SopFileError, match="tidak dikenal"):
        load_sop(data)


def test_the_export_carries_the_group_and_loads_back(parallel_sop):
    exported = definitions.export_sop(parallel_sop)
    assert [s.get("parallel") for s in exported["steps"]][:5] == [None, None, 1, 1, None]
    assert "completion" not in exported["steps"][0]


def _table(remarks_3, remarks_4=""):
    header = [
        "NO",
        "AKTIVITAS",
        "KASI",
        "STAF SEKSI",
        "KELENGKAPAN",
        "WAKTU",
        "OUTPUT",
        "KETERANGAN",
    ]
    rows = [
        ["1", "Mulai kegiatan", "○", "", "Surat", "10 menit", "Data", ""],
        ["2", "Menyiapkan undangan", "□", "", "Draf", "10 menit", "Undangan", ""],
        ["3", "Menyiapkan alat tulis", "", "□", "ATK", "20 menit", "ATK", remarks_3],
        ["4", "Rapat bersama persiapan", "□", "□", "Notulen", "30 menit", "Notulen", remarks_4],
        ["5", "Selesai", "○", "", "Laporan", "5 menit", "Laporan", ""],
    ]
    return [header, *rows]


def test_the_importer_reads_a_group_and_a_joint_step_from_the_official_layout():
    imported = parse_rows(_table("Paralel dengan langkah 2"))
    by_number = {step.number: step for step in imported.steps}
    assert by_number[2].parallel == by_number[3].parallel == 2
    assert by_number[4].parallel is None
    # Marked in two columns, and the text says they do it together.
    assert by_number[4].completion == "all"


def test_the_importer_refuses_a_side_by_side_step_that_is_not_a_neighbour():
    with pytest.raises(ImportRefused, match="Struktur langkah 3 tidak dikenal"):
        parse_rows(_table("Bersamaan dengan langkah 5"))
