"""Billing admin: prices, purchases, payment sessions, notifications and review (purchases.py)."""

from . import purchases  # noqa: F401
