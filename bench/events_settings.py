"""Settings for bench/events_bench.py: the local settings with an in-memory broker (tasks are queued, not run:
the charging figure measures the charge path, the delivery figure calls the delivery service itself)."""

from config.settings.local import *  # noqa: F403

CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = False
EVENTS_ALLOW_PRIVATE_TARGETS = True  # the receiver is on loopback
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
