from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class SaldoAdminConfig(AdminConfig):
    """django.contrib.admin with Saldo's site as the default one, so every app's ``@admin.register`` lands on it."""

    default_site = "console.sites.SaldoAdminSite"


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Staff console"

    def ready(self):
        from . import health  # noqa: F401  connects the periodic job heartbeat to Celery's task_postrun
