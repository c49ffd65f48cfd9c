"""Production: every secret from the environment, no defaults. A missing or placeholder value of anything
production needs stops the start with an ``ImproperlyConfigured`` that names the variable (DESIGN.md,
"Settings"): the secret key, a real e-mail backend (paid-invoice e-mails printed to a console are lost), an
https SITE_URL (links in e-mails and gateway return URLs), the seller's legal details printed on every invoice,
and the chosen gateway's keys and production hosts (the sandbox gateway and sandbox hosts are refused)."""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError

from core.tax_ids import normalize_nitku, validate_npwp

from .base import *  # noqa: F403
from .base import database_config, env, with_replica

DEBUG = False
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")  # type: ignore[index]  # noqa: F405


def _refuse(name: str, problem: str):
    raise ImproperlyConfigured(f"{name} {problem} (production settings refuse to start without it).")


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        _refuse(name, "is missing or empty")
    return value


# Values that are someone's example, never a real seller: the development defaults of base.py and the usual
# stand-ins.
PLACEHOLDER_MARKERS = ("example", "placeholder", "changeme", "change-me", "todo", "xxx", "saldo.local", "lorem")
DEVELOPMENT_DEFAULTS = {
    "PT Saldo Teknologi Nusantara",
    "01.234.567.8-901.000",
    "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190",
    "0012345678901000",
    "0012345678901000000000",
}


def _real(name: str) -> str:
    value = _required(name)
    if value in DEVELOPMENT_DEFAULTS or any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
        _refuse(name, f"is a placeholder ({value!r})")
    return value


SECRET_KEY = _required("DJANGO_SECRET_KEY")
DATABASES = {"default": database_config()}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES = with_replica(DATABASES)
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# --- e-mail: a backend that delivers -------------------------------------------------------------
_email_url = _required("EMAIL_URL")
if urlsplit(_email_url).scheme.lower() in ("consolemail", "dummymail", "filemail", "memorymail", "locmem"):
    _refuse("EMAIL_URL", f"must point at a mail server, not a {urlsplit(_email_url).scheme}:// backend")
EMAIL_CONFIG = env.email_url("EMAIL_URL")
vars().update(EMAIL_CONFIG)

# --- the public address ----------------------------------------------------------------------------
SITE_URL = _required("SITE_URL").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme != "https" or not _site.hostname or _site.hostname in ("localhost", "127.0.0.1", "::1"):
    _refuse("SITE_URL", f"must be the public https:// address (got {SITE_URL!r})")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

# Outgoing webhooks only to public https addresses, whatever the environment says (events/targets.py).
EVENTS_ALLOW_PRIVATE_TARGETS = False
EVENTS_REQUIRE_HTTPS = True

# --- the seller printed on invoices ----------------------------------------------------------------
SELLER = {
    **SELLER,  # noqa: F405 - keeps any detail base.py adds
    "name": _real("SELLER_NAME"),
    "npwp": _real("SELLER_NPWP"),
    "address": _real("SELLER_ADDRESS"),
    "email": _real("SELLER_EMAIL"),
}
try:
    validate_npwp(SELLER["npwp"])
except ValidationError:
    _refuse("SELLER_NPWP", f"is not an NPWP of 15 or 16 digits ({SELLER['npwp']!r})")
if set("".join(ch for ch in SELLER["npwp"] if ch.isdigit())) == {"0"}:
    _refuse("SELLER_NPWP", "is all zeros")
if "@" not in SELLER["email"]:
    _refuse("SELLER_EMAIL", f"is not an e-mail address ({SELLER['email']!r})")
# The seller's NITKU (NPWP + 6-digit place of business): required, 22 digits, starting with the NPWP.
SELLER_NITKU = _real("SELLER_NITKU")
try:
    SELLER_NITKU = normalize_nitku(SELLER_NITKU, npwp=SELLER["npwp"])
except ValidationError:
    # (its message is not read here: translations are not ready while settings load)
    _refuse("SELLER_NITKU", f"is not 22 digits starting with SELLER_NPWP ({SELLER_NITKU!r})")
if len(SELLER_NITKU) != 22:
    _refuse("SELLER_NITKU", "must have 22 digits (NPWP + 6-digit place of business code)")
SELLER["nitku"] = SELLER_NITKU

# --- the payment gateway: real keys, production hosts -------------------------------------------------
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="midtrans")
if PAYMENT_GATEWAY == "sandbox":
    _refuse("PAYMENT_GATEWAY", "is sandbox: the sandbox gateway is refused in production, choose midtrans or xendit")
if PAYMENT_GATEWAY not in ("midtrans", "xendit"):
    _refuse("PAYMENT_GATEWAY", f"must be midtrans or xendit (got {PAYMENT_GATEWAY!r})")


def _production_host(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "sandbox" in parts.hostname or "staging" in parts.hostname:
        _refuse(name, f"must be the gateway's production https host (got {url!r})")


if PAYMENT_GATEWAY == "midtrans":
    MIDTRANS_SERVER_KEY = _required("MIDTRANS_SERVER_KEY")
    if MIDTRANS_SERVER_KEY.startswith("SB-"):
        _refuse("MIDTRANS_SERVER_KEY", "is a sandbox key (SB-Mid-server-…)")
    if not MIDTRANS_IS_PRODUCTION and not os.environ.get("MIDTRANS_API_URL"):  # noqa: F405
        _refuse("MIDTRANS_IS_PRODUCTION", "is not true: the Midtrans hosts default to the sandbox")
    _production_host("MIDTRANS_API_URL", MIDTRANS_API_URL)  # noqa: F405
    _production_host("MIDTRANS_SNAP_URL", MIDTRANS_SNAP_URL)  # noqa: F405
if PAYMENT_GATEWAY == "xendit":
    XENDIT_SECRET_KEY = _required("XENDIT_SECRET_KEY")
    if XENDIT_SECRET_KEY.startswith("xnd_development_"):
        _refuse("XENDIT_SECRET_KEY", "is a development key (xnd_development_…)")
    XENDIT_CALLBACK_TOKEN = _required("XENDIT_CALLBACK_TOKEN")
    _production_host("XENDIT_API_URL", XENDIT_API_URL)  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
