"""The built-in sandbox gateway: a virtual-account page inside Saldo (``/credits/sandbox/<ref>/``) whose
buttons send Midtrans-shaped notifications, signed with ``SANDBOX_SERVER_KEY``, to
``/webhooks/payments/sandbox``. It has no status API: a verified notification is trusted as it stands.
Refused in production."""

from __future__ import annotations

import json
import zlib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from . import midtrans
from .base import Gateway, InvalidNotification, PaymentEvent, SessionInfo

# What each button on the sandbox page sends, as Midtrans would.
ACTIONS = {
    "pay": ("settlement", "200"),
    "pending": ("pending", "201"),
    "expire": ("expire", "202"),
    "cancel": ("cancel", "200"),
    "fail": ("deny", "202"),
    "refund": ("refund", "200"),
}


def refuse_in_production() -> None:
    module = getattr(settings, "SETTINGS_MODULE", "") or ""
    if module.endswith("production"):
        raise ImproperlyConfigured("The sandbox payment gateway is refused in production settings.")


def virtual_account(gateway_ref: str) -> str:
    """A stable, fake 16-digit virtual account number for the page."""
    return "8808" + str(zlib.crc32(gateway_ref.encode())).zfill(12)[:12]


def notification(*, gateway_ref: str, amount: int, action: str, transaction_id: str) -> dict:
    """Build a signed notification exactly as the sandbox page sends it."""
    transaction_status, status_code = ACTIONS[action]
    gross_amount = f"{amount}.00"
    return {
        "transaction_time": "",
        "transaction_status": transaction_status,
        "transaction_id": transaction_id,
        "status_message": "sandbox payment notification",
        "status_code": status_code,
        "signature_key": midtrans.signature(gateway_ref, status_code, gross_amount, settings.SANDBOX_SERVER_KEY),
        "payment_type": "bank_transfer",
        "order_id": gateway_ref,
        "gross_amount": gross_amount,
        "fraud_status": "accept",
        "currency": "IDR",
        "va_numbers": [{"bank": "sandbox", "va_number": virtual_account(gateway_ref)}],
    }


class SandboxGateway(Gateway):
    name = "sandbox"
    confirms_with_status_api = False

    def __init__(self):
        refuse_in_production()

    def create_session(
        self, *, order_id, amount, description, customer, items, start, expires_at, return_url, enabled_methods=()
    ):
        # A path, not a URL: the page lives on whatever host served Pay Now.
        url = reverse("topup:sandbox_page", args=[order_id])
        return SessionInfo(gateway_ref=order_id, redirect_url=url, expires_at=expires_at)

    def verify_notification(self, headers, body: bytes) -> PaymentEvent:
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidNotification("not JSON", status=400) from exc
        if not isinstance(payload, dict):
            raise InvalidNotification("not a JSON object", status=400)
        return midtrans.parse_notification(payload, server_key=settings.SANDBOX_SERVER_KEY, gateway=self.name)

    def parse(self, payload: dict) -> PaymentEvent:
        return midtrans.normalize(payload)

    def fetch_status(self, gateway_ref: str) -> PaymentEvent | None:
        return None  # the sandbox has no status API; its notifications are the only news

    def cancel(self, gateway_ref: str) -> None:
        return None  # nothing to close outside Saldo
