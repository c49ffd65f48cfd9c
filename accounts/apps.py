from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import schema  # noqa: F401  registers the OpenAPI extension
        from .roles import sync_roles_after_migrate

        # Runs after every app's permissions exist (auth's own post_migrate handler is connected earlier).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="saldo.sync_roles")
