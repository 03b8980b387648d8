"""Step data: the fields a step asks to be filled, their checks in the step form, the values a
round records (with its completion event), and where they go: the run page, the laporan, the
statistics, Tabel 7's catatan, the event log and the archive export. Also the reference lists
(the city's kecamatan and kelurahan) and how a changed list leaves recorded values alone."""

import csv
import datetime
import io
import json
import subprocess

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from activities import data_forms
from activities.authoring import datafields, lifecycle, pengesahan
from activities.authoring.definitions import SopFileError, export_sop, load_sop
from activities.core import workflow
from activities.core.errors import Invalid
from activities.documents import laporan
from activities.models import (
    Event,
    ReferenceItem,
    ReferenceList,
    Run,
    StepRun,
    StepValue,
)
from activities.monitoring import eventlog, statistics, step_data, tabel7
from activities.time.periods import Period
from tests.test_run_views import form_data, snapshot, step_run, step_url

pytestmark = pytest.mark.django_db

SEMESTER = Period(datetime.date(2026, 7, 1), datetime.date(2026, 12, 31))


def wib(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone(datetime.timedelta(hours=7)))


def run_to(sop, user, number, *, now, title="Sosialisasi wawasan kebangsaan"):
    """A run of `sop` opened at `now`, every step before `number` done by `user` (on behalf)."""
    run = workflow.open_run(
        sop=sop, user=user, title=title, scheduled_on=now.date(), place="Aula", now=now
    )
    for n in range(1, number):
        now += datetime.timedelta(minutes=5)
        if step_run(run, n).step.is_approval:
            workflow.approve_step(run_id=run.pk, number=n, user=user, instruction="Lanjut", now=now)
        else:
            complete(run, n, user, now=now)
    return run


def complete(run, number, user, *, now, data=()):
    """Step `number` of `run` done by `user` (on behalf): a joint step (Wawaran's 7, by the Tim
    and the Kernet/Supir) signed off once for each of its roles, each part with `data` as the
    step form sends it; returns the closed round."""
    step = step_run(run, number).step
    for _role in step.roles.all() if step.is_joint else [None]:
        closed = workflow.complete_step(run_id=run.pk, number=number, user=user, data=data, now=now)
    return closed


def narasumber(sop):
    return list(ReferenceList.objects.get(unit=sop.unit, slug="narasumber").items.all())


def kelurahan(*names):
    return [
        ReferenceItem.objects.get(reference_list__slug="kelurahan", name=name) for name in names
    ]


def peserta_entries(sop, count, speakers=()):
    """The entries the step form gives for step 11 of the Sosialisasi SOP."""
    entries = [
        {
            "key": "jumlah_peserta",
            "label": "Jumlah peserta",
            "type": "number",
            "position": 0,
            "number": str(count),
        }
    ]
    for item in speakers:
        entries.append(
            {
                "key": "narasumber",
                "label": "Narasumber",
                "type": "reference",
                "position": len(entries),
                "item": item.pk,
                "text": item.name,
            }
        )
    return entries


def sosialisasi(sop1, admin, count, *, at, speakers=(), finish=False):
    """A Sosialisasi run whose step 11 recorded `count` peserta at `at`."""
    run = run_to(sop1, admin, 11, now=at - datetime.timedelta(hours=2))
    workflow.complete_step(
        run_id=run.pk, number=11, user=admin, data=peserta_entries(sop1, count, speakers), now=at
    )
    if finish:
        now = at
        for n in range(12, 16):
            now += datetime.timedelta(minutes=5)
            if step_run(run, n).step.is_approval:
                workflow.approve_step(
                    run_id=run.pk, number=n, user=admin, instruction="Lanjut", now=now
                )
            else:
                workflow.complete_step(run_id=run.pk, number=n, user=admin, now=now)
    return run


# The reference data and the seed SOPs ---------------------------------------------------------


def test_the_city_lists_hold_13_kecamatan_and_their_104_kelurahan(seeded):
    kecamatan = ReferenceList.objects.get(unit=None, slug="kecamatan")
    villages = ReferenceList.objects.get(unit=None, slug="kelurahan")
    assert kecamatan.items.count() == 13
    assert villages.items.count() == 104
    groups = set(villages.items.values_list("group", flat=True))
    assert groups == {f"Kecamatan {item.name}" for item in kecamatan.items.all()}
    assert villages.items.filter(group="Kecamatan Karawaci").count() == 16
    assert villages.items.get(name="Cikokol").group == "Kecamatan Tangerang"


