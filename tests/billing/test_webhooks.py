"""The published Midtrans and Xendit payloads replayed through /webhooks/payments/<gateway>, with the
status APIs mocked at the transport (respx)."""

import json

import httpx
import pytest
import respx
from django.conf import settings

from billing.models import PaymentNotification, Purchase
from credits.models import CreditLot
from credits.selectors import balance_for
from invoices.models import Invoice
from tests.billing.conftest import load_fixture, make_purchase, post_json, sandbox_notification, signed

pytestmark = pytest.mark.django_db

MIDTRANS = "/webhooks/payments/midtrans"
XENDIT = "/webhooks/payments/xendit"
SANDBOX = "/webhooks/payments/sandbox"


def midtrans_purchase(organization, price, fixture, credits=1000):
    payload = load_fixture(fixture)
    total = int(payload["gross_amount"].split(".")[0])
    price(total // credits)
    return make_purchase(organization, credits=credits, gateway="midtrans", ref=payload["order_id"]), payload


def mock_midtrans_status(payload, status=200):
    return respx.get(f"{settings.MIDTRANS_API_URL}/v2/{payload['order_id']}/status").mock(
        return_value=httpx.Response(status, json=payload)
    )


@pytest.mark.parametrize(
    "fixture",
    [
        "midtrans_notification_bca_va_settlement.json",
        "midtrans_notification_bni_va_settlement.json",
        "midtrans_notification_permata_va_settlement.json",
    ],
)
@respx.mock
def test_it_credits_a_midtrans_settlement_once(client, organization, price, no_tax, fixture):
    purchase, payload = midtrans_purchase(organization, price, fixture)
    status_api = mock_midtrans_status(payload)
    body = signed(payload, settings.MIDTRANS_SERVER_KEY)
    for _ in range(3):
        response = post_json(client, MIDTRANS, body)
        assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert CreditLot.objects.filter(organization=organization).count() == 1
    assert balance_for(organization) == 1000
    assert Invoice.objects.filter(status="paid").count() == 1
    assert status_api.called  # confirmed with the status API before it was applied
    notification = PaymentNotification.objects.get()
    assert notification.status == "processed" and notification.deliveries == 3
    assert notification.gateway_ref == payload["order_id"]
    assert json.loads(notification.body) == body


@respx.mock
def test_it_does_nothing_on_a_midtrans_pending(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(
        organization, price, "midtrans_notification_bca_va_pending_sdk_example.json", credits=1000
    )
    mock_midtrans_status(payload)
    # the SDK example carries no signature: we sign it as Midtrans would
    response = post_json(client, MIDTRANS, signed(payload, settings.MIDTRANS_SERVER_KEY))
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert balance_for(organization) == 0
    assert PaymentNotification.objects.get().status == "processed"


@respx.mock
def test_it_closes_on_a_midtrans_expire(client, organization, price, no_tax):
    payload = load_fixture("midtrans_docs_permata_va_expire.json")
    purchase = make_purchase(organization, credits=1000, gateway="midtrans", ref=payload["order_id"])
    mock_midtrans_status(payload)
    response = post_json(client, MIDTRANS, signed(payload, settings.MIDTRANS_SERVER_KEY))
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None


@respx.mock
def test_it_closes_on_a_midtrans_cancel(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(organization, price, "midtrans_notification_bca_va_settlement.json")
    payload = {**payload, "transaction_status": "cancel", "status_code": "200"}
    mock_midtrans_status(payload)
    post_json(client, MIDTRANS, signed(payload, settings.MIDTRANS_SERVER_KEY))
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CANCELLED


@respx.mock
def test_it_refuses_a_tampered_midtrans_signature(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(organization, price, "midtrans_notification_bca_va_settlement.json")
    status_api = mock_midtrans_status(payload)
    # the published signature was made with Midtrans' own key, not ours
    assert post_json(client, MIDTRANS, payload).status_code == 401
    tampered = signed(payload, settings.MIDTRANS_SERVER_KEY)
    tampered["gross_amount"] = "1000.00"
    assert post_json(client, MIDTRANS, tampered).status_code == 401
    del tampered["signature_key"]
    assert post_json(client, MIDTRANS, tampered).status_code == 401
    assert PaymentNotification.objects.count() == 0
    assert not status_api.called
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


@respx.mock
def test_it_trusts_the_status_api_over_the_notification(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(organization, price, "midtrans_notification_bca_va_settlement.json")
    mock_midtrans_status({**payload, "transaction_status": "pending", "status_code": "201"})
    post_json(client, MIDTRANS, signed(payload, settings.MIDTRANS_SERVER_KEY))
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert balance_for(organization) == 0


@respx.mock
def test_it_records_a_failure_when_the_status_api_is_down_and_answers_200(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(organization, price, "midtrans_notification_bca_va_settlement.json")
    route = respx.get(f"{settings.MIDTRANS_API_URL}/v2/{payload['order_id']}/status")
    route.mock(side_effect=httpx.ConnectTimeout("timeout"))
    body = signed(payload, settings.MIDTRANS_SERVER_KEY)
    assert post_json(client, MIDTRANS, body).status_code == 200
    notification = PaymentNotification.objects.get()
    assert notification.status == "failed" and "unreachable" in notification.error
    # the gateway retries: the redelivery is processed once the status API answers
    route.mock(return_value=httpx.Response(200, json=payload))
    assert post_json(client, MIDTRANS, body).status_code == 200
    notification.refresh_from_db()
    assert notification.status == "processed"
    assert balance_for(organization) == 1000


@respx.mock
def test_it_stores_unknown_midtrans_statuses_and_answers_200(client, organization, price, no_tax):
    purchase, payload = midtrans_purchase(organization, price, "midtrans_notification_bca_va_settlement.json")
    odd = {**payload, "transaction_status": "something_new"}
    assert post_json(client, MIDTRANS, signed(odd, settings.MIDTRANS_SERVER_KEY)).status_code == 200
    notification = PaymentNotification.objects.get()
    assert notification.status == "ignored" and "something_new" in notification.error


def test_it_ignores_notifications_for_unknown_orders(client):
    payload = load_fixture("midtrans_notification_bca_va_settlement.json")
    assert post_json(client, MIDTRANS, signed(payload, settings.MIDTRANS_SERVER_KEY)).status_code == 200
    assert PaymentNotification.objects.get().status == "ignored"


def test_it_answers_400_to_a_body_that_is_not_json(client):
    response = client.post(MIDTRANS, data=b"not json", content_type="application/json")
    assert response.status_code == 400
    assert PaymentNotification.objects.count() == 0


def xendit_purchase(organization, price, fixture):
    payload = load_fixture(fixture)
    price(payload["amount"] // 1000)
    return make_purchase(organization, credits=1000, gateway="xendit", ref=payload["id"]), payload


@pytest.mark.parametrize(
    "fixture",
    [
        "xendit_invoice_callback_paid_bank_transfer_permata_official_sample.json",
        "xendit_invoice_callback_paid_retail_outlet_sdk_example.json",
    ],
)
@respx.mock
def test_it_credits_a_xendit_paid_callback_once(client, organization, price, no_tax, fixture):
    purchase, payload = xendit_purchase(organization, price, fixture)
    status_api = respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/{payload['id']}").mock(
        return_value=httpx.Response(200, json=payload)
    )
    for _ in range(2):
        response = post_json(client, XENDIT, payload, HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN)
        assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert CreditLot.objects.filter(organization=organization).count() == 1
    assert status_api.called
    stored = PaymentNotification.objects.get()
    assert "x-callback-token" not in stored.headers  # a credential is never stored


@respx.mock
def test_it_does_nothing_when_xendit_still_says_pending(client, organization, price, no_tax):
    purchase, payload = xendit_purchase(
        organization, price, "xendit_invoice_callback_paid_bank_transfer_permata_official_sample.json"
    )
    respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/{payload['id']}").mock(
        return_value=httpx.Response(200, json={**payload, "status": "PENDING"})
    )
    post_json(client, XENDIT, payload, HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


@respx.mock
def test_it_closes_on_a_xendit_expired_callback(client, organization, price, no_tax):
    purchase, payload = xendit_purchase(
        organization, price, "xendit_invoice_callback_paid_bank_transfer_permata_official_sample.json"
    )
    expired = {**payload, "status": "EXPIRED", "updated": "2016-10-11T08:15:03.404Z"}
    respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/{payload['id']}").mock(
        return_value=httpx.Response(200, json=expired)
    )
    post_json(client, XENDIT, expired, HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None


def test_it_refuses_a_wrong_or_missing_xendit_token(client, organization, price, no_tax):
    purchase, payload = xendit_purchase(
        organization, price, "xendit_invoice_callback_paid_bank_transfer_permata_official_sample.json"
    )
    assert post_json(client, XENDIT, payload, HTTP_X_CALLBACK_TOKEN="wrong").status_code == 403
    assert post_json(client, XENDIT, payload).status_code == 403
    assert PaymentNotification.objects.count() == 0
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


def test_it_applies_a_settlement_that_arrives_before_pending(client, organization):
    purchase = make_purchase(organization, credits=1000)
    post_json(client, SANDBOX, sandbox_notification(purchase, "pay", transaction_id="t1"))
    post_json(client, SANDBOX, sandbox_notification(purchase, "pending", transaction_id="t1"))
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert balance_for(organization) == 1000


def test_it_trusts_a_signed_sandbox_notification_as_it_stands(client, organization):
    purchase = make_purchase(organization, credits=1000)
    assert post_json(client, SANDBOX, sandbox_notification(purchase, "expire")).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED


def test_it_refuses_a_sandbox_notification_signed_with_another_key(client, organization):
    purchase = make_purchase(organization, credits=1000)
    payload = signed(sandbox_notification(purchase), "not-the-sandbox-key")
    assert post_json(client, SANDBOX, payload).status_code == 401
    assert PaymentNotification.objects.count() == 0


def test_it_answers_404_for_an_unknown_gateway(client):
    assert post_json(client, "/webhooks/payments/paypal", {}).status_code == 404


def test_it_answers_405_to_get(client):
    assert client.get(SANDBOX).status_code == 405
