"""Pengesahan online: submit a draft, the Kepala returns it with notes or approves it."""

import datetime

import pytest
import time_machine

from activities.authoring import editor, lifecycle, pengesahan
from activities.core import acting
from activities.core.errors import Forbidden, Invalid, Stale
from activities.models import Event, Role, Run, Sop, SopAct
from tests.test_editor import _post
from tests.test_workflow import open_run

WIB = datetime.timezone(datetime.timedelta(hours=7))


@pytest.fixture
def revision(sop1, users):
    draft = lifecycle.copy_as_revision(sop1, user=users["kasubag_tu"])
    step = draft.steps.get(number=3)
    step.output = "Notulen rapat persiapan"
    step.save()
    return draft


# The story happens on 2 December before the Kepala approves at 23.30 WIB, whatever the hour
# the test runs at: acts are ordered by their time.
@time_machine.travel(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=WIB))
def test_submit_return_fix_and_approve(client_for, users, sop1, revision):
    run = open_run(sop1, users["kasi"])
    author, kepala = client_for("kasubag_tu"), None
    response = author.post(f"/sop/{revision.pk}/ajukan/")
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.status == Sop.Status.SUBMITTED
    # The draft is no longer editable while the Kepala reads it.
    assert author.get(f"/sop/{revision.pk}/ubah/").status_code == 302

    kepala = client_for("kepala")
    inbox = kepala.get("/tugas/").content.decode()
    assert f"/sop/{revision.pk}/pengesahan/" in inbox
    page = kepala.get(f"/sop/{revision.pk}/pengesahan/").content.decode()
    assert "Notulen rapat persiapan" in page and "diubah" in page
    refused = kepala.post(f"/sop/{revision.pk}/pengesahan/", {"action": "kembalikan", "notes": " "})
    assert "Tulis catatan perbaikan" in refused.content.decode()
    kepala.post(
        f"/sop/{revision.pk}/pengesahan/",
        {"action": "kembalikan", "notes": "Waktu langkah 3 terlalu lama."},
    )
    revision.refresh_from_db()
    assert revision.status == Sop.Status.DRAFT

    author = client_for("kasubag_tu")
    page = author.get(f"/sop/{revision.pk}/ubah/").content.decode()
    assert "Waktu langkah 3 terlalu lama." in page
    rows = editor.initial_rows(revision)
    rows[2]["standard_text"] = "20 menit"
    assert author.post(f"/sop/{revision.pk}/ubah/", _post(revision, rows)).status_code == 302
    author.post(f"/sop/{revision.pk}/ajukan/")

    with time_machine.travel(datetime.datetime(2026, 12, 2, 23, 30, tzinfo=WIB), tick=False):
        # Logged in at that hour: a session from the real clock could have passed its lifetime.
        kepala = client_for("kepala")
        response = kepala.post(f"/sop/{revision.pk}/pengesahan/", {"action": "sahkan"})
    assert response.status_code == 302
    revision.refresh_from_db()
    sop1.refresh_from_db()
    assert (revision.status, revision.effective_on) == (Sop.Status.ACTIVE, "2 Desember 2026")
    assert sop1.status == Sop.Status.RETIRED
    run.refresh_from_db()
    assert run.sop == sop1 and run.is_running
    kinds = list(SopAct.objects.filter(sop=revision).values_list("kind", "actor__username"))
    assert kinds == [
        ("submitted", "kasubag_tu"),
        ("returned", "kepala"),
        ("submitted", "kasubag_tu"),
        ("approved", "kepala"),
    ]
    assert SopAct.objects.get(kind="returned").notes == "Waktu langkah 3 terlalu lama."
    # A new kegiatan opens from the version in force.
    assert Run.objects.filter(sop=revision).count() == 0
    new_run = open_run(revision, users["kasi"])
    assert new_run.sop == revision


def test_the_approval_date_is_jakartas_date(users, sop1, revision):
    pengesahan.submit(revision, users["kasubag_tu"])
    with time_machine.travel(datetime.datetime(2026, 12, 3, 1, 0, tzinfo=WIB), tick=False):
        approved = pengesahan.approve(revision, users["kepala"])
    assert approved.effective_on == "3 Desember 2026"


