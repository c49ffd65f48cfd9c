"""Settings shared by every environment. Everything configurable comes from the environment."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import embedded_postgres

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local `.env` file is optional and only for development convenience.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "console.apps.SaldoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "core",
    "accounts",
    "credits",
    "invoices",
    "billing",
    "conversations",
    "events",
    "console.apps.ConsoleConfig",
]

MIDDLEWARE = [
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Body size, content type, JSON depth and NUL checks for /api/ and /webhooks/ (core/limits.py).
    "core.limits.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

# Django's own cap on a body it reads; the tighter caps per surface are in core/limits.py (413 past them).
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
            ],
            "builtins": ["core.templatetags.money", "core.templatetags.wib"],
        },
    }
]

# PostgreSQL only. Without DATABASE_URL, local and test settings point at the embedded PostgreSQL under var/
# (config/embedded_postgres.py); production requires it.


def database_config(default_url: str | None = None) -> dict:
    config = env.db("DATABASE_URL", default=default_url) if default_url else env.db("DATABASE_URL")
    # A Unix socket directory is percent-encoded in the URL's host (as libpq reads it); django-environ leaves it so.
    config["HOST"] = unquote(config.get("HOST") or "")
    config["ATOMIC_REQUESTS"] = False
    config.setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    if env("DATABASE_POOLER", default="") == "pgbouncer":
        # PgBouncer in transaction mode hands each transaction any server connection: a server-side cursor
        # (QuerySet.iterator() outside a transaction) would be looked for on another one. Nothing else Saldo does
        # outlives a transaction (no prepared statements: psycopg binds client-side; advisory locks are xact-level).
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASES = {"default": database_config(embedded_postgres.database_url(embedded_postgres.DEV_CLUSTER))}


def with_replica(databases: dict) -> dict:
    """Add the read replica at DATABASE_REPLICA_URL (streaming replication of the primary), if set: lag-tolerant reads
    only (core.db.lag_tolerant, config.db_routers)."""
    replica_url = env("DATABASE_REPLICA_URL", default="")
    if replica_url:
        replica = database_config()
        replica.update(
            {
                k: v
                for k, v in env.db_url_config(replica_url).items()
                if k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")
            }
        )
        replica["HOST"] = unquote(replica.get("HOST") or "")
        replica["TEST"] = {"MIRROR": "default"}
        databases["replica"] = replica
    return databases


DATABASES = with_replica(DATABASES)
DATABASE_ROUTERS = ["config.db_routers.LagTolerantReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: five failures for one e-mail from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The login form field is called "username" even though it holds the e-mail address.
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Bahasa Indonesia"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Saldo <billing@saldo.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where core.emails.email_send puts rendered notifications: the logged outbox, delivered by Celery with retries.
EMAIL_OUTBOX = "billing.services.emails.email_queue"
# How to pay an invoice now (the open payment session's VA number or QR), for the invoice page and PDF.
INVOICE_PAYMENT_INFO = "billing.selectors.purchases.invoice_open_payment"

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The beat schedule `manage.py setup_periodic_tasks` writes into django-celery-beat.
# name -> {"task": dotted task name, "every_minutes": n} or {"crontab": {...crontab fields}}
SALDO_PERIODIC_TASKS: dict[str, dict] = {}
SALDO_PERIODIC_TASKS["e-mail unsent paid invoices"] = {
    "task": "invoices.tasks.email_unsent_invoices",
    "every_minutes": 15,
}
SALDO_PERIODIC_TASKS["retry failed e-mails"] = {"task": "billing.tasks.retry_outbound_emails", "every_minutes": 1}
SALDO_PERIODIC_TASKS["expire payment sessions"] = {"task": "billing.tasks.expire_payment_sessions", "every_minutes": 5}
# 08:00 Jakarta: statements due in 3 days, due today and overdue get one reminder of each kind.
SALDO_PERIODIC_TASKS["invoice reminders"] = {
    "task": "invoices.tasks.send_invoice_reminders",
    "crontab": {"minute": "0", "hour": "8"},
}
SALDO_PERIODIC_TASKS["expire credit lots"] = {"task": "credits.tasks.expire_credit_lots", "every_minutes": 5}
SALDO_PERIODIC_TASKS["credit reminders"] = {
    "task": "credits.tasks.send_credit_reminders",
    "crontab": {"minute": "0", "hour": "9"},
}
# 01:00 Jakarta on the 1st: an hour's grace for Meta's last delivered webhooks of the month.
SALDO_PERIODIC_TASKS["close conversation month"] = {
    "task": "conversations.tasks.close_conversation_month",
    "crontab": {"minute": "0", "hour": "1", "day_of_month": "1"},
}
# 02:30 Jakarta: usage partitions for the months ahead, retired months exported and dropped, old dedup keys pruned.
SALDO_PERIODIC_TASKS["maintain usage storage"] = {
    "task": "credits.tasks.maintain_usage_storage",
    "crontab": {"minute": "30", "hour": "2"},
}
# Outgoing webhooks: delivered right after commit; this sweep sends what is due again (retries) or was lost.
SALDO_PERIODIC_TASKS["deliver events"] = {"task": "events.tasks.retry_webhook_deliveries", "every_minutes": 1}
# 08:00 Jakarta: statements past due_at tell invoice.overdue, once per invoice.
SALDO_PERIODIC_TASKS["overdue invoice events"] = {
    "task": "invoices.tasks.emit_overdue_invoice_events",
    "crontab": {"minute": "0", "hour": "8"},
}
SALDO_PERIODIC_TASKS["process waiting whatsapp webhooks"] = {
    "task": "conversations.tasks.process_pending_webhook_events",
    "every_minutes": 5,
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "accounts.authentication.HasOrganizationApiKey",
        "accounts.authentication.ApiNotSuspended",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Saldo API",
    "DESCRIPTION": "Message credits, usage, purchases, invoices and WhatsApp conversations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.schema.add_error_responses",
    ],
}

# --- Business settings ------------------------------------------------------------------------
CREDIT_VALIDITY_DAYS = env.int("CREDIT_VALIDITY_DAYS", default=30)
# Usage storage (credits/partitions.py): message usage is partitioned by month; a message_id is deduplicated for
# USAGE_DEDUP_WINDOW_DAYS after it was charged (a message older than that is refused, 409 message_id_expired);
# months older than USAGE_RETENTION_MONTHS are exported to the default storage and dropped.
USAGE_DEDUP_WINDOW_DAYS = env.int("USAGE_DEDUP_WINDOW_DAYS", default=35)
if USAGE_DEDUP_WINDOW_DAYS < 35:
    raise ImproperlyConfigured("USAGE_DEDUP_WINDOW_DAYS must be at least 35 (a month of retries and a margin).")
USAGE_RETENTION_MONTHS = env.int("USAGE_RETENTION_MONTHS", default=13)
if USAGE_RETENTION_MONTHS < 2:
    raise ImproperlyConfigured("USAGE_RETENTION_MONTHS must be at least 2 (this month and the one the window reaches).")
USAGE_PARTITIONS_AHEAD = env.int("USAGE_PARTITIONS_AHEAD", default=3)
PAYMENT_SESSION_HOURS = env.int("PAYMENT_SESSION_HOURS", default=24)
# PPN comes from the tax rules (invoices.TaxRule, staff-edited, seeded by a migration: docs/tax.md). TAX_RATE
# applies only to a deployment whose rule table is empty, as PPN on the full price (DPP).
# A monthly statement is due this many days after it is issued; reminders go 3 days before, on the day and after.
STATEMENT_DUE_DAYS = env.int("STATEMENT_DUE_DAYS", default=14)
TAX_RATE = Decimal(env.str("TAX_RATE", default="0.11"))
CURRENCY = "IDR"

PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="sandbox")
SANDBOX_SERVER_KEY = env("SANDBOX_SERVER_KEY", default="sandbox-server-key")
MIDTRANS_SERVER_KEY = env("MIDTRANS_SERVER_KEY", default="")
MIDTRANS_IS_PRODUCTION = env.bool("MIDTRANS_IS_PRODUCTION", default=False)
MIDTRANS_API_URL = env(
    "MIDTRANS_API_URL",
    default="https://api.midtrans.com" if MIDTRANS_IS_PRODUCTION else "https://api.sandbox.midtrans.com",
).rstrip("/")
MIDTRANS_SNAP_URL = env(
    "MIDTRANS_SNAP_URL",
    default="https://app.midtrans.com" if MIDTRANS_IS_PRODUCTION else "https://app.sandbox.midtrans.com",
).rstrip("/")
XENDIT_SECRET_KEY = env("XENDIT_SECRET_KEY", default="")
XENDIT_CALLBACK_TOKEN = env("XENDIT_CALLBACK_TOKEN", default="")
XENDIT_API_URL = env("XENDIT_API_URL", default="https://api.xendit.co").rstrip("/")
GATEWAY_HTTP_TIMEOUT = env.float("GATEWAY_HTTP_TIMEOUT", default=10.0)

# Outgoing webhooks (events app). Production refuses endpoints on loopback/private/link-local/metadata addresses
# and plain http; local and test settings allow loopback receivers.
EVENTS_ALLOW_PRIVATE_TARGETS = env.bool("EVENTS_ALLOW_PRIVATE_TARGETS", default=False)
EVENTS_REQUIRE_HTTPS = env.bool("EVENTS_REQUIRE_HTTPS", default=False)
EVENTS_HTTP_TIMEOUT = env.float("EVENTS_HTTP_TIMEOUT", default=10.0)  # seconds for one whole attempt
EVENTS_RETRY_DAYS = env.int("EVENTS_RETRY_DAYS", default=3)  # retries stop this long after the first attempt
EVENTS_RETRY_BASE_SECONDS = env.int("EVENTS_RETRY_BASE_SECONDS", default=30)  # first back-off, doubling
EVENTS_DISABLE_AFTER_DAYS = env.int("EVENTS_DISABLE_AFTER_DAYS", default=3)  # failing this long: disabled
EVENTS_DISABLE_MIN_FAILURES = env.int("EVENTS_DISABLE_MIN_FAILURES", default=10)
EVENTS_DELIVERY_LEASE_SECONDS = env.int("EVENTS_DELIVERY_LEASE_SECONDS", default=120)
# A Celery queue of their own for deliveries (e.g. "events", with `celery -A config worker -Q events`); empty: the
# default queue.
EVENTS_CELERY_QUEUE = env("EVENTS_CELERY_QUEUE", default="")
if EVENTS_CELERY_QUEUE:
    CELERY_TASK_ROUTES = {"events.tasks.deliver_webhook": {"queue": EVENTS_CELERY_QUEUE}}

WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default="")
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default="")

# The seller printed on invoices and declared in the e-Faktur export: its NPWP (16 digits; a legacy 15 is
# converted) and NITKU (NPWP + 6-digit place of business code; empty = NPWP + 000000, the head office).
SELLER_NITKU = env("SELLER_NITKU", default="")
SELLER = {
    "name": env("SELLER_NAME", default="PT Saldo Teknologi Nusantara"),
    "npwp": env("SELLER_NPWP", default="01.234.567.8-901.000"),
    "nitku": SELLER_NITKU,
    "address": env("SELLER_ADDRESS", default="Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190"),
    "email": env("SELLER_EMAIL", default="billing@saldo.local"),
}

# Plain text locally; JSON in production (LOG_FORMAT=json). Every line carries the request id.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
