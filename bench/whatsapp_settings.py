"""Settings for bench/whatsapp_bench.py only: the product's settings on PostgreSQL, Redis as broker and cache
(the cache is what coalesces processing tasks, as in production), logging quiet."""

from config.settings.local import *  # noqa: F403
from config.settings.local import DATABASES, env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
WHATSAPP_APP_SECRET = "bench-app-secret"
LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "WARNING", "handlers": []}}
