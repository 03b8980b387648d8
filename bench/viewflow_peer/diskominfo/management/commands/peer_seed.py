"""10,000 wawaran processes written in bulk (COPY), the rows viewflow writes when the flow is
driven through its views (see `peer_drive`): 30% finished, 8% cancelled, the rest stopped with
a random step active (its task assigned to a holder of the role), 10% with one approval
(step 3 or 5) sent back once (step 2 or 4 again), like sopflow's `seed_scale`.

    peer_seed --reset [--processes 10000] [--seed 1]
"""

import datetime
import io
import json
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from diskominfo.flows import STEPS
from diskominfo.models import ROLES

FLOW = "diskominfo/flows.WawaranFlow"
LAST = 9
RETURNS = {3: 2, 5: 4}  # approval step -> the step it sends the run back to
FINISHED_SHARE = 0.30
CANCELLED_SHARE = 0.08
RETURN_SHARE = 0.10

TOPICS = [
    "Penyebaran informasi vaksinasi booster bagi lansia",
    "Sosialisasi pembayaran pajak bumi dan bangunan sebelum jatuh tempo",
    "Himbauan pencegahan demam berdarah dengue (3M Plus)",
    "Informasi pendaftaran sekolah (PPDB) tingkat SD dan SMP",
    "Sosialisasi pemilu damai dan anti hoaks",
    "Himbauan pengelolaan sampah rumah tangga dan bank sampah",
    "Informasi layanan Tangerang LIVE dan aduan warga",
    "Sosialisasi pencegahan stunting di posyandu",
    "Informasi program bedah rumah dan bantuan sosial",
    "Himbauan kewaspadaan banjir musim hujan",
]
KELURAHAN = [
    "Sukasari",
    "Babakan",
    "Buaran Indah",
    "Cikokol",
    "Kelapa Indah",
    "Sukarasa",
    "Tanah Tinggi",
    "Gerendeng",
    "Karawaci Baru",
    "Nusa Jaya",
    "Cibodas Baru",
    "Uwung Jaya",
    "Poris Plawad",
    "Cipondoh Indah",
    "Kunciran",
    "Paninggilan",
    "Larangan Utara",
    "Periuk Jaya",
]
KECAMATAN = [
    "Tangerang",
    "Karawaci",
    "Cibodas",
    "Cipondoh",
    "Pinang",
    "Ciledug",
    "Larangan",
    "Periuk",
    "Batuceper",
    "Neglasari",
    "Benda",
    "Jatiuwung",
    "Karangtengah",
]
PLACES = [
    "Halaman Kantor Kecamatan",
    "Pasar Anyar",
    "Alun-alun Ahmad Yani",
    "Balai Warga RW 05",
    "Jalan Daan Mogot",
    "Pusat Pemerintahan Kota Tangerang",
]
RETURN_REASONS = [
    "Tema belum sesuai dengan hasil media monitoring minggu ini, mohon disesuaikan kembali.",
    "Narasi terlalu panjang untuk disampaikan keliling, ringkas menjadi poin-poin utama.",
    "Lokasi belum mencakup kelurahan rawan, tambahkan rute dan perbaiki jadwalnya.",
]
INSTRUCTIONS = [
    "Setuju, laksanakan sesuai jadwal dan koordinasikan dengan pihak kecamatan.",
    "Lanjutkan, pastikan flyers dan pengeras suara sudah diperiksa sebelum berangkat.",
    "Laksanakan, laporkan hasil wawaran beserta dokumentasi paling lambat esok hari.",
]


def minutes(rng, low, high):
    return datetime.timedelta(
        minutes=rng.randint(low, high),
        seconds=rng.randint(0, 59),
        microseconds=rng.randint(0, 999999),
    )


def ms(rng, low=1, high=6):
    return datetime.timedelta(microseconds=rng.randint(low * 1000, high * 1000))