def test_who_may_submit_and_approve(client_for, users, sop1, revision):
    assert client_for("kasi").post(f"/sop/{revision.pk}/ajukan/").status_code == 403
    assert client_for("tim").post(f"/sop/{revision.pk}/ajukan/").status_code == 404
    pengesahan.submit(revision, users["kasubag_tu"])
    url = f"/sop/{revision.pk}/pengesahan/"
    assert client_for("kasi").get(url).status_code == 403
    assert client_for("kasubag_tu").post(url, {"action": "sahkan"}).status_code == 403
    assert client_for("kabid").get(url).status_code == 404
    assert client_for("kepala").get(url).status_code == 200
    revision.refresh_from_db()
    assert revision.status == Sop.Status.SUBMITTED
    # Approving twice: the second act is refused with a message, nothing changes.
    client_for("kepala").post(url, {"action": "sahkan"})
    again = client_for("kepala").post(url, {"action": "sahkan"})
    assert again.status_code == 409
    assert "sudah berubah" in again.content.decode()
    assert SopAct.objects.filter(kind="approved").count() == 1


def test_a_draft_with_review_notes_or_broken_rules_is_not_submitted(client_for, sop1):
    from activities.authoring import importers
    from tests.test_importers import _seed_text

    draft = importers.import_source(sop1.unit, text=_seed_text("Kesbangpol")).sop
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ajukan/", follow=True)
    assert "ditandai untuk diperiksa" in response.content.decode()
    draft.review_notes.all().delete()
    step = draft.steps.get(number=3)
    step.kind, step.action, step.return_to = "decision", "approval", None
    step.save()
    response = client_for("kasubag_tu").post(f"/sop/{draft.pk}/ajukan/", follow=True)
    assert "tujuan pengembalian" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Sop.Status.DRAFT
    assert not SopAct.objects.filter(sop=draft).exists()


def test_diff_lists_added_removed_and_changed_steps_field_by_field(users, sop1, revision):
    step = revision.steps.get(number=15)
    step.remarks = "Disimpan lima tahun"
    step.save()
    diff = pengesahan.diff(revision)
    changed = {(s.number_after, c.label) for s in diff.steps for c in s.changes}
    assert changed == {(3, "Output"), (15, "Keterangan")}
    assert diff.base == sop1 and not diff.fields


def test_refusals_are_typed(users, sop1, revision):
    with pytest.raises(Forbidden):
        pengesahan.submit(revision, users["kasi"])
    pengesahan.submit(revision, users["kasubag_tu"])
    with pytest.raises(Stale):
        pengesahan.submit(revision, users["kasubag_tu"])
    for username in ("kasi", "staf", "kasubag_tu", "kabid"):
        with pytest.raises(Forbidden):
            pengesahan.approve(revision, users[username])
        with pytest.raises(Forbidden):
            pengesahan.return_for_fix(revision, users[username], "Perbaiki")
    with pytest.raises(Invalid) as missing:
        pengesahan.return_for_fix(revision, users["kepala"], "  ")
    assert missing.value.field == "notes"
    pengesahan.approve(revision, users["kepala"])
    with pytest.raises(Stale):
        pengesahan.approve(revision, users["kepala"])
    assert SopAct.objects.filter(kind="approved").count() == 1


def sop_events(sop):
    return [
        (event.kind, event.actor.username, event.role.name if event.role else None)
        for event in Event.objects.filter(sop=sop).order_by("pk")
    ]


@time_machine.travel(datetime.datetime(2026, 12, 3, 10, 0, tzinfo=WIB), tick=False)
def test_approving_records_what_the_admins_activation_records(users, sop1, sop2, revision):
    """One way into force: the same events, the same fields, whichever door it came through."""
    pengesahan.submit(revision, users["kasubag_tu"])
    written = revision.effective_on
    pengesahan.approve(revision, users["kepala"])
    activated = lifecycle.copy_as_revision(sop2, user=users["admin"])
    lifecycle.activate(activated, user=users["admin"])

    approved_events = list(Event.objects.filter(sop__in=[sop1, revision]).order_by("pk"))
    admin_events = list(Event.objects.filter(sop__in=[sop2, activated]).order_by("pk"))
    shape = [
        (event.kind, sorted(event.before), sorted(event.after)) for event in approved_events[1:]
    ]
    assert shape == [(e.kind, sorted(e.before), sorted(e.after)) for e in admin_events[1:]]
    assert [(e.kind, e.sop_id, e.before, e.after) for e in approved_events[1:]] == [
        (
            Event.Kind.SOP_RETIRED,
            sop1.pk,
            {"status": "active"},
            {"status": "retired", "version": 1},
        ),
        (
            Event.Kind.SOP_ACTIVATED,
            revision.pk,
            {"status": "submitted", "effective_on": written},
            {"status": "active", "version": 2, "effective_on": "3 Desember 2026"},
        ),
    ]
    assert sop_events(revision)[-1] == (Event.Kind.SOP_ACTIVATED, "kepala", "Kepala")
    assert sop_events(sop1)[-1] == (Event.Kind.SOP_RETIRED, "kepala", "Kepala")
    act = SopAct.objects.get(kind="approved")
    assert act.after == {"status": "active", "effective_on": "3 Desember 2026", "retired": sop1.pk}


