"""Every declared field of a step survives every path an SOP travels: an SOP file, the JSON
export and import, a revision, the importers' draft, the editor and the pengesahan diff. The
paths walk `steps.FIELDS`; these tests walk it too, with a dummy value for every field, so a
field one path forgets fails here. Also: a file's unknown step key is refused, and the symbol a
step prints is apart from what a run does there."""

import importlib
import io
import json

import pytest
from django.apps import apps

from activities.authoring import editor, lifecycle, pengesahan, sopdoc, steps
from activities.authoring.definitions import SopFileError, export_sop, load_sop
from activities.authoring.importers import ImportRefused, import_source
from activities.authoring.importers.common import ImportedSop, ImportedStep
from activities.authoring.importers.drafts import create_draft
from activities.core import policy
from activities.models import Sop, Step
from tests.test_editor import _post

# Step 3 of the seeded Sosialisasi SOP, as an SOP file writes it: every value differs from the
# field's default and from what the seeded step holds, and the action is not the one the
# symbol would give (a process that approves).
DUMMY = {
    "number": 3,
    "activity": "Memeriksa kelengkapan berkas kegiatan",
    "roles": ["Kepala", "Kasi"],
    "kind": Step.Kind.PROCESS,
    "action": Step.Action.APPROVAL,
    "requirements": "Formulir dan KTP",
    "standard": "2 jam",
    "output": "Berkas diperiksa",
    "remarks": "Dicatat di buku agenda",
    "return_to": 1,
    "data_fields": [
        {
            "key": "jumlah_peserta",
            "label": "Jumlah peserta",
            "type": "number",
            "required": True,
            "min": 1,
            "max": 5000,
        },
        {"key": "narasumber", "label": "Narasumber", "type": "reference", "list": "narasumber"},
        {"key": "hasil", "label": "Hasil", "type": "choice", "choices": ["Baik", "Kurang"]},
    ],
    "completion": Step.Completion.QUORUM,
    "quorum": 2,
    # Side by side with step 4 (`_file` puts step 4 in the group too).
    "parallel": 1,
}
# The same step again with every value the diff compares changed (a decision symbol that does
# not approve, so it has no return target).
ALTERNATE = {
    "number": 3,
    "activity": "Memeriksa ulang berkas kegiatan",
    "roles": ["Kasubag TU"],
    "kind": Step.Kind.DECISION,
    "action": Step.Action.WORK,
    "requirements": "KTP",
    "standard": "1 hari",
    "output": "Berkas lengkap",
    "remarks": "Tanpa catatan",
    "return_to": None,
    "data_fields": [
        {"key": "tema", "label": "Topik", "type": "text", "max_length": 200},
        {
            "key": "kelurahan",
            "label": "Kelurahan",
            "type": "reference",
            "list": "kelurahan",
            "multiple": True,
        },
    ],
    "completion": Step.Completion.ANY,
    "quorum": None,
    "parallel": None,
}


def _file_step(dummy):
    return {
        f.key: dummy[f.name]
        for f in steps.FIELDS
        if dummy[f.name] is not None and f.exported(dummy[f.name])
    }


def _declared(step):
    """Every declared field of a saved step, as an SOP file writes it."""
    values = steps.values_of_steps(step.sop.steps.prefetch_related("roles"))[step.number - 1]
    return {f.name: f.dump(values[f.name]) for f in steps.FIELDS}


def _file(sop, dummy):
    data = export_sop(sop)
    data["steps"][dummy["number"] - 1] = _file_step(dummy)
    # A parallel group holds two steps or more: step 4 joins step 3's.
    data["steps"][dummy["number"]].pop("parallel", None)
    if dummy["parallel"] is not None:
        data["steps"][dummy["number"]]["parallel"] = dummy["parallel"]
    return data


def _roles(unit):
    return {role.name: role for role in unit.roles.all()}