def step_values(rng, number, topic, where, kel, no):
    """The fields a holder fills in at step `number` (approvals apart)."""
    if number == 1:
        return {
            "data_kegiatan": (
                f"Hasil media monitoring Bagian Prokomp dan liputan Seksi DIMC: {topic.lower()} "
                f"menjadi perbincangan warga Kecamatan {where} (no. {no}); data jumlah warga sasaran, "
                "lokasi keramaian dan jadwal kegiatan terlampir."
            )
        }
    if number == 2:
        return {
            "lokasi": f"Kecamatan {where}: Kelurahan {', '.join(kel)}",
            "topik": f"{topic} — briefing tim, rute dan titik berhenti disepakati",
        }
    if number == 4:
        return {
            "narasi": (
                f"Assalamualaikum warga Kecamatan {where} yang kami hormati. Pemerintah Kota Tangerang "
                f"menginformasikan: {topic.lower()}. Informasi lengkap dapat diperoleh di kantor "
                "kelurahan setempat atau melalui layanan Tangerang LIVE. Terima kasih."
            )
        }
    if number == 6:
        return {
            "kelengkapan": (
                f"Mobil wawaran siap, pengeras suara dan genset diperiksa, {rng.randint(150, 600)} "
                f"lembar flyers, peta lokasi Kecamatan {where} dan script wawaran lengkap."
            )
        }
    if number == 7:
        return {"topik_informasi": topic, "kelurahan": ", ".join(kel)}
    if number == 8:
        return {
            "laporan": (
                f"Wawaran keliling dilaksanakan di Kelurahan {', '.join(kel)}; {rng.randint(120, 900)} "
                f"flyers dibagikan, sekitar {rng.randint(3, 12)} titik berhenti, warga antusias dan "
                "beberapa pertanyaan dicatat untuk ditindaklanjuti."
            )
        }
    if number == 9:
        return {
            "evaluasi": (
                "Laporan diterima sebagai bahan evaluasi; rute berikutnya diperluas ke kelurahan yang "
                "belum terjangkau dan durasi siaran di tiap titik ditambah."
            )
        }
    raise ValueError(number)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete all processes first")
        parser.add_argument("--processes", type=int, default=10000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, reset, processes, seed, **options):
        User = get_user_model()
        holders = {}
        for codename, _name, _prefix in ROLES:
            holders[codename] = list(
                User.objects.filter(groups__permissions__codename=codename)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not holders[codename]:
                raise CommandError("no holders: run `manage.py peer_users` first")
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from viewflow_process")
            if cursor.fetchone()[0] and not reset:
                raise CommandError("processes exist: pass --reset")

        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        plans = [self.plan(rng, now, holders, i) for i in range(processes)]
        plans.sort(key=lambda plan: plan["created"])

        proc_buf, task_buf, prev_buf = io.StringIO(), io.StringIO(), io.StringIO()
        task_id = prev_id = 0
        for process_id, plan in enumerate(plans, start=1):
            proc_buf.write(
                "\t".join(
                    [
                        str(process_id),
                        FLOW,
                        plan["status"],
                        plan["created"].isoformat(),
                        plan["finished"].isoformat() if plan["finished"] else r"\N",
                        copy_text(
                            json.dumps(plan["data"], ensure_ascii=False).replace(
                                "{no}", str(process_id)
                            )
                        ),
                    ]
                )
                + "\n"
            )
            previous = None
            for task in plan["tasks"]:
                task_id += 1
                task_buf.write(
                    "\t".join(
                        [
                            str(task_id),
                            task["flow_task"],
                            task["type"],
                            task["status"],
                            task["created"].isoformat(),
                            iso(task.get("started")),
                            iso(task.get("finished")),
                            "start",
                            task.get("permission") or r"\N",
                            str(task["owner"]) if task.get("owner") else r"\N",
                            str(process_id),
                            "{}",
                        ]
                    )
                    + "\n"
                )
                if previous:
                    prev_id += 1
                    prev_buf.write(f"{prev_id}\t{task_id}\t{previous}\n")
                previous = task_id

        with transaction.atomic(), connection.cursor() as cursor:
            if reset:
                cursor.execute(
                    "TRUNCATE viewflow_task_previous, viewflow_task, viewflow_process "
                    "RESTART IDENTITY CASCADE"
                )
            raw = cursor.cursor
            for buf, table, columns in [
                (proc_buf, "viewflow_process", "id, flow_class, status, created, finished, data"),
                (
                    task_buf,
                    "viewflow_task",
                    "id, flow_task, flow_task_type, status, created, "
                    "started, finished, token, owner_permission, owner_id, process_id, data",
                ),
                (prev_buf, "viewflow_task_previous", "id, from_task_id, to_task_id"),
            ]:
                buf.seek(0)
                raw.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(f"{len(plans)} processes, {task_id} tasks, {prev_id} previous links")

    def plan(self, rng, now, holders, index):
        draw = rng.random()
        outcome = (
            "finished"
            if draw < FINISHED_SHARE
            else "cancelled"
            if draw < FINISHED_SHARE + CANCELLED_SHARE
            else "running"
        )
        returned = rng.random() < RETURN_SHARE
        stop_at = LAST + 1 if outcome == "finished" else rng.randint(1, LAST)
        candidates = [n for n in RETURNS if n < stop_at]
        return_at = rng.choice(candidates) if returned and candidates else None

        sequence, number, done_return = [], 1, False
        while number < stop_at:
            if number == return_at and not done_return:
                sequence.append(("return", number))
                done_return = True
                number = RETURNS[number]
                continue
            sequence.append(("approve" if number in RETURNS else "complete", number))
            number += 1

        # Times forwards from zero, then shifted so that the run ends before now.
        span = datetime.timedelta()
        gaps = []
        for _ in sequence:
            wait, work = minutes(rng, 1, 600), minutes(rng, 5, 900)
            gaps.append((wait, work))
            span += wait + work
        ending = span + minutes(rng, 30, 3 * 24 * 60)
        if outcome == "running":
            opened = now - ending - minutes(rng, 0, 120 * 24 * 60)
        else:
            opened = now - ending - minutes(rng, 24 * 60, 1000 * 24 * 60)

        topic = rng.choice(TOPICS)
        where = rng.choice(KECAMATAN)
        kel = rng.sample(KELURAHAN, rng.randint(2, 4))
        no = "{no}"  # the process id, filled in once the processes are in order
        data = {
            "judul": f"Wawaran keliling: {topic} di Kecamatan {where} ({no})",
            "jadwal": (opened + datetime.timedelta(days=rng.randint(3, 30))).date().isoformat(),
            "tempat": f"{rng.choice(PLACES)}, Kecamatan {where}",
        }
        opener = rng.choice(holders["sub_kor_dimc"])
        start_finished = opened + ms(rng)
        tasks = [
            {
                "flow_task": f"{FLOW}.start",
                "type": "HUMAN_START",
                "status": "DONE",
                "created": opened,
                "started": opened,
                "finished": start_finished,
                "owner": opener,
            }
        ]
        cursor = start_finished
        for (kind, number), (wait, work) in zip(sequence, gaps, strict=False):
            codename = STEPS[number][0]
            created = cursor + ms(rng)
            started = created + wait
            finished = started + work
            tasks.append(
                {
                    "flow_task": f"{FLOW}.langkah_{number}",
                    "type": "HUMAN",
                    "status": "DONE",
                    "created": created,
                    "started": started,
                    "finished": finished,
                    "owner": rng.choice(holders[codename]),
                    "permission": f"diskominfo.{codename}",
                }
            )
            cursor = finished
            if number in RETURNS:
                data[("tema" if number == 3 else "disposisi")] = (
                    f"{topic} — {rng.choice(['ajakan', 'himbauan', 'informasi'])} untuk warga "
                    f"Kecamatan {where}"
                    if number == 3
                    else rng.choice(INSTRUCTIONS)
                )
                if kind == "return":
                    data[f"setuju_{number}"] = False
                    data[f"catatan_{number}"] = rng.choice(RETURN_REASONS)
                else:
                    data[f"setuju_{number}"] = True
                    data.pop(f"catatan_{number}", None)
                created = cursor + ms(rng)
                cursor = created + ms(rng)
                tasks.append(
                    {
                        "flow_task": f"{FLOW}.cek_{number}",
                        "type": "EXCLUSIVE_GATEWAY",
                        "status": "DONE",
                        "created": created,
                        "finished": cursor,
                    }
                )
            else:
                data.update(step_values(rng, number, topic, where, kel, no))

        finished_at, status = None, "NEW"
        if outcome == "finished":
            created = cursor + ms(rng)
            finished_at = created + ms(rng)
            tasks.append(
                {
                    "flow_task": f"{FLOW}.end",
                    "type": "END",
                    "status": "DONE",
                    "created": created,
                    "started": created + ms(rng, 0, 1),
                    "finished": finished_at,
                }
            )
            status = "DONE"
        else:
            codename = STEPS[stop_at][0]
            active = {
                "flow_task": f"{FLOW}.langkah_{stop_at}",
                "type": "HUMAN",
                "status": "ASSIGNED",
                "created": cursor + ms(rng),
                "owner": rng.choice(holders[codename]),
                "permission": f"diskominfo.{codename}",
            }
            if outcome == "cancelled":
                finished_at = opened + ending
                active["status"] = "CANCELED"
                active["finished"] = finished_at
                status = "CANCELED"
            tasks.append(active)
        return {
            "created": opened,
            "finished": finished_at,
            "status": status,
            "data": data,
            "tasks": tasks,
        }


def iso(value):
    return value.isoformat() if value else r"\N"


def copy_text(value):
    """A value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