def test_the_seed_sops_ask_for_the_data_their_text_implies(sop1, sop2):
    step11 = sop1.steps.get(number=11)
    assert [(f["key"], f["type"], f.get("required", False)) for f in step11.data_fields] == [
        ("jumlah_peserta", "number", True),
        ("narasumber", "reference", False),
    ]
    step7 = sop2.steps.get(number=7)
    assert [(f["key"], f["type"], f.get("multiple", False)) for f in step7.data_fields] == [
        ("topik", "text", False),
        ("kelurahan", "reference", True),
    ]
    # The JSON export carries them, and a re-import of it keeps them.
    exported = export_sop(sop1)["steps"][10]
    assert exported["data_fields"] == step11.data_fields
    draft, _created = load_sop(export_sop(sop1), unit=sop1.unit, as_draft=True)
    assert draft.steps.get(number=11).data_fields == step11.data_fields


# The step form ----------------------------------------------------------------------------


@pytest.fixture
def at_step_11(sop1, users):
    return run_to(sop1, users["admin"], 11, now=wib(2026, 9, 7, 8))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Jumlah peserta wajib diisi."),
        ({"data_jumlah_peserta": "0"}, "Jumlah peserta paling kecil 1."),
        ({"data_jumlah_peserta": "20000"}, "Jumlah peserta paling besar 10000."),
        ({"data_jumlah_peserta": "banyak"}, "Jumlah peserta: isi angka, mis. 120."),
        ({"data_jumlah_peserta": "50", "data_narasumber": ["999999"]}, "tidak tersedia"),
    ],
)
def test_a_refused_value_is_explained_and_nothing_is_saved(client_for, at_step_11, fields, message):
    before = snapshot(), StepValue.objects.count()
    response = client_for("kasi").post(
        step_url(at_step_11, 11), form_data(at_step_11, 11, "selesai", **fields)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (snapshot(), StepValue.objects.count()) == before
    assert step_run(at_step_11, 11).state == StepRun.State.ACTIVE


def test_the_values_are_stored_with_the_round_and_its_event(client_for, sop1, at_step_11):
    speakers = narasumber(sop1)[:2]
    response = client_for("kasi").post(
        step_url(at_step_11, 11),
        form_data(
            at_step_11,
            11,
            "selesai",
            data_jumlah_peserta="120",
            data_narasumber=[str(item.pk) for item in speakers],
        ),
    )
    assert response.status_code == 302
    done = step_run(at_step_11, 11)
    assert done.state == StepRun.State.DONE
    values = list(done.values.all())
    assert [(v.key, v.display) for v in values] == [
        ("jumlah_peserta", "120"),
        ("narasumber", speakers[0].name),
        ("narasumber", speakers[1].name),
    ]
    event = Event.objects.get(step_run=done, kind=Event.Kind.COMPLETED)
    assert [entry["key"] for entry in event.after["data"]] == [
        "jumlah_peserta",
        "narasumber",
        "narasumber",
    ]
    assert event.after["data"][0]["number"] == "120"
    assert event.after["data"][1]["text"] == speakers[0].name


def test_an_inactive_item_is_not_offered(sop1, at_step_11):
    speakers = narasumber(sop1)
    ReferenceItem.objects.filter(pk=speakers[0].pk).update(active=False)
    from activities.forms import CompleteStepForm

    form = CompleteStepForm(step_run=step_run(at_step_11, 11))
    offered = [value for value, _label in form.fields["data_narasumber"].choices]
    assert speakers[0].pk not in offered and speakers[1].pk in offered


def test_the_kelurahan_are_offered_under_their_kecamatan(sop2, users):
    from activities.forms import CompleteStepForm

    run = run_to(sop2, users["admin"], 7, now=wib(2026, 9, 7, 8))
    current = step_run(run, 7)
    field = CompleteStepForm(step_run=current).fields["data_kelurahan"]
    groups = dict(field.choices)
    assert len(groups) == 13
    assert [name for _pk, name in groups["Kecamatan Benda"]] == [
        "Belendung",
        "Benda",
        "Jurumudi",
        "Jurumudi Baru",
        "Pajang",
    ]
    [cikokol] = kelurahan("Cikokol")
    form = CompleteStepForm(
        data={
            "data_topik": "Pencegahan DBD",
            "data_kelurahan": [str(cikokol.pk)],
            "version": current.version,
            "round": current.round,
        },
        step_run=current,
    )
    assert form.is_valid(), form.errors
    assert [entry["text"] for entry in data_forms.entries(form)] == ["Pencegahan DBD", "Cikokol"]


def test_a_list_the_unit_lacks_is_explained_on_the_form(sop1, at_step_11):
    from activities.forms import CompleteStepForm

    ReferenceItem.objects.filter(reference_list__slug="narasumber").delete()
    ReferenceList.objects.filter(slug="narasumber").delete()
    field = CompleteStepForm(step_run=step_run(at_step_11, 11)).fields["data_narasumber"]
    assert field.help_text == "Daftar rujukan “narasumber” belum tersedia; minta admin membuatnya."


def test_the_transition_refuses_a_field_the_step_does_not_declare(sop1, users, at_step_11):
    entry = {"key": "anggaran", "label": "Anggaran", "type": "number", "number": "5"}
    with pytest.raises(Invalid):
        workflow.complete_step(run_id=at_step_11.pk, number=11, user=users["admin"], data=[entry])
    assert step_run(at_step_11, 11).state == StepRun.State.ACTIVE
    assert not StepValue.objects.exists()


def test_every_type_is_checked_and_entered(sop2, users):
    step = sop2.steps.get(number=8)
    step.data_fields = [
        {"key": "tanggal", "label": "Tanggal rapat", "type": "date", "required": True},
        {"key": "jam", "label": "Jam mulai", "type": "time"},
        {"key": "hadir", "label": "Kepala hadir", "type": "yesno", "required": True},
        {"key": "hasil", "label": "Hasil", "type": "choice", "choices": ["Baik", "Kurang"]},
        {"key": "catatan", "label": "Ringkasan", "type": "text", "max_length": 5},
    ]
    step.save()
    run = run_to(sop2, users["admin"], 8, now=wib(2026, 9, 7, 8))
    from activities.forms import CompleteStepForm

    current = step_run(run, 8)
    bad = CompleteStepForm(
        data={
            "data_tanggal": "31-02-2026",
            "data_jam": "25:00",
            "data_hasil": "Sedang",
            "data_catatan": "terlalu panjang",
            "version": current.version,
            "round": current.round,
        },
        step_run=current,
    )
    assert not bad.is_valid()
    assert bad.errors["data_tanggal"] == [
        "Tanggal rapat: masukkan tanggal yang valid, mis. 23-11-2026."
    ]
    assert bad.errors["data_jam"] == ["Jam mulai: masukkan jam yang valid, mis. 14:30."]
    assert bad.errors["data_hadir"] == ["Kepala hadir wajib diisi."]
    assert bad.errors["data_hasil"] == ["Hasil: pilihan “Sedang” tidak tersedia."]
    assert bad.errors["data_catatan"] == ["Ringkasan paling banyak 5 karakter."]
    good = CompleteStepForm(
        data={
            "data_tanggal": "2026-09-07",
            "data_jam": "09:30",
            "data_hadir": "ya",
            "data_hasil": "Baik",
            "data_catatan": "Rapi",
            "version": current.version,
            "round": current.round,
        },
        step_run=current,
    )
    assert good.is_valid(), good.errors
    closed = workflow.complete_step(
        run_id=run.pk, number=8, user=users["admin"], data=data_forms.entries(good)
    )
    shown = dict(closed.data_rows)
    assert shown == {
        "Tanggal rapat": "7 September 2026",
        "Jam mulai": "09:30",
        "Kepala hadir": "Ya",
        "Hasil": "Baik",
        "Ringkasan": "Rapi",
    }


# Where the values go ---------------------------------------------------------------------


def test_the_run_page_and_the_laporan_print_them(client_for, sop1, users):
    speakers = narasumber(sop1)[:1]
    run = sosialisasi(sop1, users["admin"], 1250, at=wib(2026, 9, 8, 10), speakers=speakers)
    page = client_for("kasi").get(reverse("run_detail", args=[run.pk])).content.decode()
    assert "Jumlah peserta" in page and "1.250" in page and speakers[0].name in page
    pdf = laporan.render_run_report(run.pk)
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Jumlah peserta: 1.250" in " ".join(text.split())
    assert speakers[0].name.split()[0] in text


def test_a_renamed_item_keeps_the_name_it_was_recorded_with(client_for, sop1, users):
    speaker = narasumber(sop1)[0]
    old_name = speaker.name
    run = sosialisasi(sop1, users["admin"], 40, at=wib(2026, 9, 8, 10), speakers=[speaker])
    speaker.name = "Nama baru narasumber"
    speaker.save()
    page = client_for("kasi").get(reverse("run_detail", args=[run.pk])).content.decode()
    assert old_name in page and "Nama baru narasumber" not in page
    # A used item is never deleted: the admin marks it not in use instead.
    with pytest.raises(ProtectedError):
        speaker.delete()
    # The rename is in the item's history, with what it was before.
    assert [row.name for row in speaker.history.order_by("history_date")] == [
        old_name,
        "Nama baru narasumber",
    ]


def test_statistics_add_up_the_peserta_of_a_semester(client_for, sop1, users):
    admin = users["admin"]
    sosialisasi(sop1, admin, 120, at=wib(2026, 9, 8, 10), finish=True)
    sosialisasi(sop1, admin, 80, at=wib(2026, 11, 3, 10))
    # The first semester is another period.
    sosialisasi(sop1, admin, 500, at=wib(2026, 3, 3, 10))
    stats = statistics.for_sop(sop1, SEMESTER)
    [peserta] = [total for total in stats.data if total.key == "jumlah_peserta"]
    assert (peserta.total, peserta.rounds, peserta.total_display) == (200, 2, "200")
    first = statistics.for_sop(sop1, Period(datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)))
    assert [t.total for t in first.data if t.key == "jumlah_peserta"] == [500]
    response = client_for("kasi").get(
        reverse("sop_statistics", args=[sop1.pk]) + "?dari=2026-07-01&sampai=2026-12-31"
    )
    page = response.content.decode()
    assert "Data langkah" in page
    assert 'data-data-total="jumlah_peserta"' in page
    block = page.split('data-data-total="jumlah_peserta"', 1)[1]
    assert '<div class="fs-4 fw-semibold" data-total>200</div>' in block[:400]