def test_approving_a_broken_step_table_is_refused_and_changes_nothing(client_for, users, revision):
    pengesahan.submit(revision, users["kasubag_tu"])
    revision.steps.filter(number=15).update(kind="process")
    response = client_for("kepala").post(f"/sop/{revision.pk}/pengesahan/", {"action": "sahkan"})
    assert response.status_code == 200
    assert "belum dapat diberlakukan" in response.content.decode()
    assert Sop.objects.get(pk=revision.pk).status == Sop.Status.SUBMITTED
    assert not Event.objects.filter(kind=Event.Kind.SOP_ACTIVATED).exists()
    assert not SopAct.objects.filter(kind="approved").exists()


@time_machine.travel(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=WIB), tick=False)
def test_a_plh_of_the_kepala_has_his_steps_but_does_not_approve_sops(client_for, users, revision):
    """Acting for a role gives its steps, not its flags: pengesahan stays with the holders."""
    kepala = Role.objects.get(unit__short_name="Kesbangpol", name="Kepala")
    acting.appoint(
        user=users["kepala"],
        role=kepala,
        person=users["kasubag_tu"],
        kind="plh",
        start_date=datetime.date(2026, 11, 30),
        end_date=datetime.date(2026, 12, 4),
        letter_number="800/123-Kesbangpol/2026",
        letter_date=datetime.date(2026, 11, 27),
        reason="Cuti tahunan",
    )
    pengesahan.submit(revision, users["kasubag_tu"])
    client = client_for("kasubag_tu")
    assert client.get(f"/sop/{revision.pk}/pengesahan/").status_code == 403
    assert client.post(f"/sop/{revision.pk}/pengesahan/", {"action": "sahkan"}).status_code == 403
    assert f"/sop/{revision.pk}/pengesahan/" not in client.get("/tugas/").content.decode()
    assert Sop.objects.get(pk=revision.pk).status == Sop.Status.SUBMITTED


def test_the_diff_and_the_editor_show_the_nip_grouped(client_for, sop1, revision):
    Sop.objects.filter(pk=revision.pk).update(approver_nip="197001011990031002")
    revision.refresh_from_db()
    (change,) = pengesahan.diff(revision).fields
    assert (change.before, change.after) == ("19640606 198503 1 015", "19700101 199003 1 002")
    page = client_for("kepala").get(f"/sop/{revision.pk}/pengesahan/").content.decode()
    assert "19640606 198503 1 015" in page and "19700101 199003 1 002" in page
    editor = client_for("kasubag_tu").get(f"/sop/{revision.pk}/ubah/").content.decode()
    assert 'value="19700101 199003 1 002"' in editor


def test_the_kepala_approving_a_draft_he_submitted_is_allowed_shown_and_recorded(
    client_for, users, sop1, revision
):
    """Permenpan RB 35/2012 puts the pengesahan with the head of the unit: when he drafted
    and submitted the SOP himself, nobody else could give it. It is allowed, the page says so
    and the act records it."""
    Role.objects.filter(unit=sop1.unit, name="Kepala").update(maintains_sops=True)
    pengesahan.submit(revision, users["kepala"])
    page = client_for("kepala").get(f"/sop/{revision.pk}/pengesahan/").content.decode()
    assert "Anda sendiri yang mengajukan draf ini" in page
    other = client_for("kasubag_tu")
    assert "Anda sendiri yang mengajukan" not in other.get(f"/sop/{revision.pk}/").content.decode()
    pengesahan.approve(revision, users["kepala"])
    act = SopAct.objects.get(sop=revision, kind=SopAct.Kind.APPROVED)
    assert act.after["own_draft"] is True
    assert act.notes == "Diajukan dan disahkan oleh orang yang sama."


def test_an_approval_of_someone_elses_draft_records_no_notice(users, revision):
    pengesahan.submit(revision, users["kasubag_tu"])
    pengesahan.approve(revision, users["kepala"])
    act = SopAct.objects.get(sop=revision, kind=SopAct.Kind.APPROVED)
    assert "own_draft" not in act.after and act.notes == ""


def test_the_approved_version_names_its_approver_from_his_person_record(users, revision):
    pengesahan.submit(revision, users["kasubag_tu"])
    approved = pengesahan.approve(Sop.objects.get(pk=revision.pk), users["kepala"])
    approved.refresh_from_db()
    assert (approved.approver_name, approved.approver_nip, approved.approver_rank) == (
        "Temmy Mulyadi, M.Si.",
        "196406061985031015",
        "Pembina Tk.I, IV/b",
    )
