"""Billing admin, split like the models: purchases.py and invoices.py."""

from . import invoices, purchases  # noqa: F401
