"""`make run`'s preparation in one process (one Django start instead of three): migrate, write the beat schedule,
seed the demo data. Each step is idempotent, so running it on every `make run` is safe."""

import os

import django
from django.core.management import call_command


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("setup_periodic_tasks", verbosity=0)
    call_command("seed_demo")


if __name__ == "__main__":
    main()
