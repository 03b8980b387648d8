"""Every printed document, read back from the PDF's own geometry (pdfplumber): no word crosses
or touches a cell border, no two words overlap, and the SOP's identity block is exactly as wide
as its step table.

The documents: SOP 1 and SOP 2; the laporan of an SOP 1 run with a returned step, long texts,
the longest date ("30 September 2026"), several dispositions and photos; the laporan of an SOP 2
run (its "120 menit"); a period report. Each is rendered once for the module.
"""

import datetime
import io
import itertools
import os
import pathlib
import re
import shutil
import subprocess
import zoneinfo

import pdfplumber
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings

from activities.authoring import lifecycle, sopdoc
from activities.core import uploads, workflow
from activities.documents import archive, laporan, verification
from activities.models import MonitoringReport, Sop, SopEvaluation, Unit
from activities.monitoring import tabel7
from activities.time.periods import Period
from activities.views.sops import pdf_context
from tests.conftest import build_demo, demo_is_there
from tests.test_reports import PERFORMERS, photo, tiny_pdf

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
DAY = datetime.date(2026, 9, 30)  # the longest date an Indonesian document prints
LONG_WORD = "https://ppid.tangerangkota.example/dokumen/undangan-narasumber-sosialisasi-2026"
LONG_TEXT = (
    "Koordinasi dengan camat dan lurah se-Kota Tangerang tentang peserta, narasumber, tempat, "
    "konsumsi dan dokumentasi; daftar hadir ditandatangani peserta dan dilampirkan. "
)
# A word may come no closer than this to a border it does not cross (points); the cells'
# padding is 3–4 pt, so a word this close has run out of its cell.
CLEARANCE = 0.5


def at(hour, minute=0):
    return datetime.datetime.combine(DAY, datetime.time(hour, minute), tzinfo=WIB)


def run_through(run, users, *, start, returns=(), files=None, long=False):
    """Do every step of `run`, 20 minutes each from `start`, returning once at each of `returns`."""
    files = files or {}
    steps = {step.number: step for step in run.sop.steps.prefetch_related("roles")}
    moment, number, returned = start, 1, set()
    now = at(23, 0)
    while number <= len(steps):
        step = steps[number]
        user = users[PERFORMERS[step.roles.all()[0].name]]
        times = {"started_at": moment, "completed_at": moment + datetime.timedelta(minutes=20)}
        if step.is_approval and number in returns and number not in returned:
            workflow.return_step(
                run_id=run.pk,
                number=number,
                user=user,
                reason=(LONG_TEXT * 2 if long else "Perbaiki daftar undangan"),
                now=now,
                **times,
            )
            returned.add(number)
            number = step.return_to.number
        elif step.is_approval:
            workflow.approve_step(
                run_id=run.pk,
                number=number,
                user=user,
                instruction=(LONG_TEXT if long else "Setuju, lanjutkan."),
                deadline=DAY,
                decision_notes=(LONG_WORD if long else ""),
                now=now,
                **times,
            )
            number += 1
        else:
            # A joint step is signed off by a performer of each of its roles.
            performers = [users[PERFORMERS[role.name]] for role in step.roles.all()]
            for performer in performers if step.is_joint else [user]:
                workflow.complete_step(
                    run_id=run.pk,
                    number=number,
                    user=performer,
                    output=(f"{LONG_TEXT} {LONG_WORD}" if long else f"Hasil langkah {number}"),
                    notes=(LONG_TEXT if long else ""),
                    attachments=files.get(number, ()) if performer == user else (),
                    now=now,
                    **times,
                )
            number += 1
        moment = times["completed_at"]
    run.refresh_from_db()
    return run


def run_at(run, users, times, *, now):
    """Do the steps of `run` in order at the given (start, end) times, approving every one."""
    steps = {step.number: step for step in run.sop.steps.prefetch_related("roles")}
    for number in sorted(steps):
        step = steps[number]
        user = users[PERFORMERS[step.roles.all()[0].name]]
        started, completed = times[number]
        kwargs = {"started_at": started, "completed_at": completed, "now": now}
        if step.is_approval:
            workflow.approve_step(
                run_id=run.pk, number=number, user=user, instruction="Setuju.", **kwargs
            )
        else:
            # A joint step is signed off by a performer of each of its roles.
            performers = [users[PERFORMERS[role.name]] for role in step.roles.all()]
            for performer in performers if step.is_joint else [user]:
                workflow.complete_step(
                    run_id=run.pk,
                    number=number,
                    user=performer,
                    output=f"Hasil langkah {number}",
                    attachments=files_for(number) if performer == user else (),
                    **kwargs,
                )
    run.refresh_from_db()
    return run


