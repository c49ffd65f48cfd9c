"""Billing services. Import from ``billing.services``."""

from .purchases import *  # noqa: F403
