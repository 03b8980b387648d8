"""The SOP "Penyebaran Informasi melalui Mobil Wawaran Keliling" (Diskominfo, 9 steps)."""

import random

from django.contrib.auth import get_user_model
from viewflow import this
from viewflow.workflow import act, flow
from viewflow.workflow.flow.views import CreateProcessView, UpdateProcessView

from .models import WawaranProcess

# step number -> (role codename, activity, fields of the step form)
STEPS = {
    1: (
        "sub_kor_dimc",
        "Pengumpulan Data yang menjadi trending topic atau info penting",
        ["data_kegiatan"],
    ),
    2: (
        "sub_kor_dimc",
        "Briefing dengan tim, terkait teknis dan lokasi wawaran",
        ["lokasi", "topik"],
    ),
    3: ("kepala_bidang_dikp", "Mentukan tema wawaran", ["tema", "setuju_3", "catatan_3"]),
    4: ("tim", "Membuat narasi wawaran", ["narasi"]),
    5: (
        "kepala_bidang_dikp",
        "Memberikan disposisi pada tim wawaran",
        ["disposisi", "setuju_5", "catatan_5"],
    ),
    6: ("kernet_supir", "Pengecekan terhadap kelengkapan wawaran", ["kelengkapan"]),
    7: (
        "tim",
        "Melakukan Desiminasi Informasi (Tim, Kernet/Supir)",
        ["topik_informasi", "kelurahan"],
    ),
    8: ("tim", "Membuat Laporan", ["laporan"]),
    9: (
        "kepala_bidang_dikp",
        "Menerima laporan sebagai bahan evaluasi kegiatan wawaran selanjutnya",
        ["evaluasi"],
    ),
}


def holder(codename):
    """.Assign callable: a holder of the role (a member of the group holding its permission)."""

    def pick(activation):
        users = list(
            get_user_model()
            .objects.filter(groups__permissions__codename=codename, is_active=True)
            .order_by("pk")
        )
        return random.choice(users) if users else None

    return pick


def step(number, next_node):
    codename, activity, fields = STEPS[number]
    return (
        flow.View(UpdateProcessView.as_view(fields=fields))
        .Annotation(title=f"{number}. {activity}")
        .Permission(f"diskominfo.{codename}")
        .Assign(holder(codename))
        .Next(next_node)
    )


class WawaranFlow(flow.Flow):
    process_class = WawaranProcess
    process_title = "Mobil Wawaran Keliling"
    process_description = "Penyebaran Informasi melalui Mobil Wawaran Keliling"

    start = (
        flow.Start(CreateProcessView.as_view(fields=["judul", "jadwal", "tempat"]))
        .Annotation(title="Buka kegiatan wawaran")
        .Permission("diskominfo.sub_kor_dimc")
        .Next(this.langkah_1)
    )
    langkah_1 = step(1, this.langkah_2)
    langkah_2 = step(2, this.langkah_3)
    langkah_3 = step(3, this.cek_3)
    cek_3 = flow.If(act.process.setuju_3).Then(this.langkah_4).Else(this.langkah_2)
    langkah_4 = step(4, this.langkah_5)
    langkah_5 = step(5, this.cek_5)
    cek_5 = flow.If(act.process.setuju_5).Then(this.langkah_6).Else(this.langkah_4)
    langkah_6 = step(6, this.langkah_7)
    langkah_7 = step(7, this.langkah_8)
    langkah_8 = step(8, this.langkah_9)
    langkah_9 = step(9, this.end)
    end = flow.End()
