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