def test_kelurahan_covered_are_counted_and_named_in_tabel_7(sop2, users):
    admin = users["admin"]
    routes = [("Sukasari", "Cikokol"), ("Sukasari",), ("Babakan", "Sukasari")]
    for number, route in enumerate(routes):
        run = run_to(sop2, admin, 7, now=wib(2026, 8, 3 + number, 8))
        entries = [
            {
                "key": "kelurahan",
                "label": "Kelurahan yang dilalui",
                "type": "reference",
                "item": item.pk,
                "text": item.name,
            }
            for item in kelurahan(*route)
        ]
        complete(run, 7, admin, data=entries, now=wib(2026, 8, 3 + number, 11))
    stats = statistics.for_sop(sop2, SEMESTER)
    [covered] = stats.data
    assert covered.counts == [("Sukasari", 3), ("Babakan", 1), ("Cikokol", 1)]
    assert covered.distinct == 3
    proposal = tabel7.propose(stats, 80, 30)
    assert (
        "Data langkah: Kelurahan yang dilalui (langkah 7) 3 macam: Sukasari (3), Babakan (1), "
        "Cikokol (1)." in proposal.notes
    )


def test_tabel_7_catatan_gives_the_total_peserta(sop1, users):
    sosialisasi(sop1, users["admin"], 75, at=wib(2026, 9, 8, 10))
    proposal = tabel7.propose(statistics.for_sop(sop1, SEMESTER), 80, 30)
    assert "Jumlah peserta (langkah 11) 75 dari 1 kali" in proposal.notes


