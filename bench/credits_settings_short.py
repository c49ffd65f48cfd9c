"""bench/credits_bench.py --compare-stacks only: the bench settings with a three-middleware stack (request id,
security headers, frame options), to measure what the product's single middleware stack costs a charge. The product
does not use it."""

from bench.credits_settings import *  # noqa: F403

MIDDLEWARE = [
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
