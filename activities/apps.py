from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = _("Kegiatan dan SOP")

    def ready(self):
        from activities import checks  # noqa: F401 (registers the deploy checks)
        from activities.monitoring import aggregates

        aggregates.install()

        from django.contrib.auth.signals import user_logged_in

        from activities.middleware import IdleSessionMiddleware

        # The session's clock starts at login, written with the login's own session save.
        user_logged_in.connect(IdleSessionMiddleware.started, dispatch_uid="sopflow_session_start")
