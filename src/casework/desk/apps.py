from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "casework.desk"
    label = "desk"
    verbose_name = _("Support desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers: the live SLA state follows every ticket event.
        from casework.desk import pgtime  # noqa: F401  (PostgreSQL timestamps read in C)
        from casework.desk.library import receivers as _library  # noqa: F401  (the case library's index)
        from casework.desk.sla import receivers  # noqa: F401
