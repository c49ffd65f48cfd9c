"""Staff side: the needs-review queue and its actions (audited), notification reprocessing, price lists."""

import pytest

from accounts.models import AuditEntry
from billing.gateways.base import PaymentEvent
from billing.models import PaymentNotification, Purchase
from billing.services import PurchaseError, payment_apply, purchase_review_approve
from credits.selectors import balance_for
from invoices.models import Invoice
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


def paid(purchase, amount=None, status="paid"):
    return payment_apply(
        purchase=purchase,
        event=PaymentEvent(
            status=status,
            gateway_ref=purchase.gateway_ref,
            amount=purchase.total if amount is None else amount,
            raw_status=status,
        ),
    )


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_the_admin_pages_render(staff_client, organization):
    purchase = make_purchase(organization)
    paid(purchase, amount=1)
    for url in [
        "/admin/billing/purchase/",
        f"/admin/billing/purchase/{purchase.pk}/change/",
        "/admin/billing/purchasereview/",
        "/admin/billing/paymentsession/",
        "/admin/billing/paymentnotification/",
        "/admin/billing/pricelist/",
        "/admin/billing/pricelist/add/",
        "/admin/billing/purchase/?status__exact=needs_review",
    ]:
        assert staff_client.get(url).status_code == 200, url
    assert purchase.order_id in staff_client.get("/admin/billing/purchasereview/").content.decode()


def test_approve_and_credit_a_mismatched_amount(staff_client, organization, staff):
    purchase = paid(make_purchase(organization, credits=1000), amount=100_000)
    url = "/admin/billing/purchasereview/"
    form = staff_client.post(url, {"action": "purchase_review_approve", "_selected_action": [purchase.pk]})
    assert form.status_code == 200 and b"note" in form.content
    staff_client.post(
        url,
        {
            "action": "purchase_review_approve",
            "_selected_action": [purchase.pk],
            "apply": "1",
            "note": "Customer paid less by bank error; accepted",
        },
    )
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert purchase.review_outcome == "approved" and purchase.reviewed_by == staff
    assert balance_for(organization) == 1000
    assert purchase.invoice.status == Invoice.Status.PAID
    entry = AuditEntry.objects.get(action="purchase.review_approve")
    assert entry.actor == staff and entry.reason.startswith("Customer paid less")
    assert entry.before["status"] == "needs_review" and entry.after["status"] == "paid"


def test_a_refund_note_takes_back_credits_and_issues_a_credit_note(organization, staff):
    purchase = make_purchase(organization, credits=1000)
    paid(purchase, status="expired")
    purchase = paid(purchase)  # late payment: credited, flagged
    assert purchase.review_reason == "paid_after_close"
    from billing.services import purchase_review_refund

    purchase = purchase_review_refund(purchase=purchase, actor=staff, note="Refunded by transfer 12 May")
    assert purchase.status == Purchase.Status.CANCELLED
    assert purchase.clawed_back_credits == 1000 and purchase.owed_credits == 0
    assert balance_for(organization) == 0
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    assert AuditEntry.objects.filter(action="purchase.review_refund").count() == 1


def test_dismiss_a_late_payment_keeps_the_credits(organization, staff):
    from billing.services import purchase_review_dismiss

    purchase = make_purchase(organization, credits=1000)
    paid(purchase, status="cancelled")
    purchase = purchase_review_dismiss(purchase=paid(purchase), actor=staff, note="Fine")
    assert purchase.status == Purchase.Status.PAID and purchase.reviewed_at
    assert balance_for(organization) == 1000
    with pytest.raises(PurchaseError):
        purchase_review_dismiss(purchase=purchase, actor=staff, note="again")


def test_review_decisions_need_a_note(organization, staff):
    purchase = paid(make_purchase(organization), amount=5)
    with pytest.raises(PurchaseError):
        purchase_review_approve(purchase=purchase, actor=staff, note=" ")


def test_a_reversed_payment_cannot_be_approved(organization, staff):
    purchase = paid(make_purchase(organization))
    purchase = paid(purchase, status="reversed")
    with pytest.raises(PurchaseError):
        purchase_review_approve(purchase=purchase, actor=staff, note="x")


def test_reprocess_a_failed_notification(staff_client, organization):
    import json

    from tests.billing.conftest import sandbox_notification

    purchase = make_purchase(organization, credits=1000)
    notification = PaymentNotification.objects.create(
        gateway="sandbox",
        key="k1",
        gateway_ref=purchase.gateway_ref,
        body=json.dumps(sandbox_notification(purchase)),
        status="failed",
        error="boom",
    )
    staff_client.post(
        "/admin/billing/paymentnotification/", {"action": "reprocess", "_selected_action": [notification.pk]}
    )
    notification.refresh_from_db()
    assert notification.status == "processed" and notification.error == ""
    assert balance_for(organization) == 1000
    from accounts.models import AuditEntry

    entry = AuditEntry.objects.get(action="payment_notification.reprocess")
    assert entry.before == {"status": "failed", "error": "boom"}
    assert entry.after == {"status": "processed", "error": ""}
    assert entry.organization == organization


def test_a_review_decision_rolls_back_with_its_audit_entry(organization, staff):
    from unittest import mock

    from accounts.models import AuditEntry
    from billing.services import purchases as purchase_services

    purchase = paid(make_purchase(organization), amount=5)
    status_before = purchase.status

    def boom(**kwargs):
        raise RuntimeError("audit store down")

    with mock.patch.object(purchase_services, "audit_record", boom), pytest.raises(RuntimeError):
        purchase_review_approve(purchase=purchase, actor=staff, note="Customer confirmed by phone")
    purchase.refresh_from_db()
    assert purchase.status == status_before and purchase.reviewed_at is None
    assert balance_for(organization) == 0 and not AuditEntry.objects.exists()


def test_a_price_list_in_force_is_read_only(staff_client):
    from billing.models import PriceList

    price_list = PriceList.objects.get()
    response = staff_client.get(f"/admin/billing/pricelist/{price_list.pk}/change/")
    assert response.status_code == 200
    assert b'name="tiers-0-unit_price"' not in response.content
