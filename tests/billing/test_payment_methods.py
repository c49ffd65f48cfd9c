"""Payment methods: the published QRIS and e-wallet notifications of Midtrans and Xendit replayed through the
webhooks (status APIs mocked with respx), the method stored on the purchase and shown, the enabled methods
sent to each gateway at Pay Now, and the sandbox's page for each kind of method."""

import json
from pathlib import Path

import httpx
import pytest
import respx
from django.conf import settings
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from billing.gateways import methods
from billing.gateways.midtrans import MidtransGateway
from billing.gateways.xendit import XenditGateway
from billing.models import PaymentMethod, Purchase
from billing.services import purchase_create
from credits.selectors import balance_for
from tests.billing.conftest import make_purchase, post_json, signed

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "payments"


def published(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def test_every_fixture_has_its_source_written_down():
    sources = (HERE / "SOURCES.md").read_text()
    for path in HERE.glob("*.json"):
        assert f"`{path.name}`" in sources


@pytest.mark.parametrize(
    "fixture, method, detail",
    [
        ("midtrans_notification_qris_settlement.json", "qris", "gopay"),
        ("midtrans_notification_gopay_settlement.json", "gopay", ""),
        ("midtrans_notification_shopeepay_settlement.json", "shopeepay", ""),
        ("midtrans_notification_mandiri_bill_settlement.json", "mandiri_bill", "990000000260"),
    ],
)
@respx.mock
def test_it_credits_a_published_midtrans_qris_or_ewallet_payment_once_and_records_the_method(
    client, organization, fixture, method, detail
):
    payload = published(fixture)
    purchase = make_purchase(organization, credits=1000, gateway="midtrans", ref=payload["order_id"])
    payload["gross_amount"] = f"{purchase.total}.00"  # the published sample's amount is the publisher's order
    respx.get(f"{settings.MIDTRANS_API_URL}/v2/{payload['order_id']}/status").mock(
        return_value=httpx.Response(200, json=payload)
    )
    body = signed(payload, settings.MIDTRANS_SERVER_KEY)
    for _ in range(2):
        assert post_json(client, "/webhooks/payments/midtrans", body).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert (purchase.payment_method, purchase.payment_method_detail) == (method, detail)
    assert balance_for(organization) == 1000


@pytest.mark.parametrize(
    "fixture, method, detail",
    [
        ("xendit_invoice_callback_paid_qris_ovo_sdk_test.json", "qris", "Ovo"),
        ("xendit_invoice_ewallet_dana_settled.json", "dana", ""),
    ],
)
@respx.mock
def test_it_credits_a_published_xendit_qris_or_ewallet_callback_and_records_the_method(
    client, organization, fixture, method, detail
):
    payload = published(fixture)
    purchase = make_purchase(organization, credits=1000, gateway="xendit", ref=payload["id"])
    payload["amount"] = payload["paid_amount"] = purchase.total
    respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/{payload['id']}").mock(
        return_value=httpx.Response(200, json=payload)
    )
    response = post_json(
        client, "/webhooks/payments/xendit", payload, HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN
    )
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert (purchase.payment_method, purchase.payment_method_detail) == (method, detail)


def test_the_method_is_normalized_from_each_gateway_shape():
    assert methods.from_midtrans({"payment_type": "bank_transfer", "va_numbers": [{"bank": "bri"}]}) == "bri_va"
    assert methods.from_midtrans({"payment_type": "bank_transfer", "permata_va_number": "8562"}) == "permata_va"
    assert methods.from_midtrans({"payment_type": "bank_transfer", "va_numbers": [{"bank": "cimb"}]}) == "other_va"
    assert methods.from_midtrans({"payment_type": "credit_card"}) == ""
    assert methods.from_midtrans({"payment_type": ["qris"]}) == ""  # malformed: unknown, never an error
    assert methods.from_xendit({"payment_method": "BANK_TRANSFER", "payment_channel": "PERMATA"}) == "permata_va"
    assert methods.from_xendit({"payment_method": "EWALLET", "payment_channel": "OVO"}) == "ovo"
    assert methods.from_xendit({"payment_method": "EWALLET", "payment_channel": "SHOPEEPAY"}) == "shopeepay"
    assert methods.from_xendit({"payment_method": "QR_CODE"}) == "qris"
    assert methods.from_xendit({"payment_method": "RETAIL_OUTLET", "payment_channel": "ALFAMART"}) == ""


@respx.mock
def test_pay_now_offers_midtrans_only_the_methods_staff_enabled(organization, owner):
    PaymentMethod.objects.filter(code__in=["bni_va", "shopeepay"]).update(enabled=False)
    snap = respx.post(f"{settings.MIDTRANS_SNAP_URL}/snap/v1/transactions").mock(
        return_value=httpx.Response(201, json={"token": "t", "redirect_url": "https://app.sandbox.midtrans.com/snap/t"})
    )
    purchase_create(organization=organization, credits=1000, created_by=owner, gateway=MidtransGateway())
    sent = json.loads(snap.calls.last.request.content)["enabled_payments"]
    assert sent == ["bca_va", "bri_va", "echannel", "permata_va", "other_qris", "gopay"]


