"""Prices, purchases, payment sessions and gateway notifications."""

from django.db import models  # noqa: F401
