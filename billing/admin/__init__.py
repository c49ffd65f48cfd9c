"""Billing admin, split like the models: purchases.py, invoices.py, notifications.py (payment methods,
auto top-up rules, outbound e-mails)."""

from . import invoices, notifications, purchases  # noqa: F401
