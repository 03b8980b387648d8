from django.apps import AppConfig


class DiskominfoConfig(AppConfig):
    name = "diskominfo"
    default_auto_field = "django.db.models.BigAutoField"