@respx.mock
def test_pay_now_offers_xendit_only_the_methods_staff_enabled(organization, owner):
    PaymentMethod.objects.filter(code__in=["ovo", "bri_va"]).update(enabled=False)
    invoices = respx.post(f"{settings.XENDIT_API_URL}/v2/invoices").mock(
        return_value=httpx.Response(200, json={"id": "inv-1", "invoice_url": "https://checkout.xendit.co/web/inv-1"})
    )
    purchase_create(organization=organization, credits=1000, created_by=owner, gateway=XenditGateway())
    sent = json.loads(invoices.calls.last.request.content)["payment_methods"]
    assert sent == ["BCA", "BNI", "MANDIRI", "PERMATA", "QRIS", "SHOPEEPAY", "DANA"]


def test_the_seeded_methods_offer_virtual_accounts_qris_and_ewallets():
    enabled = set(PaymentMethod.objects.filter(enabled=True).values_list("code", flat=True))
    assert {
        "bca_va",
        "bni_va",
        "bri_va",
        "mandiri_bill",
        "permata_va",
        "qris",
        "gopay",
        "shopeepay",
        "ovo",
        "dana",
    } <= enabled


def test_the_sandbox_checkout_lists_only_enabled_methods(owner_client, organization):
    PaymentMethod.objects.filter(code="dana").update(enabled=False)
    purchase = make_purchase(organization)
    page = owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/").content.decode()
    assert 'id="method-bca_va"' in page and 'id="method-qris"' in page and 'id="method-ovo"' in page
    assert 'id="method-dana"' not in page
    assert owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/dana/").status_code == 404
    assert owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/nonsense/").status_code == 404


def test_the_sandbox_va_page_shows_the_bank_a_copy_button_steps_and_a_countdown(owner_client, organization):
    purchase = make_purchase(organization)
    page = owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/bri_va/").content.decode()
    assert "BRI Virtual Account" in page and 'id="copy-va"' in page and "BRImo" in page
    assert 'id="countdown"' in page and "WIB" in page


def test_the_sandbox_qris_page_shows_a_real_qr_image(owner_client, organization):
    purchase = make_purchase(organization)
    response = owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/qris/")
    assert response.context["qr_svg"].startswith("data:image/svg+xml")
    qris = response.context["qris_string"]
    assert qris.startswith("000201") and f"54{len(str(purchase.total)):02d}{purchase.total}" in qris


def test_the_qris_string_carries_a_valid_crc():
    from billing.gateways.sandbox import _crc16, qris_payload

    payload = qris_payload(gateway_ref="SLD-1", amount=555000)
    assert payload[-4:] == f"{_crc16(payload[:-4].encode()):04X}"
    assert _crc16(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value


def test_an_ewallet_approval_pays_and_the_method_shows_on_the_purchase_and_the_invoice(owner_client, organization):
    purchase = make_purchase(organization)
    page = owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/ovo/").content.decode()
    assert 'id="ewallet-approval"' in page
    owner_client.post(f"/credits/sandbox/{purchase.gateway_ref}/ovo/", {"action": "pay"})
    purchase.refresh_from_db()
    assert purchase.status == "paid" and purchase.payment_method == "ovo"
    status_page = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
    assert 'id="payment-method">OVO' in status_page
    invoice_page = owner_client.get(f"/billing/invoices/{purchase.invoice_id}/").content.decode()
    assert 'id="invoice-payment-method">OVO' in invoice_page


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
gateway_keys = st.sampled_from(
    [
        "payment_type",
        "va_numbers",
        "permata_va_number",
        "bill_key",
        "issuer",
        "acquirer",
        "payment_method",
        "payment_channel",
        "ewallet_type",
        "bank_code",
        "payment_details",
        "payment_destination",
    ]
)


@settings_(max_examples=300, deadline=None)
@given(st.dictionaries(gateway_keys | st.text(max_size=8), json_values, max_size=8))
def test_no_notification_shape_breaks_the_method_normalization(payload):
    for code in (methods.from_midtrans(payload), methods.from_xendit(payload)):
        assert code == "" or code in methods.BY_CODE
    assert len(methods.detail_from_midtrans(payload)) <= 40


def test_the_expiry_job_mails_that_the_payment_page_expired(organization, owner):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from billing.models import OutboundEmail
    from billing.services.purchases import payment_sessions_expire_due

    purchase = make_purchase(organization, created_by=owner)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert payment_sessions_expire_due() == {"expired": 1}
    email = OutboundEmail.objects.get(kind="payment_expired")
    assert purchase.order_id in email.subject and email.to_email == owner.email


def test_the_invoice_pdf_names_the_payment_method(organization, owner):
    from billing.gateways.base import PaymentEvent
    from billing.services.purchases import payment_apply
    from invoices.pdf import render_invoice_html

    purchase = make_purchase(organization, credits=1000, created_by=owner)
    payment_apply(
        purchase=purchase,
        event=PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total, method="qris"),
    )
    purchase.refresh_from_db()
    html = render_invoice_html(purchase.invoice)
    assert "Lunas · Paid" in html and " · QRIS" in html