def test_the_aggregate_is_one_query(sop1, users, django_assert_num_queries):
    sosialisasi(sop1, users["admin"], 75, at=wib(2026, 9, 8, 10))
    steps = list(sop1.steps.all())
    first, after = SEMESTER.bounds
    with django_assert_num_queries(1):
        totals = step_data.totals(steps, first, after)
    assert [(t.key, t.total) for t in totals] == [("jumlah_peserta", 75)]


def test_the_event_log_carries_them(sop1, users):
    speaker = narasumber(sop1)[0]
    sosialisasi(sop1, users["admin"], 64, at=wib(2026, 9, 8, 10), speakers=[speaker])
    period = Period(datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
    rows = list(eventlog.csv_rows(eventlog.traces(sop1, period)))
    header, body = rows[0], rows[1:]
    column = header.index("data")
    [data] = [json.loads(row[column]) for row in body if row[column]]
    assert data == {"jumlah_peserta": "64", "narasumber": [speaker.name]}
    xes = "".join(eventlog.xes_chunks(eventlog.traces(sop1, period), sop=sop1, period=period))
    assert '<string key="data:jumlah_peserta" value="64"/>' in xes
    assert f'<string key="data:narasumber" value="{speaker.name}"/>' in xes


def test_the_archive_export_carries_them(client_for, sop1, users):
    sosialisasi(sop1, users["admin"], 33, at=wib(2026, 9, 8, 10), finish=True)
    response = client_for("kasubag_tu").get(reverse("archive_list") + "?format=csv")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    column = rows[0].index("Data langkah")
    assert rows[1][column] == "Langkah 11 · Jumlah peserta: 33"


# Authoring --------------------------------------------------------------------------------


def test_the_editor_lines_read_and_write_the_fields():
    text = (
        "Jumlah peserta: angka, wajib, min 1, maks 5000\n"
        "Narasumber: daftar narasumber, banyak\n"
        "Hasil [nilai]: pilihan Baik / Cukup / Kurang\n"
        "Topik: teks, maks 200\n"
    )
    fields, errors = datafields.parse_lines(text)
    assert not errors
    assert fields[0] == {
        "key": "jumlah_peserta",
        "label": "Jumlah peserta",
        "type": "number",
        "required": True,
        "min": 1,
        "max": 5000,
    }
    assert fields[2]["key"] == "nilai" and fields[2]["choices"] == ["Baik", "Cukup", "Kurang"]
    assert fields[3]["max_length"] == 200
    assert datafields.as_lines(fields) == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Jumlah peserta angka", "tulis “Label: jenis”"),
        ("Jumlah: bilangan", "jenis “bilangan” tidak dikenal"),
        ("Jumlah: angka, min 10, maks 1", "batas bawah melebihi batas atas"),
        ("Topik: teks, banyak", "hanya pilihan dan daftar rujukan"),
        ("Hasil: pilihan", "pilihan wajib berupa daftar teks"),
        ("Jumlah: angka\nJumlah: teks", "kunci isian “jumlah” dipakai lebih dari sekali"),
        ("Jumlah: angka, sekali", "keterangan “sekali” tidak dikenal"),
    ],
)
def test_the_editor_lines_refuse_what_they_cannot_read(text, message):
    fields, errors = datafields.parse_lines(text)
    assert fields == [] and any(message in error for error in errors), errors


