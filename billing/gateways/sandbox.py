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


MANDIRI_BILLER_CODE = "70012"
_VA_BANKS = {"bca_va": "bca", "bni_va": "bni", "bri_va": "bri", "other_va": "other"}


def method_fields(method: str, gateway_ref: str) -> dict:
    """What Midtrans puts in a notification for each way of paying (docs.midtrans.com, "Sample for Various
    Payment Methods"), so the sandbox exercises the same method normalization as the real gateways."""
    va = virtual_account(gateway_ref)
    if method == "permata_va":
        return {"payment_type": "bank_transfer", "permata_va_number": va}
    if method == "mandiri_bill":
        return {"payment_type": "echannel", "biller_code": MANDIRI_BILLER_CODE, "bill_key": va[-12:]}
    if method in _VA_BANKS:
        return {"payment_type": "bank_transfer", "va_numbers": [{"bank": _VA_BANKS[method], "va_number": va}]}
    if method == "qris":
        return {"payment_type": "qris", "transaction_type": "off-us", "issuer": "sandbox", "acquirer": "gopay"}
    if method in ("gopay", "shopeepay", "ovo", "dana", "linkaja"):
        return {"payment_type": method}
    return {"payment_type": "bank_transfer", "va_numbers": [{"bank": "bca", "va_number": va}]}


def qris_payload(*, gateway_ref: str, amount: int, merchant: str = "SALDO SANDBOX") -> str:
    """A dynamic QRIS string in the EMVCo layout (ID tags, amount in tag 54, CRC-16/CCITT in tag 63).
    Made up for the sandbox: no real acquirer will accept it."""

    def tag(tag_id: str, value: str) -> str:
        return f"{tag_id}{len(value):02d}{value}"

    merchant_account = tag("00", "ID.CO.SALDO.SANDBOX") + tag("01", "9360000000000000000") + tag("02", gateway_ref[:15])
    body = (
        tag("00", "01")
        + tag("01", "12")
        + tag("26", merchant_account)
        + tag("52", "7372")
        + tag("53", "360")
        + tag("54", str(amount))
        + tag("58", "ID")
        + tag("59", merchant[:25])
        + tag("60", "JAKARTA")
        + tag("62", tag("01", gateway_ref[:25]))
        + "6304"
    )
    return body + f"{_crc16(body.encode()):04X}"


def _crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def notification(*, gateway_ref: str, amount: int, action: str, transaction_id: str, method: str = "bca_va") -> dict:
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
        "order_id": gateway_ref,
        "gross_amount": gross_amount,
        "fraud_status": "accept",
        "currency": "IDR",
        **method_fields(method, gateway_ref),
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
