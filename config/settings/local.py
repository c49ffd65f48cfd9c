"""Development: the embedded PostgreSQL under var/ (unless DATABASE_URL is set), a broker on the file system,
e-mail to the console."""

import warnings

from celery.exceptions import SecurityWarning

from .base import *  # noqa: F403
from .base import VAR_DIR, env

# Development containers often run everything as root; Celery warns about that on every start. Production runs
# its worker as an unprivileged user, and the JSON-only serializer makes the warning moot here.
warnings.filterwarnings("ignore", category=SecurityWarning)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-development-key-do-not-use-in-production")

VAR_DIR.mkdir(exist_ok=True)

# A broker that needs no server: kombu's file-system transport, every folder under var/broker/ (the pidbox
# "control" folder included, which kombu would otherwise create in the working directory).
_broker_dir = VAR_DIR / "broker"
for _sub in ("out", "processed", "control"):
    (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = env("REDIS_URL", default="") or "filesystem://localhost//"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# The console e-mail backend prints to stdout; Celery would log every line of it as a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Loopback receivers while developing; production refuses them.
EVENTS_ALLOW_PRIVATE_TARGETS = env.bool("EVENTS_ALLOW_PRIVATE_TARGETS", default=True)
