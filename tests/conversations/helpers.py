"""Signing and building Meta webhook payloads for the conversations tests."""

import copy
import hashlib
import hmac
import json
from pathlib import Path

from django.conf import settings
from django.test import TestCase

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "whatsapp"
WEBHOOK_URL = "/webhooks/whatsapp"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["payload"]


def sign(body: bytes, secret: str | None = None) -> str:
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, payload, *, secret: str | None = None, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature if signature is not None else sign(body, secret)}
    # Tests run inside a transaction: run the on-commit task the way a real commit would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(WEBHOOK_URL, data=body, content_type="application/json", **headers)


def status_payload(
    *,
    wamid: str,
    status: str,
    timestamp: int,
    recipient: str = "6281234567890",
    phone_number_id: str = "PNID-TEST",
    waba_id: str = "WABA-TEST",
    conversation_id: str | None = None,
    expiration: int | None = None,
    origin: str | None = None,
    category: str | None = None,
    pricing_model: str | None = None,
    pricing_type: str | None = None,
    billable: bool | None = None,
) -> dict:
    """A status webhook in the shape of Meta's reference examples (fixture 08)."""
    entry = {"id": wamid, "status": status, "timestamp": str(timestamp), "recipient_id": recipient}
    if conversation_id:
        entry["conversation"] = {"id": conversation_id, "origin": {"type": origin or category}}
        if expiration:
            entry["conversation"]["expiration_timestamp"] = str(expiration)
    if category:
        entry["pricing"] = {"billable": billable if billable is not None else True, "category": category}
        if pricing_model:
            entry["pricing"]["pricing_model"] = pricing_model
        if pricing_type:
            entry["pricing"]["type"] = pricing_type
    return wrap([entry], phone_number_id=phone_number_id, waba_id=waba_id)


def wrap(statuses: list[dict], *, phone_number_id: str = "PNID-TEST", waba_id: str = "WABA-TEST") -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": phone_number_id},
                            "statuses": statuses,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def with_status(payload: dict, status: str, **pricing) -> dict:
    """A copy of a one-status fixture with another status value (and optionally other pricing fields)."""
    payload = copy.deepcopy(payload)
    entry = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    entry["status"] = status
    if pricing:
        entry.setdefault("pricing", {}).update(pricing)
    return payload
