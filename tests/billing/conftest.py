"""Helpers for purchase and gateway tests: gateway fixtures from ../shared/fixtures/payments, a stub
gateway to make purchases under a chosen gateway name and reference, signed notifications."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from billing.gateways import midtrans
from billing.gateways.base import SessionInfo
from billing.services import purchase_create

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "payments"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class StubGateway:
    """Stands in for a real adapter at Pay Now only: returns a fixed reference, calls nothing."""

    def __init__(self, name: str, ref: str | None = None):
        self.name = name
        self.ref = ref
        self.cancelled: list[str] = []

    def create_session(self, *, order_id, amount, description, customer, items, start, expires_at, return_url, **kw):
        ref = self.ref or order_id
        return SessionInfo(ref, f"https://pay.example.test/{ref}", expires_at)

    def cancel(self, gateway_ref):
        self.cancelled.append(gateway_ref)


def make_purchase(organization, *, credits=5000, gateway="sandbox", ref=None, key=None, **kwargs):
    return purchase_create(
        organization=organization,
        credits=credits,
        idempotency_key=key or "",
        gateway=StubGateway(gateway, ref),
        **kwargs,
    )


def signed(payload: dict, server_key: str) -> dict:
    """Re-sign a Midtrans-shaped payload with our test key (the published ones used the publisher's)."""
    payload = dict(payload)
    payload["signature_key"] = midtrans.signature(
        payload["order_id"], payload["status_code"], payload["gross_amount"], server_key
    )
    return payload


def sandbox_notification(purchase, action="pay", *, amount=None, transaction_id="tx-1"):
    from billing.gateways import sandbox

    return sandbox.notification(
        gateway_ref=purchase.gateway_ref,
        amount=amount if amount is not None else purchase.total,
        action=action,
        transaction_id=transaction_id,
    )


def post_json(client, url, payload, **headers):
    return client.post(url, data=json.dumps(payload), content_type="application/json", **headers)


@pytest.fixture
def no_tax(settings, db):
    """No PPN: no tax rules, and a zero TAX_RATE (the fallback for a deployment without rules)."""
    from invoices.models import TaxRule

    TaxRule.objects.all().delete()
    settings.TAX_RATE = __import__("decimal").Decimal("0")
    return settings


@pytest.fixture
def price(db):
    """Set the one price in force now (replacing the default list)."""
    from django.utils import timezone

    from billing.models import PriceList, PriceTier

    def set_price(unit_price: int, *tiers: tuple[int, int]):
        PriceList.objects.all().delete()
        price_list = PriceList.objects.create(name="Test", effective_from=timezone.now() - timezone.timedelta(days=1))
        PriceTier.objects.create(price_list=price_list, min_credits=1000, unit_price=unit_price)
        for min_credits, tier_price in tiers:
            PriceTier.objects.create(price_list=price_list, min_credits=min_credits, unit_price=tier_price)
        return price_list

    return set_price


@pytest.fixture
def sandbox_key():
    return settings.SANDBOX_SERVER_KEY
