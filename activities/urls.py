from django.urls import path

from activities.views import archive, authoring, notifications, runs, sops, verify

urlpatterns = [
    path("", runs.home, name="home"),
    path("tugas/", runs.inbox, name="inbox"),
    path("sop/", sops.sop_list, name="sop_list"),
    path("sop/<int:pk>/", sops.sop_detail, name="sop_detail"),
    path("sop/<int:pk>/pdf/", sops.sop_pdf, name="sop_pdf"),
    path("sop/<int:pk>/json/", authoring.sop_export_json, name="sop_export_json"),
    path("sop/baru/", authoring.sop_create, name="sop_create"),
    path("sop/<int:pk>/ubah/", authoring.sop_edit, name="sop_edit"),
    path("sop/<int:pk>/ubah/pratinjau/", authoring.sop_preview, name="sop_preview"),
    path("sop/<int:pk>/revisi/", authoring.sop_revise, name="sop_revise"),
    path("sop/<int:pk>/ajukan/", authoring.sop_submit, name="sop_submit"),
    path("sop/<int:pk>/pengesahan/", authoring.sop_pengesahan, name="sop_pengesahan"),
    path("sop/impor/", authoring.sop_import, name="sop_import"),
    path("sop/impor/template.xlsx", authoring.import_template, name="sop_import_template"),
    path("kegiatan/", runs.run_list, name="run_list"),
    path("kegiatan/baru/", runs.run_create, name="run_create"),
    path("kegiatan/<int:pk>/", runs.run_detail, name="run_detail"),
    path("kegiatan/<int:pk>/batal/", runs.run_cancel, name="run_cancel"),
    path("kegiatan/<int:pk>/langkah/<int:number>/", runs.step_action, name="step_action"),
    path("kegiatan/<int:pk>/laporan.pdf", archive.run_report, name="run_report"),
    path(
        "kegiatan/<int:pk>/lampiran/<int:attachment_id>/",
        archive.attachment_download,
        name="attachment_download",
    ),
    path(
        "kegiatan/<int:pk>/lampiran/<int:attachment_id>/kecil/",
        archive.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
    path("arsip/", archive.archive_list, name="archive_list"),
    path("arsip/laporan.pdf", archive.archive_report, name="archive_report"),
    path("verifikasi/", verify.verify_index, name="verify_index"),
    path("verifikasi/<str:code>/", verify.verify_document, name="verify_document"),
    path("notifikasi/", notifications.notification_list, name="notification_list"),
    path("notifikasi/jumlah/", notifications.notification_count, name="notification_count"),
    path(
        "notifikasi/baca-semua/", notifications.notification_read_all, name="notification_read_all"
    ),
    path("notifikasi/<int:pk>/", notifications.notification_open, name="notification_open"),
]
