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


def test_an_expired_purchase_with_a_void_invoice_says_so(owner_client, organization):
    purchase = make_purchase(organization, key="k-expired")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    assert purchase.invoice.status == Invoice.Status.VOID
    text = _status_text(owner_client, purchase)
    assert "Its invoice was voided." in text and "still unpaid" not in text


def test_an_expired_purchase_whose_invoice_stays_open_does_not_say_voided(owner_client, organization):
    purchase = make_purchase(organization, key="k-open")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    # An invoice that stays payable after its session expired (a payment request) is still unpaid.
    Invoice.objects.filter(pk=purchase.invoice_id).update(status=Invoice.Status.ISSUED)
    html = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
    text = _status_text(owner_client, purchase)
    assert "voided" not in text and "still unpaid" in text
    assert 'id="invoice-state">Unpaid<' in html


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
