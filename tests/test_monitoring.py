"""Tabel 7 monitoring and the seven-criteria evaluation: drafts, thresholds, sign-off, PDFs."""

import datetime
import io

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from activities.models import Assessment, MonitoringReport, Sop, SopEvaluation
from activities.monitoring import statistics, tabel7
from activities.time.periods import Period
from tests.test_hardening import BAD_VALUES, HOSTILE_VALUES, hostile_params
from tests.test_statistics import QUERY, SEPTEMBER, known_runs  # noqa: F401 (fixture)

NIP = "196406061985031015"


def pdf_text(data):
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def fake_stats(steps_on_time, steps_done, returned, rounds, sop):
    """Statistics with exactly these shares, to test the thresholds at their edges."""
    approval = next(step for step in sop.steps.all() if step.is_approval)
    stat = statistics.StepStat(step=approval, rounds=rounds, returned=returned)
    return statistics.SopStatistics(
        sop=sop,
        period=SEPTEMBER,
        standard_total=185,
        opened=1,
        finished=1,
        cancelled=0,
        open_at_end=0,
        steps=[stat],
        lead=statistics.LeadTimes(),
        months=[],
        steps_done=steps_done,
        steps_on_time=steps_on_time,
        day_minutes=sop.unit.calendar.day_minutes,
    )


@pytest.mark.parametrize(
    "on_time,done,returned,rounds,expected",
    [
        (8, 10, 3, 10, Assessment.GOOD),  # exactly 80 % on time, exactly 30 % returned
        (79, 100, 0, 10, Assessment.POOR),  # just under the on-time threshold
        (8, 10, 31, 100, Assessment.POOR),  # just over the return threshold
        (10, 10, 0, 0, Assessment.GOOD),
        (0, 0, 0, 0, Assessment.NONE),  # nothing finished: "belum ada kegiatan", not poor
    ],
)
def test_proposed_penilaian_at_the_thresholds(sop2, on_time, done, returned, rounds, expected):
    proposal = tabel7.propose(fake_stats(on_time, done, returned, rounds, sop2), 80, 30)
    assert proposal.assessment == expected


def test_catatan_names_the_three_worst_steps_and_the_return_rates(sop2, known_runs):  # noqa: F811
    stats = statistics.for_sop(sop2, SEPTEMBER)
    proposal = tabel7.propose(stats, 80, 30)
    assert proposal.assessment == Assessment.GOOD  # 24 of 27 on time, 25 % returns at step 3
    assert "Langkah paling lambat: langkah 1" in proposal.notes
    assert proposal.notes.index("langkah 1 ") < proposal.notes.index("langkah 2 ")
    assert proposal.notes.index("langkah 2 ") < proposal.notes.index("langkah 3 ")
    assert "Pengembalian: langkah 3 25%" in proposal.notes
    assert "89%" in proposal.basis
    # Thresholds at the data's own values: 25 % returns still pass, 24 % fails.
    assert tabel7.propose(stats, 80, 25).assessment == Assessment.GOOD
    assert tabel7.propose(stats, 80, 24).assessment == Assessment.POOR
    assert tabel7.propose(stats, 89, 30).assessment == Assessment.POOR
    assert tabel7.propose(stats, 88, 30).assessment == Assessment.GOOD


def start_url(sop):
    return reverse("sop_monitoring", args=[sop.pk]) + QUERY


