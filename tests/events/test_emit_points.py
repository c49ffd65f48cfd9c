"""Each service writes its event in its own transaction, in the API's shapes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing.gateways.base import PaymentEvent
from billing.services import payment_apply
from conversations.services import statement_close, whatsapp_number_add
from events.models import Event
from invoices.outgoing import overdue_invoices_emit
from tests.billing.conftest import make_purchase
from tests.conversations.helpers import post, status_payload

pytestmark = pytest.mark.django_db


def types(organization):
    return list(Event.objects.filter(organization=organization).order_by("created_at").values_list("type", flat=True))


def pay(purchase, status, amount=None):
    event = PaymentEvent(
        status=status,
        gateway_ref=purchase.gateway_ref,
        amount=purchase.total if amount is None else amount,
        raw_status=status,
        transaction_id="tx-1",
    )
    return payment_apply(purchase=purchase, event=event)


def test_a_paid_top_up_emits_purchase_paid_and_invoice_paid(organization):
    purchase = make_purchase(organization, credits=5000)
    pay(purchase, "paid")
    pay(purchase, "paid")  # a duplicate notification tells nothing more
    assert types(organization) == ["invoice.issued", "invoice.paid", "purchase.paid"]
    paid = Event.objects.get(type="purchase.paid").payload
    assert paid["id"] == str(purchase.pk) and paid["status"] == "paid" and paid["credits"] == 5000
    invoice = Event.objects.get(type="invoice.paid").payload
    assert invoice["status"] == "paid" and invoice["number"].startswith("INV/") and invoice["lines"]


@pytest.mark.parametrize("status, event_type", [("expired", "purchase.expired"), ("failed", "purchase.failed")])
def test_a_closed_top_up_emits_its_status_and_no_invoice_event(organization, status, event_type):
    # Its payment request closes unnumbered: there was never an invoice to void (issue 15).
    purchase = make_purchase(organization)
    pay(purchase, status)
    assert types(organization)[-1] == event_type
    assert "invoice.voided" not in types(organization)


def test_a_mismatched_amount_emits_needs_review(organization):
    purchase = make_purchase(organization)
    pay(purchase, "paid", amount=1)
    assert types(organization)[-1] == "purchase.needs_review"


def test_overdue_statement_invoices_emit_once(organization):
    from invoices.services import invoice_create

    invoice = invoice_create(
        organization=organization,
        lines=[{"description": "WhatsApp July", "quantity": 1, "unit_price": 1000}],
        kind="statement",
    )
    assert overdue_invoices_emit() == 0
    with time_machine.travel(invoice.due_at + timedelta(days=1)):
        assert overdue_invoices_emit() == 1
        assert overdue_invoices_emit() == 0
    assert types(organization) == ["invoice.issued", "invoice.overdue"]
    assert Event.objects.get(type="invoice.overdue").payload["id"] == str(invoice.pk)


def test_closing_a_month_emits_statement_issued_once(client, organization):
    whatsapp_number_add(
        organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="+62 811 0000 000"
    )
    when = datetime(2025, 7, 3, tzinfo=UTC)
    post(
        client,
        status_payload(
            wamid="m1",
            status="delivered",
            timestamp=int(when.timestamp()),
            category="marketing",
            pricing_model="PMP",
            pricing_type="regular",
            recipient="6281234567890",
        ),
    )
    with time_machine.travel(datetime(2025, 8, 1, 2, tzinfo=UTC)):
        statement = statement_close(organization=organization, month=datetime(2025, 7, 1).date())
        statement_close(organization=organization, month=datetime(2025, 7, 1).date())
    assert types(organization) == ["invoice.issued", "statement.issued"]
    payload = Event.objects.get(type="statement.issued").payload
    assert payload["month"] == "2025-07" and payload["invoice_id"] == str(statement.invoice_id)
    assert payload["total_amount"] == statement.total_amount > 0
