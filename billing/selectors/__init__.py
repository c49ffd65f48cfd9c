"""Billing reads shared by pages and the API. Import from ``billing.selectors``."""

from .invoices import *  # noqa: F403
from .purchases import *  # noqa: F403
from .staff import *  # noqa: F403
