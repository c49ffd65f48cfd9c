"""Billing models, split by concern: prices, purchases, payment sessions and payment methods (purchases.py),
invoices (invoices.py), auto top-up (auto_topup.py) and the outbound e-mail log (emails.py). Import from
``billing.models``."""

from .auto_topup import *  # noqa: F403
from .emails import *  # noqa: F403
from .invoices import *  # noqa: F403
from .purchases import *  # noqa: F403