def files_for(number):
    if number != 1:
        return ()
    names = ["draf_undangan_narasumber_kecamatan_v1.pdf", "daftar_hadir_peserta_sosialisasi.pdf"]
    return uploads.validate_uploads([tiny_pdf(name) for name in names])


def multi_day_times(sop):
    """SOP `sop`'s steps from Friday 25 September 2026 15.00: step 2 on Saturday morning
    (wholly outside office hours), step 3 from Monday to Tuesday, the rest an hour each."""
    friday = datetime.date(2026, 9, 25)

    def moment(day, hour, minute=0):
        return datetime.datetime.combine(
            friday + datetime.timedelta(days=day), datetime.time(hour, minute), tzinfo=WIB
        )

    times = {1: (moment(0, 15), moment(0, 15, 30)), 2: (moment(1, 9), moment(1, 11, 5))}
    times[3] = (moment(3, 8), moment(4, 9))
    start = moment(4, 9)
    for number in range(4, sop.steps.count() + 1):
        times[number] = (start, start + datetime.timedelta(minutes=45))
        start += datetime.timedelta(minutes=45)
    return times


def open_run(sop, users, *, title, place, start):
    opener = users[PERFORMERS[sop.steps.get(number=1).roles.first().name]]
    return workflow.open_run(
        sop=sop,
        user=opener,
        title=title,
        scheduled_on=DAY,
        place=place,
        notes=LONG_TEXT,
        now=start,
    )


