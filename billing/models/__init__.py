"""Billing models: prices, purchases, payment sessions and payment methods (purchases.py), auto top-up
(auto_topup.py) and the outbound e-mail log (emails.py). Invoices live in the ``invoices`` app. Import from
``billing.models``."""

from .auto_topup import *  # noqa: F403
from .emails import *  # noqa: F403
from .purchases import *  # noqa: F403
