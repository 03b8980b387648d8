from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from activities.views import account

urlpatterns = [
    path("healthz/", account.healthz, name="healthz"),
    path("accounts/password_reset/", account.PasswordReset.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path(settings.SOPFLOW_ADMIN_PATH, admin.site.urls),
    path("", include("activities.urls")),
]

handler400 = "activities.views.errors.bad_request"
handler403 = "activities.views.errors.permission_denied"
handler404 = "activities.views.errors.page_not_found"
handler500 = "activities.views.errors.server_error"
