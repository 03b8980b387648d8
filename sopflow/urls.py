from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("activities.urls")),
]

handler400 = "activities.views.errors.bad_request"
handler403 = "activities.views.errors.permission_denied"
handler404 = "activities.views.errors.page_not_found"
handler500 = "activities.views.errors.server_error"
