"""Billing admin: prices, purchases, payment sessions, notifications and review (purchases.py); payment
methods, auto top-up rules and outbound e-mails (notifications.py)."""

from . import notifications, purchases  # noqa: F401
