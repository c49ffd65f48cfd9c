"""payment_apply: invariant 4 and money-is-never-lost, whatever the order of the gateway's news."""

import pytest

from billing.gateways.base import PaymentEvent
from billing.models import Purchase
from billing.services import payment_apply, purchase_cancel
from credits.models import CreditLot
from credits.selectors import balance_for
from credits.services import usage_charge
from invoices.models import Invoice
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


def event(purchase, status, amount=None, raw_status=""):
    return PaymentEvent(
        status=status,
        gateway_ref=purchase.gateway_ref,
        amount=purchase.total if amount is None else amount,
        raw_status=raw_status or status,
        transaction_id="tx-1",
    )


def test_it_grants_one_lot_and_pays_the_invoice_on_payment(organization):
    purchase = make_purchase(organization, credits=5000)
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid"))
    assert purchase.status == Purchase.Status.PAID
    assert purchase.lot.credits == 5000
    assert purchase.invoice.status == Invoice.Status.PAID
    assert purchase.sessions.get().status == "paid"
    assert balance_for(organization) == 5000
    # valid 30 days from confirmation
    assert (purchase.lot.expires_at - purchase.paid_at).days == 30


def test_it_ignores_duplicate_payments(organization):
    purchase = make_purchase(organization, credits=1000)
    for _ in range(3):
        payment_apply(purchase=purchase, event=event(purchase, "paid"))
    assert CreditLot.objects.filter(organization=organization).count() == 1
    assert Invoice.objects.filter(status="paid").count() == 1
    assert balance_for(organization) == 1000


def test_it_keeps_a_payment_when_pending_arrives_after_settlement(organization):
    purchase = make_purchase(organization)
    payment_apply(purchase=purchase, event=event(purchase, "paid"))
    purchase = payment_apply(purchase=purchase, event=event(purchase, "pending"))
    assert purchase.status == Purchase.Status.PAID


def test_it_does_not_expire_a_paid_purchase(organization):
    purchase = make_purchase(organization)
    payment_apply(purchase=purchase, event=event(purchase, "paid"))
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    assert purchase.status == Purchase.Status.PAID
    assert purchase.invoice.status == Invoice.Status.PAID


def test_it_closes_on_expiry_and_closes_the_payment_request_unnumbered(organization):
    purchase = make_purchase(organization)
    purchase = payment_apply(purchase=purchase, event=event(purchase, "expired"))
    assert purchase.status == Purchase.Status.EXPIRED
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None
    assert purchase.sessions.get().status == "expired"


@pytest.mark.parametrize("status, expected", [("cancelled", "cancelled"), ("failed", "failed")])
def test_it_closes_on_cancel_or_failure(organization, status, expected):
    purchase = make_purchase(organization)
    purchase = payment_apply(purchase=purchase, event=event(purchase, status))
    assert purchase.status == expected
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None


def test_it_credits_a_payment_after_expiry_and_flags_it_for_review(organization):
    purchase = make_purchase(organization, credits=2000)
    closed = payment_apply(purchase=purchase, event=event(purchase, "expired")).invoice
    assert closed.status == Invoice.Status.CLOSED and closed.number is None
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid"))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    assert purchase.review_reason == Purchase.ReviewReason.PAID_AFTER_CLOSE
    assert balance_for(organization) == 2000
    # the closed request had no number: the late payment numbers it and marks it paid (no void, no gap)
    assert purchase.invoice.pk == closed.pk
    assert purchase.invoice.status == Invoice.Status.PAID and purchase.invoice.number.endswith("/000001")
    assert Invoice.objects.filter(status="paid").count() == 1
    assert not Invoice.objects.filter(status="void").exists()


def test_it_credits_a_payment_after_the_buyer_cancelled(organization, owner):
    purchase = make_purchase(organization, credits=1000)
    purchase_cancel(purchase=purchase, actor=owner)
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid"))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    assert balance_for(organization) == 1000


def test_it_holds_a_mismatched_amount_for_review_and_grants_nothing(organization):
    purchase = make_purchase(organization, credits=5000)
    purchase = payment_apply(purchase=purchase, event=event(purchase, "paid", amount=500_000))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    assert purchase.review_reason == Purchase.ReviewReason.AMOUNT_MISMATCH
    assert purchase.paid_amount == 500_000
    assert purchase.lot is None
    assert balance_for(organization) == 0
    assert purchase.invoice.status == Invoice.Status.REQUEST and purchase.invoice.number is None


def test_it_claws_back_a_reversed_payment_and_records_what_is_owed(organization):
    purchase = make_purchase(organization, credits=1000)
    payment_apply(purchase=purchase, event=event(purchase, "paid"))
    for n in range(300):
        usage_charge(organization=organization, message_id=f"m{n}", direction="outbound")
    purchase = payment_apply(purchase=purchase, event=event(purchase, "reversed", raw_status="refund"))
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    assert purchase.review_reason == Purchase.ReviewReason.REVERSED
    assert purchase.clawed_back_credits == 700
    assert purchase.owed_credits == 300
    assert balance_for(organization) == 0
    # a second reversal notice changes nothing
    purchase = payment_apply(purchase=purchase, event=event(purchase, "reversed", raw_status="chargeback"))
    assert purchase.owed_credits == 300


def test_it_stores_unknown_statuses_without_changing_anything(organization):
    purchase = make_purchase(organization)
    purchase = payment_apply(purchase=purchase, event=event(purchase, "unknown", raw_status="authorize_weird"))
    assert purchase.status == Purchase.Status.PENDING
