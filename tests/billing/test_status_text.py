"""Issue 19: the purchase page says what the stored state is — the invoice's status and whether credits
were added — never a fixed sentence beside a badge that says otherwise."""

import pytest

from billing.models import Purchase
from billing.services import payment_apply
from invoices.models import Invoice
from tests.billing.conftest import make_purchase
from tests.billing.test_payment_apply import event

pytestmark = pytest.mark.django_db


def _status_text(owner_client, purchase) -> str:
    html = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
    start = html.index('id="purchase-status-text"')
    return html[start : html.index("</p>", start)]


def test_an_expired_purchase_says_no_invoice_was_issued(owner_client, organization):
    purchase = make_purchase(organization, key="k-expired")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    # Its payment request closes unnumbered (issue 15): nothing was voided, and the page does not say so.
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None
    text = _status_text(owner_client, purchase)
    assert "No invoice was issued." in text and "voided" not in text


def test_a_cancelled_purchase_says_no_invoice_was_issued(owner_client, organization):
    purchase = make_purchase(organization, key="k-cancelled")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "cancelled"))
    assert purchase.invoice.status == Invoice.Status.CLOSED
    text = _status_text(owner_client, purchase)
    assert "no invoice was issued" in text and "voided" not in text


def test_a_payment_after_expiry_says_the_credits_were_added(owner_client, organization):
    purchase = make_purchase(organization, key="k-late")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid"))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW and purchase.lot_id
    text = _status_text(owner_client, purchase)
    assert "added 5.000 credits to your balance" in text
    assert "before credits are added" not in text


def test_a_mismatched_amount_says_no_credits_yet(owner_client, organization):
    purchase = make_purchase(organization, key="k-mismatch")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid", amount=1000))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW and purchase.lot_id is None
    assert "before credits are added" in _status_text(owner_client, purchase)