@pytest.fixture(scope="module")
def documents(django_db_setup, django_db_blocker, tmp_path_factory, demo_media):
    """{name: PDF bytes} of every document, rendered once; the data is rolled back after."""
    media = tmp_path_factory.mktemp("media")
    shutil.copytree(demo_media, media, dirs_exist_ok=True)
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media,
            STORAGES=storages,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        transaction.atomic(),
    ):
        if not demo_is_there():
            build_demo(demo_media)
        users = {user.username: user for user in get_user_model().objects.all()}
        sop1 = Sop.objects.get(unit__short_name="Kesbangpol", version=1)
        sop2 = Sop.objects.get(unit__short_name="Diskominfo", version=1)
        long_run = open_run(
            sop1,
            users,
            title=("Sosialisasi Wawasan Kebangsaan dan Pencegahan Radikalisme bagi Pelajar " * 3)[
                :200
            ],
            place="Aula Kantor Kecamatan Karang Tengah, Jl. Raya Ciledug No. 1, Kota Tangerang",
            start=at(7, 30),
        )
        captions = [LONG_TEXT[:200], "Peserta mengisi daftar hadir", ""]
        files = {
            11: uploads.validate_uploads(
                [photo(f"IMG_{n}.jpg", color=(40 * n, 90, 160)) for n in range(3)],
                captions=captions,
            )
        }
        run_through(long_run, users, start=at(7, 30), returns=(5, 14), files=files, long=True)
        short_run = open_run(sop1, users, title="Sosialisasi", place="Aula", start=at(7, 30))
        run_through(short_run, users, start=at(7, 30))
        wawaran = open_run(
            sop2, users, title="Wawaran keliling Kecamatan Cibodas", place="Cibodas", start=at(8)
        )
        run_through(wawaran, users, start=at(8))
        kesbangpol = Unit.objects.get(short_name="Kesbangpol")
        diskominfo = Unit.objects.get(short_name="Diskominfo")
        times = multi_day_times(sop2)
        weekend = open_run(
            sop2, users, title="Wawaran akhir pekan", place="Cibodas", start=times[1][0]
        )
        run_at(weekend, users, times, now=at(23, 0))
        running = open_run(sop1, users, title="Sosialisasi berjalan", place="Aula", start=at(8))
        workflow.complete_step(
            run_id=running.pk,
            number=1,
            user=users[PERFORMERS[sop1.steps.get(number=1).roles.first().name]],
            started_at=at(8),
            completed_at=at(8, 30),
            now=at(9),
        )
        revision = lifecycle.copy_as_revision(sop1, user=users["kepala"], now=at(23, 0))
        semester = Period.semester_of(DAY)
        tabel = tabel7.draft(unit=kesbangpol, sop=None, period=semester, user=users["kepala"])
        tabel.reviewer_name, tabel.reviewer_nip = "Drs. Penilai Contoh", "196406061985031015"
        tabel.signed_on, tabel.status = DAY, MonitoringReport.Status.SIGNED
        tabel.signed_by = users["kasubag_tu"]
        tabel.save()
        evaluation = SopEvaluation.objects.create(
            sop=sop1,
            period_start=semester.start,
            period_end=semester.end,
            created_by=users["kepala"],
            reviewer_name="Drs. Penilai Contoh",
            reviewer_nip="196406061985031015",
            signed_on=DAY,
            status=SopEvaluation.Status.SIGNED,
            **{f"answer_{n}": "ya" for n in range(1, 8)},
        )
        evaluation.answer_3, evaluation.note_3 = "tidak", LONG_TEXT
        evaluation.save()
        rendered = {
            "sop1": _sop_pdf(sop1),
            "sop2": _sop_pdf(sop2),
            # as archived: with the verification block on the first and the last page
            "laporan-sop1": laporan.render_run_report(
                long_run.pk, now=at(23, 30), code=verification.new_code()
            ),
            "laporan-sop2": laporan.render_run_report(
                wawaran.pk, now=at(23, 30), code=verification.new_code()
            ),
            "arsip": archive.render_archive_report(
                [kesbangpol], DAY.replace(day=1), DAY, now=at(23, 30)
            ),
            "laporan-weekend": laporan.render_run_report(
                weekend.pk, now=at(23, 30), code=verification.new_code()
            ),
            "sop1-draft": _sop_pdf(revision),
            "laporan-draft": laporan.render_run_report(running.pk, now=at(23, 30)),
            "tabel7": tabel7.render_report(tabel),
            "evaluasi": tabel7.render_evaluation(evaluation),
            "arsip-semua": archive.render_archive_report(
                [kesbangpol, diskominfo], DAY.replace(day=1), DAY, now=at(23, 30)
            ),
        }
        RAW.update(rendered)
        transaction.set_rollback(True)
    # SOPFLOW_DOCUMENTS_DIR=/some/folder keeps the PDFs to look at (pdftoppm -png).
    if folder := os.environ.get("SOPFLOW_DOCUMENTS_DIR"):
        for name, data in rendered.items():
            pathlib.Path(folder, f"{name}.pdf").write_bytes(data)
    return {name: pdfplumber.open(io.BytesIO(data)) for name, data in rendered.items()}


def _sop_pdf(sop):
    from activities.documents import pdf

    sop = Sop.objects.select_related("unit").get(pk=sop.pk)
    return pdf.render_pdf("reports/sop.html", pdf_context(sop))


def borders(page):
    """(vertical, horizontal) border segments of a page: every ruled line and every edge of a
    filled box (a shaded header cell), as (x0, top, x1, bottom) rectangles."""
    vertical, horizontal = [], []
    for line in page.lines:
        box = (line["x0"], line["top"], line["x1"], line["bottom"])
        if line["x1"] - line["x0"] < 1:
            vertical.append(box)
        elif line["bottom"] - line["top"] < 1:
            horizontal.append(box)
    return vertical, horizontal


def words(page):
    return page.extract_words(keep_blank_chars=False, use_text_flow=False)


def crossing(word, vertical, horizontal):
    """The first border `word` crosses or comes closer than CLEARANCE to, or None.

    A horizontal line through the lowest fifth of a word is its underline (the approver's and
    the signatory's name, the title), not a border.
    """
    top, bottom = word["top"] + 1, word["bottom"] - 1
    underline = word["top"] + 0.8 * (word["bottom"] - word["top"])
    for x0, y0, x1, y1 in vertical:
        x = (x0 + x1) / 2
        if y0 < bottom and y1 > top and word["x0"] - CLEARANCE < x < word["x1"] + CLEARANCE:
            return ("vertical", round(x, 1), round(y0, 1), round(y1, 1))
    left, right = word["x0"] + 0.5, word["x1"] - 0.5
    for x0, y0, x1, y1 in horizontal:
        y = (y0 + y1) / 2
        if x0 < right and x1 > left and top < y < underline:
            return ("horizontal", round(y, 1), round(x0, 1), round(x1, 1))
    return None


