"""Billing models, split by concern: prices, purchases and payment sessions (purchases.py) and invoices
(invoices.py). Import from ``billing.models``."""

from .invoices import *  # noqa: F403
from .purchases import *  # noqa: F403
