"""Tests: PostgreSQL at DATABASE_URL (CI), else the embedded throw-away test cluster under var/ that
tests/conftest.py starts; Redis when REDIS_URL is set."""

from config import embedded_postgres

from .base import *  # noqa: F403
from .base import database_config, env

DATABASES = {"default": database_config(embedded_postgres.database_url(embedded_postgres.TEST_CLUSTER))}

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789-abcdefghijklmnop"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks run in-process by default; tests that exercise the broker start a real worker.
CELERY_BROKER_URL = env("REDIS_URL", default="") or "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# The staff home computes its figures on every visit in tests (production shares them for 60 s).
SALDO_CONSOLE_CACHE_SECONDS = 0

PAYMENT_GATEWAY = "sandbox"
SANDBOX_SERVER_KEY = "sandbox-test-key"
MIDTRANS_SERVER_KEY = "SB-Mid-server-TEST"
XENDIT_SECRET_KEY = "xnd_development_TEST"
XENDIT_CALLBACK_TOKEN = "xendit-test-callback-token"
WHATSAPP_APP_SECRET = "whatsapp-test-app-secret"
WHATSAPP_VERIFY_TOKEN = "whatsapp-test-verify-token"

# Loopback receivers in tests (a real http.server on 127.0.0.1); production refuses them.
EVENTS_ALLOW_PRIVATE_TARGETS = True