def overlapping(page_words):
    """Pairs of words whose boxes overlap (shrunk a little: neighbours may touch)."""
    boxes = [
        (w["x0"] + 0.3, w["top"] + 1.2, w["x1"] - 0.3, w["bottom"] - 1.2, w["text"])
        for w in page_words
    ]
    boxes.sort()
    found = []
    for i, (_x0, top, x1, bottom, text) in enumerate(boxes):
        for other in itertools.islice(boxes, i + 1, None):
            if other[0] >= x1:
                break
            if other[1] < bottom and other[3] > top:
                found.append((text, other[4]))
    return found


# Marked so that the test database is set up; the documents themselves are rendered once.
pytestmark = pytest.mark.django_db

DOCUMENTS = [
    "sop1",
    "sop2",
    "laporan-sop1",
    "laporan-sop2",
    "arsip",
    "laporan-weekend",
    "sop1-draft",
    "tabel7",
    "evaluasi",
    "arsip-semua",
    "laporan-draft",
]
# The PDF bytes of each document, for pdftotext.
RAW = {}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_word_crosses_or_touches_a_cell_border(documents, name):
    problems = []
    assert all(borders(documents[name].pages[0])), "the first page has table borders"
    for page in documents[name].pages:
        vertical, horizontal = borders(page)
        for word in words(page):
            border = crossing(word, vertical, horizontal)
            if border:
                problems.append((page.page_number, word["text"], border))
    assert problems == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_two_words_overlap(documents, name):
    problems = []
    for page in documents[name].pages:
        problems += [(page.page_number, pair) for pair in overlapping(words(page))]
    assert problems == []


def table_extent(page):
    """Left and right of a page's tables: its outermost vertical borders."""
    xs = [(x0 + x1) / 2 for x0, _top, x1, _bottom in borders(page)[0]]
    return min(xs), max(xs)


def emblem_drawn(page):
    """The emblem (the demo's is an SVG, drawn as paths) in the top left of the page."""
    drawn = page.images + page.curves
    return any(item["x1"] < page.width / 3 and item["bottom"] < page.height / 3 for item in drawn)


@pytest.mark.parametrize("name", ["sop1", "sop2"])
def test_identity_block_is_as_wide_as_the_step_table(documents, name):
    pages = documents[name].pages
    identity, steps = table_extent(pages[0]), table_extent(pages[1])
    assert identity == pytest.approx(steps, abs=0.3)
    # and both sit inside the page's margins
    assert identity[0] >= 28 and identity[1] <= pages[0].width - 28


@pytest.mark.parametrize("name", ["laporan-sop1", "laporan-sop2", "arsip"])
def test_the_kop_prints_the_units_letterhead_and_its_rule(documents, name):
    first = documents[name].pages[0]
    text = first.extract_text()
    assert "PEMERINTAH KOTA TANGERANG" in text
    assert "Jl. Satria Sudirman No. 1" in text
    assert "Telepon" in text and "Pos-el" in text and "Laman" in text
    assert "E-mail" not in text
    assert emblem_drawn(first)
    rules = [
        rule
        for rule in first.lines + first.rects
        if rule["x1"] - rule["x0"] > first.width * 0.8 and rule["bottom"] - rule["top"] < 3
    ]
    assert len(rules) >= 2  # the double rule under the kop


def test_the_laporan_prints_the_longest_date_and_every_round(documents):
    text = "\n".join(page.extract_text() for page in documents["laporan-sop1"].pages)
    assert "30 September 2026" in text
    assert text.count("Dikembalikan") >= 2


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("sop1", ["Nomor", "Tanggal Efektif", "KEPALA SEKSI"]),
        ("sop2", ["Tgl Pembuatan", "Tgl Pengesahan", "KOTA TANGERANG"]),
    ],
)
def test_each_sop_keeps_its_own_labels(documents, name, labels):
    text = documents[name].pages[0].extract_text()
    for label in labels:
        assert label in text
    if name == "sop2":
        assert "Tanggal Efektif" not in text
        assert "BIDANG DISEMINASI INFORMASI KOMUNIKASI PUBLIK\n" not in text.split("Nomor SOP")[0]
    assert emblem_drawn(documents[name].pages[0]), "the emblem sits in the logo cell"


