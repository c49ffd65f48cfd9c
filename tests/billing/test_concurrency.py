"""Invariant 4 under real concurrency (PostgreSQL, threads): one lot, one paid invoice."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from billing.gateways.base import PaymentEvent
from billing.models import PaymentNotification, Purchase
from billing.services import payment_apply
from credits.models import CreditLot
from credits.selectors import balance_for
from invoices.models import Invoice
from tests.billing.conftest import make_purchase, sandbox_notification

pytestmark = [pytest.mark.django_db(transaction=True)]


def run_at_once(n, work):
    barrier = threading.Barrier(n)
    errors = []

    def target(i):
        try:
            barrier.wait()
            work(i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_20_concurrent_deliveries_of_one_settlement_grant_one_lot(organization):
    purchase = make_purchase(organization, credits=5000)
    body = json.dumps(sandbox_notification(purchase, "pay", transaction_id="tx-same"))
    statuses = []

    def deliver(i):
        response = Client().post("/webhooks/payments/sandbox", data=body, content_type="application/json")
        statuses.append(response.status_code)

    run_at_once(20, deliver)
    assert statuses == [200] * 20
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert CreditLot.objects.filter(organization=organization).count() == 1
    assert Invoice.objects.filter(status="paid").count() == 1
    assert balance_for(organization) == 5000
    assert PaymentNotification.objects.get().deliveries == 20


def test_20_concurrent_payment_applies_with_distinct_notifications_grant_one_lot(organization):
    purchase = make_purchase(organization, credits=1000)

    def apply(i):
        event = PaymentEvent(
            status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total, transaction_id=f"tx-{i}"
        )
        payment_apply(purchase=purchase, event=event)

    run_at_once(20, apply)
    assert CreditLot.objects.filter(organization=organization).count() == 1
    assert Invoice.objects.filter(status="paid").count() == 1
    assert balance_for(organization) == 1000


def test_concurrent_pay_and_expire_never_lose_the_payment(organization):
    purchase = make_purchase(organization, credits=1000)

    def news(i):
        status = "paid" if i % 2 else "expired"
        event = PaymentEvent(status=status, gateway_ref=purchase.gateway_ref, amount=purchase.total)
        payment_apply(purchase=purchase, event=event)

    run_at_once(10, news)
    purchase.refresh_from_db()
    assert purchase.status in (Purchase.Status.PAID, Purchase.Status.NEEDS_REVIEW)
    assert balance_for(organization) == 1000
    assert Invoice.objects.filter(status="paid").count() == 1


def test_a_double_click_on_pay_now_makes_one_purchase(organization):
    def pay(i):
        make_purchase(organization, credits=1000, key="double-click")

    run_at_once(8, pay)
    assert Purchase.objects.count() == 1
    assert Invoice.objects.count() == 1
