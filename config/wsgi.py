"""WSGI entry point (gunicorn, runserver): see config/handlers.py for the two middleware stacks."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from config.handlers import get_application  # noqa: E402

application = get_application()
