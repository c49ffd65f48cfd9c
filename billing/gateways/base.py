"""The one interface every payment gateway adapter implements, and the event it normalizes to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import httpx
from django.conf import settings

# Normalized statuses. Anything a gateway sends that maps to none of these is UNKNOWN: stored, not applied.
PENDING = "pending"
PAID = "paid"
EXPIRED = "expired"
CANCELLED = "cancelled"
FAILED = "failed"
REVERSED = "reversed"
UNKNOWN = "unknown"
EVENT_STATUSES = (PENDING, PAID, EXPIRED, CANCELLED, FAILED, REVERSED)


class GatewayError(Exception):
    """The gateway could not be reached or answered something we cannot use."""


class InvalidNotification(Exception):
    """A notification that fails verification. ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


@dataclass
class SessionInfo:
    gateway_ref: str
    redirect_url: str
    expires_at: datetime

    def __iter__(self):
        # Lets callers unpack it as DESIGN.md's (gateway_ref, redirect_url, expires_at).
        return iter((self.gateway_ref, self.redirect_url, self.expires_at))


@dataclass
class PaymentEvent:
    """What a gateway says about one payment, in Saldo's words."""

    status: str
    gateway_ref: str
    amount: int | None = None
    raw_status: str = ""
    transaction_id: str = ""
    raw: dict = field(default_factory=dict)
    # The unique key a notification is stored under: redeliveries of the same news share it.
    key: str = ""
    # How the customer paid, as a Saldo method code (billing.gateways.methods), and a short detail (QRIS issuer).
    method: str = ""
    method_detail: str = ""

    @property
    def is_known(self) -> bool:
        return self.status in EVENT_STATUSES


def rupiah(value) -> int | None:
    """Gateways send amounts as "111000.00" or 111000; Saldo keeps whole rupiah. A fractional or
    unreadable amount returns None, which never matches a purchase total."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if amount != amount.to_integral_value():
        return None
    return int(amount)


class Gateway:
    """Base class. Adapters set ``name`` and implement the four operations."""

    name = ""
    # Whether a verified notification is confirmed with the gateway's status API before it is applied.
    confirms_with_status_api = True

    def create_session(
        self,
        *,
        order_id: str,
        amount: int,
        description: str,
        customer: dict,
        items: list[dict],
        start: datetime,
        expires_at: datetime,
        return_url: str,
        enabled_methods: tuple[str, ...] | list[str] = (),
    ) -> SessionInfo:
        raise NotImplementedError

    def verify_notification(self, headers, body: bytes) -> PaymentEvent:
        raise NotImplementedError

    def parse(self, payload: dict) -> PaymentEvent:
        """Normalize a payload that was already verified when it arrived (reprocessing a stored one)."""
        raise NotImplementedError

    def fetch_status(self, gateway_ref: str) -> PaymentEvent | None:
        """The gateway's current word on a payment, or None when it has none (nothing created yet)."""
        raise NotImplementedError

    def cancel(self, gateway_ref: str) -> None:
        raise NotImplementedError

    def client(self) -> httpx.Client:
        timeout = httpx.Timeout(settings.GATEWAY_HTTP_TIMEOUT, connect=5.0)
        return httpx.Client(timeout=timeout, headers={"Accept": "application/json"})
