"""Xendit Invoices API: ``POST /v2/invoices``, ``GET /v2/invoices/{id}``, ``POST /invoices/{id}/expire!``.

Callbacks carry the ``x-callback-token`` header and are confirmed with ``GET /v2/invoices/{id}``.
"""

from __future__ import annotations

import hmac
import json

import httpx
from django.conf import settings
from django.utils.dateparse import parse_datetime

from . import base, methods
from .base import Gateway, GatewayError, InvalidNotification, PaymentEvent, SessionInfo

STATUS_MAP = {
    "PENDING": base.PENDING,
    "PAID": base.PAID,
    "SETTLED": base.PAID,
    "EXPIRED": base.EXPIRED,
}


def normalize(payload: dict) -> PaymentEvent:
    raw_status = str(payload.get("status") or "").upper()
    status = STATUS_MAP.get(raw_status, base.UNKNOWN)
    amount = payload.get("paid_amount") if status == base.PAID and payload.get("paid_amount") is not None else None
    if amount is None:
        amount = payload.get("amount")
    return PaymentEvent(
        status=status,
        gateway_ref=str(payload.get("id") or ""),
        amount=base.rupiah(amount),
        raw_status=raw_status,
        transaction_id=str(payload.get("payment_id") or payload.get("id") or ""),
        raw=payload,
        method=methods.from_xendit(payload),
        method_detail=_method_detail(payload),
    )


def _method_detail(payload: dict) -> str:
    """Which app paid a QRIS (``payment_details.source``), else the VA or account it went to."""
    details = payload.get("payment_details")
    source = details.get("source") if isinstance(details, dict) else None
    return str(source or payload.get("payment_destination") or "")[:40]


class XenditGateway(Gateway):
    name = "xendit"

    def __init__(self, secret_key: str | None = None, callback_token: str | None = None):
        self.secret_key = secret_key if secret_key is not None else settings.XENDIT_SECRET_KEY
        self.callback_token = callback_token if callback_token is not None else settings.XENDIT_CALLBACK_TOKEN

    def _auth(self) -> tuple[str, str]:
        return (self.secret_key, "")

    def create_session(
        self, *, order_id, amount, description, customer, items, start, expires_at, return_url, enabled_methods=()
    ):
        body = {
            "external_id": order_id,
            "amount": amount,
            "currency": "IDR",
            "description": description,
            "invoice_duration": int((expires_at - start).total_seconds()),
            "success_redirect_url": return_url,
            "failure_redirect_url": return_url,
            "items": [{"name": item["name"], "quantity": item["quantity"], "price": item["price"]} for item in items],
        }
        if codes := methods.gateway_codes(enabled_methods, "xendit"):
            body["payment_methods"] = codes
        if customer.get("email"):
            body["payer_email"] = customer["email"]
        try:
            with self.client() as http:
                response = http.post(f"{settings.XENDIT_API_URL}/v2/invoices", json=body, auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Xendit unreachable: {exc}") from exc
        if response.status_code not in (200, 201):
            raise GatewayError(f"Xendit answered {response.status_code}: {response.text[:300]}")
        data = response.json()
        if not data.get("id") or not data.get("invoice_url"):
            raise GatewayError("Xendit gave no invoice id or URL")
        gateway_expiry = parse_datetime(data.get("expiry_date") or "")
        return SessionInfo(
            gateway_ref=data["id"], redirect_url=data["invoice_url"], expires_at=gateway_expiry or expires_at
        )

    def verify_notification(self, headers, body: bytes) -> PaymentEvent:
        token = headers.get("x-callback-token") or ""
        if not self.callback_token:
            raise InvalidNotification("callback token not configured", status=403)
        if not token or not hmac.compare_digest(token.encode(), self.callback_token.encode()):
            raise InvalidNotification("bad callback token", status=403)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise InvalidNotification("not JSON", status=400) from exc
        if not isinstance(payload, dict) or not payload.get("id"):
            raise InvalidNotification("not an invoice callback", status=400)
        event = normalize(payload)
        event.key = ":".join([self.name, event.gateway_ref, event.raw_status, str(payload.get("updated") or "")])
        return event

    def parse(self, payload: dict) -> PaymentEvent:
        return normalize(payload)

    def fetch_status(self, gateway_ref: str) -> PaymentEvent | None:
        try:
            with self.client() as http:
                response = http.get(f"{settings.XENDIT_API_URL}/v2/invoices/{gateway_ref}", auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Xendit unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GatewayError(f"Xendit answered {response.status_code}")
        return normalize(response.json())

    def cancel(self, gateway_ref: str) -> None:
        try:
            with self.client() as http:
                response = http.post(f"{settings.XENDIT_API_URL}/invoices/{gateway_ref}/expire!", auth=self._auth())
        except httpx.HTTPError as exc:
            raise GatewayError(f"Xendit unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise GatewayError(f"Xendit expire answered {response.status_code}")