def test_an_sop_file_with_a_wrong_field_is_refused(sop1):
    data = export_sop(sop1)
    data["steps"][10]["data_fields"] = [{"key": "peserta", "label": "Peserta", "type": "angka"}]
    with pytest.raises(SopFileError, match="jenis “angka” tidak dikenal"):
        load_sop(data, unit=sop1.unit, as_draft=True)


def test_an_invisible_character_in_a_label_is_refused(sop1):
    data = export_sop(sop1)
    data["steps"][10]["data_fields"] = [{"label": "Peserta\u0007", "type": "number"}]
    with pytest.raises(SopFileError, match="karakter tak terlihat"):
        load_sop(data, unit=sop1.unit, as_draft=True)


def test_the_pengesahan_diff_shows_a_changed_field(sop1, users):
    draft = lifecycle.copy_as_revision(sop1, user=users["kasubag_tu"])
    step = draft.steps.get(number=11)
    step.data_fields = [dict(step.data_fields[0], max=500), step.data_fields[1]]
    step.save()
    [changed] = pengesahan.diff(draft).steps
    [change] = changed.changes
    assert change.label == "Isian data"
    assert "maks 10000" in change.before and "maks 500" in change.after


def test_a_run_keeps_its_fields_when_a_revision_changes_them(sop1, users):
    run = sosialisasi(sop1, users["admin"], 12, at=wib(2026, 9, 8, 10))
    draft = lifecycle.copy_as_revision(sop1, user=users["kasubag_tu"])
    draft.steps.filter(number=11).update(data_fields=[])
    assert Run.objects.get(pk=run.pk).sop.steps.get(number=11).data_fields
    assert dict(step_run(run, 11).data_rows) == {"Jumlah peserta": "12"}
