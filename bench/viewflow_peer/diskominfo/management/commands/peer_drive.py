"""Drive a few processes through viewflow's own views (Django's test client) and print the
rows viewflow wrote: the reference for what `peer_seed` writes in bulk.

    peer_drive            finished with step 3 returned once, cancelled at step 4, stopped at 2
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from viewflow.workflow.models import Task

from diskominfo.flows import STEPS

BASE = "/diskominfo/wawaran/"

VALUES = {
    "data_kegiatan": "Hasil media monitoring: info vaksinasi",
    "lokasi": "Kelurahan Sukasari",
    "topik": "Vaksinasi",
    "tema": "Ayo vaksin",
    "catatan_3": "",
    "narasi": "Narasi wawaran vaksinasi",
    "disposisi": "Laksanakan",
    "catatan_5": "",
    "kelengkapan": "Flyers, lokasi, script lengkap",
    "topik_informasi": "Vaksinasi",
    "kelurahan": "Sukasari, Babakan",
    "laporan": "Laporan hasil wawaran",
    "evaluasi": "Diterima",
}


class Command(BaseCommand):
    help = __doc__

    def handle(self, **options):
        self.client = Client()
        User = get_user_model()
        self.subkor = User.objects.get(username="subkor1")
        finished = self.open()
        for number, approve in [
            (1, None),
            (2, None),
            (3, False),
            (2, None),
            (3, True),
            (4, None),
            (5, True),
            (6, None),
            (7, None),
            (8, None),
            (9, None),
        ]:
            self.do(finished, number, approve)
        cancelled = self.open()
        for number, approve in [(1, None), (2, None), (3, True)]:
            self.do(cancelled, number, approve)
        self.client.force_login(self.subkor)
        response = self.client.post(f"{BASE}{cancelled}/cancel/", {"_cancel_process": "1"})
        assert response.status_code == 302, response.status_code
        stopped = self.open()
        self.do(stopped, 1, None)
        for pk in (finished, cancelled, stopped):
            self.dump(pk)

    def open(self):
        self.client.force_login(self.subkor)
        response = self.client.post(
            f"{BASE}start/", {"judul": "Uji", "jadwal": "2026-12-10", "tempat": "Aula"}
        )
        assert response.status_code == 302, (response.status_code, response.content[:2000])
        with connection.cursor() as cursor:
            cursor.execute("select max(id) from viewflow_process")
            return cursor.fetchone()[0]

    def do(self, process_pk, number, approve):
        task = Task.objects.get(process_id=process_pk, flow_task_type="HUMAN", status="ASSIGNED")
        assert task.flow_task.name == f"langkah_{number}", task.flow_task.name
        self.client.force_login(task.owner)
        url = f"{BASE}{process_pk}/langkah_{number}/{task.pk}/execute/"
        assert self.client.get(url).status_code == 200
        data = {field: VALUES.get(field, "") for field in STEPS[number][2]}
        if approve is not None:
            data[f"setuju_{number}"] = "on" if approve else ""
            if not approve:
                data[f"catatan_{number}"] = "Perbaiki"
        data = {k: v for k, v in data.items() if v != ""}
        response = self.client.post(url, data)
        assert response.status_code == 302, (response.status_code, response.content[:3000])

    def dump(self, pk):
        with connection.cursor() as cursor:
            cursor.execute("select * from viewflow_process where id = %s", [pk])
            cols = [c.name for c in cursor.description]
            print(json.dumps(dict(zip(cols, cursor.fetchone(), strict=True)), default=str))
            cursor.execute("select * from viewflow_task where process_id = %s order by id", [pk])
            cols = [c.name for c in cursor.description]
            for row in cursor.fetchall():
                print(json.dumps(dict(zip(cols, row, strict=True)), default=str))
            cursor.execute(
                "select from_task_id, to_task_id from viewflow_task_previous p join viewflow_task t"
                " on t.id = p.from_task_id where t.process_id = %s order by 1, 2",
                [pk],
            )
            print("previous (from, to):", cursor.fetchall())
