"""Payment gateway adapters behind one interface, chosen by ``PAYMENT_GATEWAY``.

``create_session(...) -> (gateway_ref, redirect_url, expires_at)``, ``verify_notification(headers, body) ->
PaymentEvent``, ``fetch_status(ref) -> PaymentEvent | None``, ``cancel(ref)``.
"""

from django.conf import settings

from .base import (  # noqa: F401
    EVENT_STATUSES,
    Gateway,
    GatewayError,
    InvalidNotification,
    PaymentEvent,
    SessionInfo,
)
from .midtrans import MidtransGateway
from .sandbox import SandboxGateway
from .xendit import XenditGateway

GATEWAYS = ("sandbox", "midtrans", "xendit")


def get_gateway(name: str | None = None) -> Gateway:
    """The adapter for ``name`` (default: ``PAYMENT_GATEWAY``). Unknown names raise ``LookupError``."""
    name = name or settings.PAYMENT_GATEWAY
    if name == "sandbox":
        return SandboxGateway()
    if name == "midtrans":
        return MidtransGateway()
    if name == "xendit":
        return XenditGateway()
    raise LookupError(f"Unknown payment gateway {name!r}")
