"""Midtrans: Snap for the payment page, the Core API status endpoint to confirm notifications.

Notifications carry ``signature_key = SHA512(order_id + status_code + gross_amount + server key)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

import httpx
from django.conf import settings
from django.utils import timezone

from . import base, methods
from .base import Gateway, GatewayError, InvalidNotification, PaymentEvent, SessionInfo

# Midtrans transaction_status → Saldo's normalized status.
STATUS_MAP = {
    "settlement": base.PAID,
    "capture": base.PAID,  # only with fraud_status accept, see _normalize
    "pending": base.PENDING,
    "authorize": base.PENDING,
    "deny": base.FAILED,
    "failure": base.FAILED,
    "cancel": base.CANCELLED,
    "expire": base.EXPIRED,
    "refund": base.REVERSED,
    "partial_refund": base.REVERSED,
    "chargeback": base.REVERSED,
    "partial_chargeback": base.REVERSED,
}


def signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def parse_notification(payload: dict, *, server_key: str, gateway: str) -> PaymentEvent:
    """Verify a Midtrans-shaped notification and normalize it (shared with the sandbox)."""
    if not server_key:
        raise InvalidNotification("server key not configured", status=403)
    fields = {name: payload.get(name) for name in ("order_id", "status_code", "gross_amount", "signature_key")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise InvalidNotification("missing signature fields", status=401)
    signed = {name: str(value) for name, value in fields.items()}  # all non-empty strings, as checked
    expected = signature(signed["order_id"], signed["status_code"], signed["gross_amount"], server_key)
    if not hmac.compare_digest(expected, signed["signature_key"].lower()):
        raise InvalidNotification("bad signature", status=401)
    event = normalize(payload)
    event.key = ":".join(
        [gateway, event.gateway_ref, event.transaction_id, event.raw_status, str(payload.get("status_code", ""))]
    )
    return event


def normalize(payload: dict) -> PaymentEvent:
    raw_status = str(payload.get("transaction_status") or "")
    status = STATUS_MAP.get(raw_status, base.UNKNOWN)
    if raw_status == "capture" and payload.get("fraud_status") not in (None, "", "accept"):
        status = base.PENDING  # a card capture under fraud challenge is not money yet
    return PaymentEvent(
        status=status,
        gateway_ref=str(payload.get("order_id") or ""),
        amount=base.rupiah(payload.get("gross_amount")),
        raw_status=raw_status,
        transaction_id=str(payload.get("transaction_id") or ""),
        raw=payload,
        method=methods.from_midtrans(payload),
        method_detail=methods.detail_from_midtrans(payload),
    )


def _jakarta(moment: datetime) -> str:
    return timezone.localtime(moment, timezone.get_fixed_timezone(7 * 60)).strftime("%Y-%m-%d %H:%M:%S +0700")


class MidtransGateway(Gateway):
    name = "midtrans"

    def __init__(self, server_key: str | None = None):
        self.server_key = server_key if server_key is not None else settings.MIDTRANS_SERVER_KEY

    def _auth(self) -> tuple[str, str]:
        return (self.server_key, "")

    def create_session(
        self, *, order_id, amount, description, customer, items, start, expires_at, return_url, enabled_methods=()
    ):
        hours = max(1, round((expires_at - start).total_seconds() / 3600))
        body = {
            "transaction_details": {"order_id": order_id, "gross_amount": amount},
            "item_details": items,
            "customer_details": customer,
            "expiry": {"start_time": _jakarta(start), "unit": "hour", "duration": hours},
            "callbacks": {"finish": return_url},
        }
        # Only what staff enabled; no list at all lets Snap offer every channel of the merchant account.
        if codes := methods.gateway_codes(enabled_methods, "midtrans"):
            body["enabled_payments"] = codes
        try:
            with self.client() as http:
                response = http.post(f"{settings.MIDTRANS_SNAP_URL}/snap/v1/transactions", json=body, auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Midtrans Snap unreachable: {exc}") from exc
        if response.status_code not in (200, 201):
            raise GatewayError(f"Midtrans Snap answered {response.status_code}: {response.text[:300]}")
        data = response.json()
        if not data.get("redirect_url"):
            raise GatewayError("Midtrans Snap gave no redirect_url")
        return SessionInfo(gateway_ref=order_id, redirect_url=data["redirect_url"], expires_at=expires_at)

    def verify_notification(self, headers, body: bytes) -> PaymentEvent:
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidNotification("not JSON", status=400) from exc
        if not isinstance(payload, dict):
            raise InvalidNotification("not a JSON object", status=400)
        return parse_notification(payload, server_key=self.server_key, gateway=self.name)

    def parse(self, payload: dict) -> PaymentEvent:
        return normalize(payload)

    def fetch_status(self, gateway_ref: str) -> PaymentEvent | None:
        try:
            with self.client() as http:
                response = http.get(f"{settings.MIDTRANS_API_URL}/v2/{gateway_ref}/status", auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Midtrans status API unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GatewayError(f"Midtrans status API answered {response.status_code}")
        data = response.json()
        # Midtrans answers HTTP 200 with status_code "404" when it has never seen the order.
        if str(data.get("status_code")) == "404" or not data.get("transaction_status"):
            return None
        return normalize(data)

    def cancel(self, gateway_ref: str) -> None:
        # A pending VA is closed with /expire; an order Midtrans never saw (Snap page unused) answers 404.
        try:
            with self.client() as http:
                response = http.post(f"{settings.MIDTRANS_API_URL}/v2/{gateway_ref}/expire", auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Midtrans unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise GatewayError(f"Midtrans expire answered {response.status_code}")