def test_a_standard_time_stays_on_one_line(documents):
    """SOP 2's step 7 waktu, "120 menit", is one line of its cell."""
    page_words = [w for page in documents["laporan-sop2"].pages for w in words(page)]
    pairs = zip(page_words, page_words[1:], strict=False)
    assert any(
        a["text"] == "120" and b["text"] == "menit" and abs(a["top"] - b["top"]) < 1
        for a, b in pairs
    )


# Text in reading order (pdftotext), and where the closing blocks fall ---------------------------


def pdftotext(name, *options):
    return subprocess.run(
        ["pdftotext", *options, "-", "-"], input=RAW[name], capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.parametrize("name", ["sop1", "sop2", "sop1-draft"])
def test_the_sop_text_tells_who_does_each_step(documents, name):
    """Each step's pelaksana is text in its row (invisible on paper, beside the symbol)."""
    sop = Sop.objects.get(
        unit__short_name="Diskominfo" if name == "sop2" else "Kesbangpol", version=1
    )
    expected = [
        cell.role
        for page in sopdoc.build(sop, paged=True).pages
        for row in page.rows
        for cell in row.cells
        if cell.symbol
    ]
    hidden = []
    for page in documents[name].pages:
        tiny = page.filter(lambda obj: obj.get("object_type") != "char" or obj["size"] < 2)
        hidden += [line for line in tiny.extract_text().splitlines() if line.strip()]
    assert " ".join(hidden).split() == " ".join(expected).split()
    text = " ".join(pdftotext(name).split())
    for role in set(expected):
        assert role in text


def test_a_draft_revision_prints_as_a_draft(documents):
    text = " ".join(pdftotext("sop1-draft").split())
    assert "DRAF – belum disahkan · versi 2" in text
    assert "-----/----- -Kesbangpol / 2018" not in text  # the Nomor of the version in force
    assert "TEMMY MULYADI" not in text  # nobody approved the draft
    in_force = " ".join(pdftotext("sop1").split())
    assert "DRAF" not in in_force and "TEMMY MULYADI" in in_force


def test_tabel7_reads_its_decisions_and_keeps_the_paraf_cell_free(documents):
    text = " ".join(pdftotext("tabel7").split())
    assert "Catatan Hasil Penilaian" in text
    assert "✓ Tidak berjalan" in text or "✓ Berjalan" in text
    # The penilai's name is in the signature block only: the paraf cell is left for the paraf.
    assert text.count("Drs. Penilai Contoh") == 1
    assert "Penilai, Kasubag TU," in text  # the jabatan of who signed it


def test_the_evaluation_reads_its_answers_roles_and_conclusion(documents, users):
    text = " ".join(pdftotext("evaluasi").split())
    assert "Apakah dengan SOP semua orang dapat menjalankan perannya masing-masing?" in text
    assert "Apakah SOP dapat bersinergi satu dengan lainnya?" in text
    assert "Apakah SOP sinergi" not in text
    assert text.count("✓ Ya") == 6 and text.count("✓ Tidak") == 1
    assert "Kesimpulan dan Rekomendasi" in text and "SOP perlu direvisi: kriteria 3" in text
    assert "Evaluator, Kepala Kantor Kesatuan Bangsa dan Politik," in text
    assert "Staf seksi:" in text  # criterion 4 by role …
    for user in users.values():  # … never by person
        if user.first_name and user.username != "admin":
            assert user.get_full_name() not in text, user.get_full_name()


def test_the_laporan_says_both_office_and_calendar_time(documents):
    text = " ".join(pdftotext("laporan-weekend").split())
    # Step 2 on Saturday: no office minute passed, and its row says so with the calendar time
    # under the office time (read in the page's layout: a row's cells share their lines).
    lines = pdftotext("laporan-weekend", "-layout").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\s*2\s+Briefing", line))
    row = lines[start : start + 3]
    assert re.search(r"\s0 menit\s+-10 menit\s+Di luar jam$", row[0]), row[0]
    assert re.search(r"\s2 jam 5 menit\s+kerja$", row[1]) and row[2].strip() == "kalender"
    assert "Kepala Dinas Komunikasi dan Informatika Kota Tangerang," in text
    assert "Pos-el:" in text
    # A file name is never split inside a word.
    assert "draf_undangan_narasumber_kecamatan_v1.pdf" in text


@pytest.mark.parametrize(
    ("name", "signatory", "content"),
    [
        ("evaluasi", "Drs. Penilai Contoh", "Apakah"),
        ("tabel7", "Drs. Penilai Contoh", "Mekanisme"),
        ("laporan-sop1", "TEMMY MULYADI", "Rekapitulasi"),
        ("laporan-weekend", "INDRI ASTUTI", "Rekapitulasi"),
        ("arsip", "TEMMY MULYADI", "Jumlah"),
        ("arsip-semua", "Ahmad Fauzi", "Jumlah"),
    ],
)
def test_no_signature_block_stands_alone_on_a_page(documents, name, signatory, content):
    # The name as the person record writes it (with gelar) or in capitals: either way. The
    # signature block closes the document, so it stands on the last page naming him (he may
    # also be named earlier, as the performer of a step).
    pages = [p for p in documents[name].pages if signatory.lower() in p.extract_text().lower()]
    assert pages
    page = pages[-1]
    assert content in page.extract_text(), f"page {page.page_number} has the signature alone"


def test_the_multi_unit_period_report_prints_the_emblem_and_on_time_per_run(documents):
    assert emblem_drawn(documents["arsip-semua"].pages[0])
    text = " ".join(pdftotext("arsip-semua").split())
    assert "%" not in text.split("Jumlah:")[0].split("Tepat waktu")[-1]
    # Each run's row says whether it kept to the SOP's standard time: the weekend wawaran
    # took a day more than its standard, the others less.
    rows = {}
    for line in pdftotext("arsip-semua", "-layout").splitlines():
        columns = re.split(r"\s{2,}", line.strip())
        if columns[0].isdigit() and columns[-1] in ("Ya", "Tidak"):
            rows[columns[1]] = columns[-1]
    # Each group's summary reads on from "Jumlah:", never a line of its own.
    assert "Jumlah:" not in [
        line.strip() for line in pdftotext("arsip-semua", "-layout").splitlines()
    ]
    assert rows == {
        "Wawaran akhir pekan · Cibodas": "Tidak",
        "Wawaran keliling Kecamatan": "Ya",
        "Sosialisasi · Aula": "Ya",
        "Sosialisasi Wawasan Kebangsaan": "Ya",
    }


def test_the_multi_unit_period_report_is_issued_by_the_organisation_bureau(documents):
    """A report over several units carries the kop (with its address) and the signature of
    the city's organisation bureau, and names the units it covers."""
    text = " ".join(pdftotext("arsip-semua").split())
    assert "SEKRETARIAT DAERAH Gedung Pusat Pemerintahan Kota Tangerang" in text
    assert "Pos-el: organisasi@tangerangkota.example" in text
    assert (
        "Unit kerja: Bagian Organisasi Sekretariat Daerah" not in text
        and "Unit kerja: Dinas Komunikasi dan Informatika; Kantor Kesatuan Bangsa dan Politik"
        in text
    )
    assert "Kepala Bagian Organisasi Sekretariat Daerah Kota Tangerang, Drs. Ahmad Fauzi" in text
    assert "NIP 19700315 199503 1 002" in text


def test_a_running_laporan_sets_no_difference_against_the_whole_standard(documents):
    """One step of fifteen done: its recapitulation says the difference waits for the end,
    and the lead time runs to the printing; the final laporan keeps both figures."""
    text = " ".join(pdftotext("laporan-draft").split())
    assert "Selisih terhadap waktu baku belum dapat dihitung: kegiatan masih berjalan" in text
    assert "Waktu tempuh, dibuka sampai dicetak" in text
    final = " ".join(pdftotext("laporan-sop1").split())
    assert "Selisih terhadap waktu baku -4 hari" in final
    assert "Waktu tempuh, dibuka sampai selesai" in final


def test_watermark_and_demo_emblem_letters_are_not_text(documents):
    lines = [line.strip() for line in pdftotext("laporan-draft").splitlines()]
    assert "DRAF" not in lines and "D R A F" not in lines
    text = " ".join(lines)
    assert "DRAF – belum final" in text  # the page's own statement stays readable
    for name in RAW:
        assert "CONTOH" not in pdftotext(name), name
    assert emblem_drawn(documents["laporan-draft"].pages[0])