@pytest.fixture(params=["DUMMY", "ALTERNATE"])
def dummy(request):
    return {"DUMMY": DUMMY, "ALTERNATE": ALTERNATE}[request.param]


@pytest.fixture
def carried(sop1, dummy):
    """A draft of the seeded SOP loaded from a file whose step 3 is the dummy."""
    sop, created = load_sop(_file(sop1, dummy), unit=sop1.unit, as_draft=True)
    assert created
    return sop


def test_every_declared_field_has_dummies_and_one_differs_from_its_default(sop1):
    names = [f.name for f in steps.FIELDS]
    assert list(DUMMY) == names and list(ALTERNATE) == names
    seeded = _declared(sop1.steps.get(number=3))
    for f in steps.FIELDS:
        if f.name == "number":
            continue
        plain = (f.dump(f.missing(DUMMY)), seeded[f.name])
        assert any(d[f.name] not in plain for d in (DUMMY, ALTERNATE)), f.name
        if f.compared:
            assert DUMMY[f.name] != ALTERNATE[f.name], f.name


def test_an_sop_file_carries_every_field(carried, dummy):
    assert _declared(carried.steps.get(number=3)) == dummy


def test_the_json_export_carries_every_field_and_imports_elsewhere(carried, dummy):
    data = json.loads(json.dumps(export_sop(carried)))
    assert data["steps"][2] == _file_step(dummy)
    data["unit"]["short_name"] = "Kesbangpol-B"
    sop, created = load_sop(data)
    assert created and sop.unit.short_name == "Kesbangpol-B"
    assert _declared(sop.steps.get(number=3)) == dummy


def test_a_revision_carries_every_field(carried, dummy, users):
    revision = lifecycle.copy_as_revision(carried, user=users["kasubag_tu"])
    assert revision.pk != carried.pk
    assert _declared(revision.steps.get(number=3)) == dummy


def test_the_importers_draft_carries_every_field(sop1, dummy):
    imported = ImportedSop(fields={"name": "SOP impor"}, columns=list(_roles(sop1.unit)))
    for row in _file(sop1, dummy)["steps"]:
        item = ImportedStep(number=row["number"])
        for f in steps.FIELDS:
            setattr(item, f.name, row.get(f.key, f.dump(f.missing({}))))
        imported.steps.append(item)
    sop, _new_roles = create_draft(imported, sop1.unit)
    assert _declared(sop.steps.get(number=3)) == dummy
    assert not sop.review_notes.exists()


def test_the_editor_saves_every_field(client_for, sop1, users, dummy):
    draft = lifecycle.copy_as_revision(sop1, user=users["kasubag_tu"])
    rows = editor.initial_rows(draft)
    values, errors = steps.loaded(_file_step(dummy), _roles(draft.unit), "Langkah 3")
    assert not errors
    rows[2] = {"id": rows[2]["id"], **steps.initial(values)}
    rows[3]["parallel_group"] = dummy["parallel"] or ""
    response = client_for("kasubag_tu").post(
        f"/sop/{draft.pk}/ubah/", _post(draft, rows, action="simpan")
    )
    assert response.status_code == 302, response.context["errors"]
    assert _declared(draft.steps.get(number=3)) == dummy


@pytest.mark.parametrize(("before", "after"), [(DUMMY, ALTERNATE), (ALTERNATE, DUMMY)])
def test_the_pengesahan_diff_shows_every_compared_field(sop1, users, before, after):
    base, _created = load_sop(_file(sop1, before), unit=sop1.unit, as_draft=True)
    lifecycle.activate(base, user=users["kasubag_tu"])
    draft, _created = load_sop(_file(sop1, after), unit=sop1.unit, as_draft=True)
    assert draft.previous == base
    diff = pengesahan.diff(draft)
    # Step 4 changes too: it enters or leaves step 3's parallel group.
    [changed] = [step for step in diff.steps if step.number_after == 3]
    assert (changed.state, changed.number_before, changed.number_after) == ("changed", 3, 3)
    old, _errors = steps.loaded(_file_step(before), _roles(draft.unit), "")
    new, _errors = steps.loaded(_file_step(after), _roles(draft.unit), "")
    expected = [
        (str(f.label), f.show(old[f.name]), f.show(new[f.name])) for f in steps.FIELDS if f.compared
    ]
    assert [(c.label, c.before, c.after) for c in changed.changes] == expected
    assert len(expected) == len([f for f in steps.FIELDS if f.compared])


