"""Production: every secret from the environment, no defaults. A missing one stops the start."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import database_config, env, with_replica

DEBUG = False
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")  # type: ignore[index]  # noqa: F405
SECRET_KEY = env("DJANGO_SECRET_KEY")
DATABASES = {"default": database_config()}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES = with_replica(DATABASES)
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="midtrans")
if PAYMENT_GATEWAY == "sandbox":
    raise ImproperlyConfigured("PAYMENT_GATEWAY=sandbox is refused in production settings.")

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
