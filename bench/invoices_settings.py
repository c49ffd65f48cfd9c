"""Settings for bench/invoices_bench.py's month close: the test settings with a real broker (Redis db 3 unless
REDIS_URL says otherwise), so tasks go to the Celery workers instead of running in-process."""

import os

from config.settings.test import *  # noqa: F403

CELERY_BROKER_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
CELERY_TASK_ALWAYS_EAGER = False
MEDIA_ROOT = os.environ.get("SALDO_BENCH_MEDIA_ROOT", "/tmp/saldo-bench-media")
LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "WARNING", "handlers": []}}