def test_draft_edit_sign_and_print(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    preview = client.get(start_url(sop2))
    assert preview.status_code == 200
    assert "Susun draf dari data" in preview.text
    response = client.post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring_detail", args=[report.pk])
    assert (report.period_start, report.period_end) == (SEPTEMBER.start, SEPTEMBER.end)
    row = report.rows.get()
    assert (row.proposed, row.assessment) == (Assessment.GOOD, Assessment.GOOD)
    # Opening the SOP's monitoring again goes to the existing form.
    assert client.get(start_url(sop2))["Location"] == response["Location"]

    detail = reverse("monitoring_detail", args=[report.pk])
    form = {
        "baris-TOTAL_FORMS": 1,
        "baris-INITIAL_FORMS": 1,
        "baris-0-id": row.pk,
        "baris-0-assessment": "poor",
        "baris-0-notes": "Langkah 1 sering terlambat.",
        "baris-0-action": "Tambah petugas pengumpul data.",
        "paraf-reviewer_name": "Drs. H. Budi Santoso",
        "paraf-reviewer_nip": "19640606 198503 1 015",
        "paraf-signed_on": "2026-10-01",
    }
    assert client.post(detail, {**form, "action": "simpan"}).status_code == 302
    report.refresh_from_db()
    row.refresh_from_db()
    assert (report.status, report.reviewer_nip) == (MonitoringReport.Status.DRAFT, NIP)
    assert (row.assessment, row.proposed) == (Assessment.POOR, Assessment.GOOD)
    assert client.post(detail, {**form, "action": "paraf"}).status_code == 302
    report.refresh_from_db()
    assert report.is_signed
    assert report.signed_by.username == "kabid"
    # Every save is kept: creation, save, sign-off.
    assert list(report.history.order_by("history_date").values_list("status", flat=True)) == [
        "draft",
        "draft",
        "signed",
    ]
    assert row.history.count() >= 2
    # Signed is final.
    client.post(detail, {**form, "baris-0-assessment": "good", "action": "simpan"})
    row.refresh_from_db()
    assert row.assessment == Assessment.POOR

    response = client.get(reverse("monitoring_pdf", args=[report.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in [
        "PEMERINTAH KOTA TANGERANG",
        "MONITORING PELAKSANAAN SOP",
        "Prosedur",
        "Berjalan dengan baik",
        "Tidak berjalan dengan baik",
        "Catatan",
        "Tindakan yang harus diambil",
        "Paraf penilai",
        "Penyebaran Informasi melalui Mobil Wawaran Keliling",
        "Langkah 1 sering terlambat.",
        "Tambah petugas pengumpul data.",
        "Drs. H. Budi Santoso",
        "NIP 19640606 198503 1 015",
        "1 Oktober 2026",
    ]:
        assert expected in text, expected
    assert "DRAF" not in text


def test_sign_off_needs_name_nip_and_date(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    client.post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    row = report.rows.get()
    response = client.post(
        reverse("monitoring_detail", args=[report.pk]),
        {
            "baris-TOTAL_FORMS": 1,
            "baris-INITIAL_FORMS": 1,
            "baris-0-id": row.pk,
            "baris-0-assessment": "good",
            "paraf-reviewer_nip": "123",
            "action": "paraf",
        },
    )
    assert response.status_code == 200
    assert "Nama penilai wajib diisi" in response.text
    assert "NIP terdiri atas 18 angka" in response.text
    report.refresh_from_db()
    assert not report.is_signed
    # A draft prints marked as such.
    assert "DRAF" in pdf_text(client.get(reverse("monitoring_pdf", args=[report.pk])).content)


def test_redraft_with_other_thresholds_keeps_the_tindakan(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    client.post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    row = report.rows.get()
    row.action = "Rapat evaluasi."
    row.save()
    detail = reverse("monitoring_detail", args=[report.pk])
    response = client.post(
        detail,
        {"ambang-on_time_threshold": 95, "ambang-return_threshold": 30, "action": "susun_ulang"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.proposed, row.action) == (Assessment.POOR, "Rapat evaluasi.")
    bad = client.post(
        detail,
        {"ambang-on_time_threshold": 150, "ambang-return_threshold": "x", "action": "susun_ulang"},
    )
    assert bad.status_code == 200
    assert "0 dan 100" in bad.text


def test_one_form_for_all_sops_of_a_unit(client_for, sop1, users):
    client = client_for("kepala")
    url = reverse("unit_monitoring", args=[sop1.unit_id]) + QUERY
    assert client.get(url).status_code == 200
    client.post(url, {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get(sop=None)
    assert [row.sop for row in report.rows.all()] == [sop1]
    assert "SOP belum dapat dinilai" in report.rows.get().notes
    text = pdf_text(client.get(reverse("monitoring_pdf", args=[report.pk])).content)
    assert sop1.unit.name.upper() in text


@pytest.mark.parametrize("username", ["tim", "supir"])
def test_monitoring_refused_to_other_roles(client_for, sop2, username):
    client = client_for(username)
    assert client.get(start_url(sop2)).status_code == 403
    assert client.post(start_url(sop2), {"on_time_threshold": 80}).status_code == 403
    assert MonitoringReport.objects.count() == 0


def test_another_unit_gets_404(client_for, sop2):
    client_for("kabid").post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    client = client_for("kepala")
    assert client.get(start_url(sop2)).status_code == 404
    assert client.get(reverse("monitoring_detail", args=[report.pk])).status_code == 404
    assert client.get(reverse("monitoring_pdf", args=[report.pk])).status_code == 404
    assert client.get(reverse("unit_monitoring", args=[sop2.unit_id])).status_code == 404


# Evaluation ----------------------------------------------------------------------------------


def test_evaluation_with_evidence_signed_and_printed(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    url = reverse("sop_evaluation", args=[sop2.pk]) + QUERY
    preview = client.get(url)
    assert preview.status_code == 200
    assert "Langkah 3 dikembalikan 1 dari 4 kali (25%)" in preview.text
    assert "Hendra Wijaya" in preview.text or "Sub Kor DIMC" in preview.text
    client.post(url)
    evaluation = SopEvaluation.objects.get()
    detail = reverse("evaluation_detail", args=[evaluation.pk])
    answers = {f"answer_{n}": "ya" for n in range(1, 8)}
    answers["answer_3"] = "tidak"
    answers["note_3"] = "Persetujuan tema sering dikembalikan."
    signoff = {
        "paraf-reviewer_name": "Ir. Siti Aminah",
        "paraf-reviewer_nip": NIP,
        "paraf-signed_on": "2026-10-02",
    }
    # Sign-off needs every criterion answered.
    partial = {**answers, **signoff, "action": "paraf"}
    del partial["answer_7"]
    response = client.post(detail, partial)
    assert "belum dijawab: 7" in response.text
    evaluation.refresh_from_db()
    assert not evaluation.is_signed
    assert client.post(detail, {**answers, **signoff, "action": "paraf"}).status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.is_signed
    assert evaluation.answer_3 == "tidak"
    assert evaluation.history.count() == 2
    text = pdf_text(client.get(reverse("evaluation_pdf", args=[evaluation.pk])).content)
    for expected in [
        "EVALUASI PENERAPAN SOP",
        "Apakah SOP mampu mendorong peningkatan kinerja?",
        "Apakah SOP dapat bersinergi satu dengan lainnya?",
        "Apakah dengan SOP semua orang dapat menjalankan perannya masing-masing?",
        "Kesimpulan dan Rekomendasi",
        "Persetujuan tema sering dikembalikan.",
        "Langkah 3 dikembalikan 1 dari 4 kali (25%)",
        "Ir. Siti Aminah",
        "NIP 19640606 198503 1 015",
    ]:
        assert expected in text, expected


def test_evaluation_evidence_of_each_pelaksana_and_overdue_trend(sop2, known_runs):  # noqa: F811
    _stats, evidence = tabel7.evaluation_evidence(sop2, SEPTEMBER)
    assert any("Kernet/Supir" in line for line in evidence[4])
    assert evidence[5] == ["September 2026: 3 dari 29 langkah melebihi waktu baku (10%)."]
    assert evidence[1][0].startswith("Median waktu tempuh 3 jam")


def test_evaluation_refused_to_other_roles_and_units(client_for, sop2):
    assert client_for("tim").get(reverse("sop_evaluation", args=[sop2.pk])).status_code == 403
    assert client_for("kasi").get(reverse("sop_evaluation", args=[sop2.pk])).status_code == 404


def test_period_defaults_to_this_semester(client_for, sop2, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 31, 16, 30, tzinfo=datetime.UTC))  # 23:30 WIB
    response = client_for("kabid").get(reverse("sop_monitoring", args=[sop2.pk]))
    assert response.context["period"] == Period(
        datetime.date(2026, 7, 1), datetime.date(2026, 12, 31)
    )


PERIOD_PAGES = ("sop_statistics", "sop_monitoring", "sop_evaluation")


def test_hostile_input_never_fails(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    # The three pages read their period through one form: the hand-picked values take turns
    # between them.
    pages = [reverse(name, args=[sop2.pk]) for name in PERIOD_PAGES]
    for index, value in enumerate(BAD_VALUES):
        url = pages[index % len(pages)]
        response = client.get(url, {"dari": value, "sampai": value})
        assert response.status_code < 500, (url, value)

    @given(st.sampled_from(pages), hostile_params(["dari", "sampai"]))
    def any_period(url, params):
        assert client.get(url, params).status_code < 500, (url, params)

    any_period()
    client.post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    row = report.rows.get()
    detail = reverse("monitoring_detail", args=[report.pk])
    fields = {
        "baris-TOTAL_FORMS": 1,
        "baris-INITIAL_FORMS": 1,
        "baris-0-id": row.pk,
        "baris-0-assessment": "good",
        "baris-0-notes": "",
        "baris-0-action": "",
        "paraf-reviewer_name": "",
        "paraf-reviewer_nip": "",
        "paraf-signed_on": "",
        "ambang-on_time_threshold": 80,
        "ambang-return_threshold": 30,
    }
    # The reviewer's name and NIP stay empty unless one is the field under test, so nothing
    # may be signed whatever the value.
    cases = [
        *[("paraf", name) for name in fields if not name.startswith("ambang-")],
        ("susun_ulang", "ambang-on_time_threshold"),
        ("susun_ulang", "ambang-return_threshold"),
        ("lain", "baris-0-id"),
    ]

    def post(action, field, value):
        response = client.post(detail, {**fields, field: value, "action": action})
        assert response.status_code < 500, (action, field, value)
        report.refresh_from_db()
        assert not report.is_signed, (action, field, value)

    for index, value in enumerate(BAD_VALUES):
        # Each hand-picked value in a field of its own, turn by turn through the fields.
        post(*cases[index % len(cases)], value)

    @given(st.sampled_from(cases), HOSTILE_VALUES)
    def any_field(case, value):
        post(*case, value)

    any_field()


def test_semester_end_reminds_the_monitors_once(sop1, sop2, users, time_machine):
    from activities.models import Notification

    # Both SOPs were in force long before the semester ended.
    Sop.objects.update(created_at=datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC))
    time_machine.move_to(
        datetime.datetime(2026, 6, 30, 18, 0, tzinfo=datetime.UTC)
    )  # 1 July 01:00 WIB
    written = tabel7.remind_semester_end.call()
    reminded = set(
        Notification.objects.filter(key__startswith="monitoring:").values_list(
            "recipient__username", flat=True
        )
    )
    assert reminded == {"kepala", "kasubag_tu", "pengelola", "kasi", "kabid", "subkor"}
    assert written == 6
    note = Notification.objects.get(recipient=users["kasi"], key__startswith="monitoring:")
    assert "Semester I 2026" in note.subject
    assert note.url.endswith("?dari=2026-01-01&sampai=2026-06-30")
    # The scheduler runs it again: nobody is told twice.
    assert tabel7.remind_semester_end.call() == 0
    # Next semester, a unit that already wrote its form is not reminded.
    time_machine.move_to(datetime.datetime(2027, 1, 2, 1, 0, tzinfo=datetime.UTC))
    MonitoringReport.objects.create(
        unit=sop1.unit,
        period_start=datetime.date(2026, 7, 1),
        period_end=datetime.date(2026, 12, 31),
        created_by=users["kepala"],
    )
    tabel7.remind_semester_end.call()
    latest = Notification.objects.filter(key__contains=":2026-07-01").values_list(
        "recipient__username", flat=True
    )
    assert set(latest) == {"kabid", "subkor"}


def test_semester_reminder_is_a_periodic_job():
    from activities.background import schedule

    assert "remind_semester_end" in {job.name for job in schedule.JOBS}


def test_no_semester_reminder_before_any_sop_of_the_unit_was_in_force(
    sop1, sop2, users, time_machine
):
    from activities.core import events
    from activities.models import Event, Notification

    # A new installation: the seed SOPs are loaded in force today, in the second semester.
    loaded = datetime.datetime(2026, 12, 6, 2, 0, tzinfo=datetime.UTC)
    Sop.objects.update(created_at=loaded)
    time_machine.move_to(loaded + datetime.timedelta(hours=1))
    assert tabel7.remind_semester_end.call() == 0
    assert not Notification.objects.filter(key__startswith="monitoring:").exists()
    # Kesbangpol's SOP was put in force in May through pengesahan: it is reminded of
    # Semester I; Diskominfo, whose SOP came later, is not.
    events.record(
        Event.Kind.SOP_ACTIVATED,
        actor=users["admin"],
        at=datetime.datetime(2026, 5, 4, 2, 0, tzinfo=datetime.UTC),
        sop=sop1,
        after={"status": "active"},
    )
    assert tabel7.remind_semester_end.call() > 0
    reminded = set(
        Notification.objects.filter(key__startswith="monitoring:").values_list(
            "recipient__username", flat=True
        )
    )
    assert reminded == {"kepala", "kasubag_tu", "pengelola", "kasi"}


def test_the_paraf_form_offers_the_reviewers_own_name_and_nip(client_for, sop2, known_runs):  # noqa: F811
    client = client_for("kabid")
    client.post(start_url(sop2), {"on_time_threshold": 80, "return_threshold": 30})
    report = MonitoringReport.objects.get()
    page = client.get(reverse("monitoring_detail", args=[report.pk])).text
    assert 'value="Dr. Rina Marlina, S.Kom., M.Si."' in page
    assert 'value="197911202005012003"' in page
