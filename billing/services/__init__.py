"""Billing services. Import from ``billing.services``."""

from .invoices import *  # noqa: F403
from .purchases import *  # noqa: F403
