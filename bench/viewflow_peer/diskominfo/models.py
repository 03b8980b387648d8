"""The wawaran run as viewflow's Process, its step fields kept in Process.data (jsonstore)."""

from django.db import models  # noqa: F401
from viewflow import jsonstore
from viewflow.workflow.models import Process

# (codename, group name, username prefix): a role of the SOP, the permission its group holds.
ROLES = [
    ("kepala_bidang_dikp", "Kepala Bidang DIKP", "kabid"),
    ("sub_kor_dimc", "Sub Kor DIMC", "subkor"),
    ("tim", "Tim", "tim"),
    ("kernet_supir", "Kernet/Supir", "kernet"),
]
HOLDERS_PER_ROLE = 5


class WawaranProcess(Process):
    # opening (flow.Start)
    judul = jsonstore.CharField("Judul kegiatan", max_length=250)
    jadwal = jsonstore.DateField("Jadwal wawaran")
    tempat = jsonstore.CharField("Tempat", max_length=200)
    # 1. Pengumpulan data
    data_kegiatan = jsonstore.TextField("Data (trending topic / info penting)")
    # 2. Briefing dengan tim
    lokasi = jsonstore.CharField("Lokasi wawaran", max_length=300)
    topik = jsonstore.CharField("Topik wawaran", max_length=300)
    # 3. Menentukan tema (approval, back to 2)
    tema = jsonstore.CharField("Tema wawaran", max_length=300, blank=True)
    setuju_3 = jsonstore.BooleanField("Setuju (lanjut ke narasi)", default=False)
    catatan_3 = jsonstore.TextField("Catatan / alasan dikembalikan", blank=True)
    # 4. Membuat narasi
    narasi = jsonstore.TextField("Narasi wawaran")
    # 5. Disposisi (approval, back to 4)
    disposisi = jsonstore.TextField("Disposisi", blank=True)
    setuju_5 = jsonstore.BooleanField("Setuju (lanjut ke pengecekan)", default=False)
    catatan_5 = jsonstore.TextField("Catatan / alasan dikembalikan", blank=True)
    # 6. Pengecekan kelengkapan
    kelengkapan = jsonstore.TextField("Flyers, lokasi, script wawaran")
    # 7. Desiminasi informasi (Tim, Kernet/Supir)
    topik_informasi = jsonstore.CharField("Topik informasi", max_length=300)
    kelurahan = jsonstore.CharField("Kelurahan yang dilalui", max_length=500)
    # 8. Membuat laporan
    laporan = jsonstore.TextField("Laporan hasil wawaran")
    # 9. Menerima laporan
    evaluasi = jsonstore.TextField("Catatan evaluasi")

    class Meta:
        proxy = True
        verbose_name = "Kegiatan wawaran"
        verbose_name_plural = "Kegiatan wawaran"
        permissions = [(codename, name) for codename, name, _prefix in ROLES]
