"""Billing reads shared by pages and the API. Import from ``billing.selectors``."""

from .purchases import *  # noqa: F403
from .staff import *  # noqa: F403