# Unknown keys ---------------------------------------------------------------------------------


def test_an_unknown_step_key_is_refused_naming_the_step_and_the_key(sop1):
    data = export_sop(sop1)
    data["steps"][2]["after"] = [3, 4]
    count = Sop.objects.count()
    with pytest.raises(SopFileError, match="Langkah 3: kunci tidak dikenal “after”."):
        load_sop(data, unit=sop1.unit, as_draft=True)
    assert Sop.objects.count() == count


def test_the_import_form_refuses_an_unknown_step_key(client_for, sop1):
    data = export_sop(sop1)
    data["steps"][4]["joint"] = True
    count = Sop.objects.count()
    with pytest.raises(ImportRefused, match="Langkah 5: kunci tidak dikenal “joint”."):
        import_source(sop1.unit, data=json.dumps(data).encode())
    response = client_for("kasubag_tu").post(
        "/sop/impor/",
        {"unit": sop1.unit_id, "file": _upload(json.dumps(data).encode())},
    )
    assert response.status_code == 200
    assert "Langkah 5: kunci tidak dikenal “joint”." in response.content.decode()
    assert Sop.objects.count() == count


def _upload(content):
    upload = io.BytesIO(content)
    upload.name = "sop.json"
    return upload


# The symbol and the behaviour ----------------------------------------------------------------


def test_a_file_without_actions_approves_at_its_decisions_as_before(sop1):
    saved = list(sop1.steps.all())
    assert [s.number for s in saved if s.is_approval] == [2, 5, 6, 13, 14]
    assert all(s.is_approval == (s.kind == Step.Kind.DECISION) for s in saved)
    assert all("action" in row for row in export_sop(sop1)["steps"])


def test_the_action_not_the_symbol_makes_an_approval(sop1, users):
    carried, _created = load_sop(_file(sop1, DUMMY), unit=sop1.unit, as_draft=True)
    approving = carried.steps.get(number=3)
    assert approving.kind == Step.Kind.PROCESS and approving.is_approval
    # The document draws the "Tidak" line back from the process box that approves.
    document = sopdoc.build(carried)
    [row] = [row for page in document.pages for row in page.rows if row.number == 3]
    assert any(shape.text == "Tidak" for cell in row.cells for shape in cell.shapes)
    other, _created = load_sop(_file(carried, ALTERNATE), unit=carried.unit, as_draft=True)
    deciding = other.steps.get(number=3)
    assert deciding.kind == Step.Kind.DECISION and not deciding.is_approval
    assert policy.can_act(users["kasubag_tu"], deciding)
    assert not policy.can_approve(users["kasubag_tu"], deciding)


def test_an_action_the_model_does_not_know_is_refused(sop1):
    data = _file(sop1, dict(DUMMY, action="cosign"))
    with pytest.raises(SopFileError, match="Langkah 3: tindakan “cosign” tidak dikenal."):
        load_sop(data, unit=sop1.unit, as_draft=True)


def test_the_migration_makes_todays_decisions_approvals(sop1):
    Step.objects.filter(sop=sop1).update(action=Step.Action.WORK)
    migration = importlib.import_module("activities.migrations.0028_step_action")
    migration.decisions_approve(apps, None)
    saved = list(sop1.steps.all())
    assert [s.number for s in saved if s.is_approval] == [2, 5, 6, 13, 14]
