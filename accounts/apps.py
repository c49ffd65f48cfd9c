from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from . import jobs, schema  # noqa: F401  registers the job heartbeat signal and the OpenAPI extension
