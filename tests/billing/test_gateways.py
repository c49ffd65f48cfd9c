"""Gateway adapters against mocked transports: what Saldo sends to Snap and Xendit, and how their
answers are normalized."""

import json
from datetime import timedelta

import httpx
import pytest
import respx
from django.conf import settings
from django.utils import timezone

from billing.gateways import GatewayError, InvalidNotification, get_gateway
from billing.gateways import midtrans as mt
from billing.services import purchase_create
from tests.billing.conftest import load_fixture

pytestmark = pytest.mark.django_db


def session_args(**overrides):
    start = timezone.now()
    args = dict(
        order_id="SLD-1",
        amount=555000,
        description="Saldo 5.000 credits",
        customer={"email": "a@b.id"},
        items=[{"id": "credits", "name": "5.000 message credits", "quantity": 1, "price": 555000}],
        start=start,
        expires_at=start + timedelta(hours=24),
        return_url="https://saldo.test/billing/purchases/x/",
    )
    args.update(overrides)
    return args


@respx.mock
def test_midtrans_opens_a_snap_page_that_expires_after_24_hours():
    route = respx.post(f"{settings.MIDTRANS_SNAP_URL}/snap/v1/transactions").mock(
        return_value=httpx.Response(
            201, json={"token": "t", "redirect_url": "https://app.sandbox.midtrans.com/snap/v4/redirection/t"}
        )
    )
    ref, url, expires_at = get_gateway("midtrans").create_session(**session_args())
    assert ref == "SLD-1" and url.endswith("/t")
    sent = json.loads(route.calls.last.request.content)
    assert sent["transaction_details"] == {"order_id": "SLD-1", "gross_amount": 555000}
    assert sent["expiry"]["unit"] == "hour" and sent["expiry"]["duration"] == 24
    assert sent["expiry"]["start_time"].endswith("+0700")
    assert route.calls.last.request.headers["authorization"].startswith("Basic ")


@respx.mock
def test_midtrans_errors_become_gateway_errors():
    respx.post(f"{settings.MIDTRANS_SNAP_URL}/snap/v1/transactions").mock(return_value=httpx.Response(401, json={}))
    with pytest.raises(GatewayError):
        get_gateway("midtrans").create_session(**session_args())
    respx.post(f"{settings.MIDTRANS_SNAP_URL}/snap/v1/transactions").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(GatewayError):
        get_gateway("midtrans").create_session(**session_args())


@respx.mock
def test_midtrans_status_of_an_unknown_order_is_none():
    respx.get(f"{settings.MIDTRANS_API_URL}/v2/nope/status").mock(
        return_value=httpx.Response(200, json={"status_code": "404", "status_message": "Transaction doesn't exist."})
    )
    assert get_gateway("midtrans").fetch_status("nope") is None


@pytest.mark.parametrize(
    "raw, fraud, expected",
    [
        ("settlement", "accept", "paid"),
        ("capture", "accept", "paid"),
        ("capture", "challenge", "pending"),
        ("pending", None, "pending"),
        ("deny", None, "failed"),
        ("cancel", None, "cancelled"),
        ("expire", None, "expired"),
        ("failure", None, "failed"),
        ("refund", None, "reversed"),
        ("partial_refund", None, "reversed"),
        ("chargeback", None, "reversed"),
        ("brand_new", None, "unknown"),
    ],
)
def test_midtrans_statuses_are_normalized(raw, fraud, expected):
    event = mt.normalize({"order_id": "o", "transaction_status": raw, "fraud_status": fraud, "gross_amount": "1000.00"})
    assert event.status == expected and event.amount == 1000


def test_midtrans_signature_matches_the_published_formula():
    payload = load_fixture("midtrans_notification_bca_va_settlement.json")
    event = mt.parse_notification(
        {**payload, "signature_key": mt.signature(payload["order_id"], "200", "100000.00", "k")},
        server_key="k",
        gateway="midtrans",
    )
    assert event.status == "paid" and event.amount == 100000
    with pytest.raises(InvalidNotification):
        mt.parse_notification(payload, server_key="k", gateway="midtrans")


def test_a_fractional_amount_never_matches():
    assert mt.normalize({"gross_amount": "1000.50", "transaction_status": "settlement"}).amount is None


@respx.mock
def test_xendit_creates_an_invoice_for_24_hours():
    route = respx.post(f"{settings.XENDIT_API_URL}/v2/invoices").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "inv-1",
                "invoice_url": "https://checkout.xendit.co/web/inv-1",
                "expiry_date": "2026-11-25T02:00:00.000Z",
                "status": "PENDING",
            },
        )
    )
    ref, url, expires_at = get_gateway("xendit").create_session(**session_args())
    assert (ref, url) == ("inv-1", "https://checkout.xendit.co/web/inv-1")
    assert expires_at.year == 2026
    sent = json.loads(route.calls.last.request.content)
    assert sent["external_id"] == "SLD-1" and sent["amount"] == 555000 and sent["invoice_duration"] == 86400


@respx.mock
def test_xendit_expire_and_status():
    respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/inv-1").mock(
        return_value=httpx.Response(200, json={"id": "inv-1", "status": "SETTLED", "amount": 5, "paid_amount": 5})
    )
    expire = respx.post(f"{settings.XENDIT_API_URL}/invoices/inv-1/expire!").mock(
        return_value=httpx.Response(200, json={})
    )
    gateway = get_gateway("xendit")
    event = gateway.fetch_status("inv-1")
    assert event.status == "paid" and event.amount == 5
    gateway.cancel("inv-1")
    assert expire.called


@respx.mock
def test_pay_now_with_xendit_stores_the_invoice_id_as_gateway_ref(organization, settings):
    settings.PAYMENT_GATEWAY = "xendit"
    respx.post(f"{settings.XENDIT_API_URL}/v2/invoices").mock(
        return_value=httpx.Response(200, json={"id": "inv-77", "invoice_url": "https://checkout.xendit.co/web/inv-77"})
    )
    purchase = purchase_create(organization=organization, credits=1000)
    assert purchase.gateway == "xendit" and purchase.gateway_ref == "inv-77"
    assert purchase.sessions.get().redirect_url == "https://checkout.xendit.co/web/inv-77"


def test_the_sandbox_is_refused_in_production(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SETTINGS_MODULE = "config.settings.production"
    with pytest.raises(ImproperlyConfigured):
        get_gateway("sandbox")


def test_unknown_gateways_are_refused():
    with pytest.raises(LookupError):
        get_gateway("paypal")
