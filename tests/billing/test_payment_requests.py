"""Invoice numbers only for real sales (issue 15): Pay Now makes an unnumbered payment request; the number is
taken when the payment is confirmed, in the lot's transaction; abandoned checkouts burn no number and leave
no void invoice; the customer's lists show payment requests apart from invoices."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.gateways.base import PaymentEvent
from billing.models import Purchase
from billing.services import payment_apply, purchase_cancel
from billing.tasks import expire_payment_sessions
from invoices.models import Invoice, InvoiceNumberCounter
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    from invoices import tasks

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda *a, **k: None)


def paid(purchase, tx="tx-1"):
    event = PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total, transaction_id=tx)
    return payment_apply(purchase=purchase, event=event)


def test_it_takes_no_number_at_pay_now(organization):
    purchase = make_purchase(organization, credits=1000)
    assert purchase.invoice.status == Invoice.Status.REQUEST and purchase.invoice.number is None
    assert not InvoiceNumberCounter.objects.exists()


def test_it_numbers_the_request_when_the_payment_is_confirmed(organization):
    purchase = paid(make_purchase(organization, credits=1000))
    invoice = purchase.invoice
    assert invoice.status == Invoice.Status.PAID
    assert invoice.number.startswith("INV/") and invoice.number.endswith("/000001")
    assert invoice.issued_at == purchase.paid_at
    assert purchase.lot is not None


def test_abandoned_checkouts_burn_no_number_and_leave_no_void_invoice(organization, owner):
    expired = make_purchase(organization, credits=1000)
    cancelled = make_purchase(organization, credits=2000)
    failed = make_purchase(organization, credits=3000)
    purchase_cancel(purchase=cancelled, actor=owner)
    payment_apply(purchase=failed, event=PaymentEvent(status="failed", gateway_ref=failed.gateway_ref))
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        expire_payment_sessions()
    sale = paid(make_purchase(organization, credits=4000))
    expired.refresh_from_db()
    assert expired.status == Purchase.Status.EXPIRED
    assert not Invoice.objects.filter(status=Invoice.Status.VOID).exists()
    assert Invoice.objects.filter(status=Invoice.Status.CLOSED, number__isnull=True).count() == 3
    # The one real sale is number 1: the three abandoned checkouts took none.
    assert list(Invoice.objects.exclude(number=None).values_list("number", flat=True)) == [sale.invoice.number]
    assert sale.invoice.number.endswith("/000001")


def test_numbers_stay_consecutive_in_the_order_payments_are_confirmed(organization):
    first, second, third = (make_purchase(organization, credits=1000) for _ in range(3))
    for purchase, tx in ((third, "a"), (first, "b")):
        paid(purchase, tx)
    numbers = [p.invoice.number for p in Purchase.objects.filter(pk__in=[third.pk, first.pk]).order_by("paid_at")]
    assert [n[-6:] for n in numbers] == ["000001", "000002"]
    second.refresh_from_db()
    assert second.invoice.number is None


def test_a_closed_request_is_never_voided(organization, owner):
    from invoices.services import invoice_void

    purchase = purchase_cancel(purchase=make_purchase(organization), actor=owner)
    invoice = invoice_void(invoice=purchase.invoice, reason="tidy up")
    assert invoice.status == Invoice.Status.CLOSED and invoice.number is None


def test_the_api_keeps_invoice_id_null_until_paid_and_lists_requests_apart(api_client, organization):
    body = api_client.post("/api/v1/purchases", {"credits": 1000}, format="json").json()
    assert body["invoice_id"] is None
    assert api_client.get(f"/api/v1/purchases/{body['id']}").json()["invoice_id"] is None
    assert api_client.get("/api/v1/invoices").json()["results"] == []
    requests = api_client.get("/api/v1/invoices?status=request").json()["results"]
    assert len(requests) == 1
    request = requests[0]
    assert request["number"] is None and request["status"] == "request"
    assert request["payment_url"].endswith(f"/billing/invoices/{request['id']}/")
    assert {"id", "number", "status", "subtotal", "tax", "total", "issued_at", "paid_at", "pdf_url", "lines"} <= set(
        request
    )

    purchase = paid(Purchase.objects.get(pk=body["id"]))
    after = api_client.get(f"/api/v1/purchases/{body['id']}").json()
    assert after["invoice_id"] == str(purchase.invoice_id)
    invoices = api_client.get("/api/v1/invoices").json()["results"]
    assert [i["number"] for i in invoices] == [purchase.invoice.number]
    assert invoices[0]["payment_url"] is None
    assert api_client.get("/api/v1/invoices?status=request").json()["results"] == []


def test_the_subscription_page_lists_payment_requests_apart_from_invoices(owner_client, organization, owner):
    pending = make_purchase(organization, credits=1000, created_by=owner)
    abandoned = purchase_cancel(purchase=make_purchase(organization, credits=2000), actor=owner)
    sale = paid(make_purchase(organization, credits=3000))
    html = owner_client.get("/billing/subscription/").content.decode()
    requests_table = html.split('id="payment-requests"')[1].split("</table>")[0]
    invoices_table = html.split('id="invoices"')[1].split("</table>")[0]
    assert f"/billing/invoices/{pending.invoice_id}/" in requests_table
    assert sale.invoice.number in invoices_table
    assert f"/billing/invoices/{pending.invoice_id}/" not in invoices_table
    assert f"/billing/invoices/{abandoned.invoice_id}/" not in html.split('id="purchases"')[0]
    assert "None" not in requests_table


def test_the_request_page_says_it_is_not_an_invoice_yet(owner_client, organization, owner):
    purchase = make_purchase(organization, credits=1000, created_by=owner)
    html = owner_client.get(f"/billing/invoices/{purchase.invoice_id}/").content.decode()
    assert "Payment request" in html and 'id="pay-button"' in html
    assert ">None<" not in html
    purchase_cancel(purchase=purchase, actor=owner)
    html = owner_client.get(f"/billing/invoices/{purchase.invoice_id}/").content.decode()
    assert 'id="closed-note"' in html and 'id="pay-button"' not in html
