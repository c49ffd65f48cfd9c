"""Billing models: prices, purchases and payment sessions (purchases.py). Invoices live in the ``invoices``
app. Import from ``billing.models``."""

from .purchases import *  # noqa: F403
