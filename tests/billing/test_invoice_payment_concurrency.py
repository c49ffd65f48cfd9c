"""Invariant 4 for statement payments under real concurrency (PostgreSQL, threads): one statement is marked
paid once, whatever the duplicate notifications; two sessions paid at once pay it once and hold the other
payment for review."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from billing.gateways import sandbox
from billing.gateways.base import PaymentEvent
from billing.models import PaymentNotification, Purchase
from billing.services import payment_apply
from billing.services.purchases import invoice_payment_start
from credits.models import CreditLot
from invoices.models import Invoice
from invoices.services import invoice_create
from tests.billing.conftest import StubGateway
from tests.billing.test_concurrency import run_at_once

pytestmark = [pytest.mark.django_db(transaction=True)]

LINES = [{"description": "WhatsApp conversations, November 2026", "quantity": 1000, "unit_price": 321}]


@pytest.fixture(autouse=True)
def _no_pdf(settings, tmp_path, monkeypatch):
    from invoices import tasks

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda *a, **k: None)
    monkeypatch.setattr(tasks.email_invoice, "delay", lambda *a, **k: None)


def make_statement(organization):
    return invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT, reference="s:1")


def test_20_concurrent_notifications_for_one_statement_payment_mark_it_paid_once(organization):
    statement = make_statement(organization)
    purchase = invoice_payment_start(invoice=statement, gateway=StubGateway("sandbox"))
    bodies = [
        json.dumps(
            sandbox.notification(
                gateway_ref=purchase.gateway_ref,
                amount=statement.total,
                action="pay",
                transaction_id="tx-same" if i % 2 else f"tx-{i}",
                method="qris",
            )
        )
        for i in range(20)
    ]
    statuses = []

    def deliver(i):
        response = Client().post("/webhooks/payments/sandbox", data=bodies[i], content_type="application/json")
        statuses.append(response.status_code)

    run_at_once(20, deliver)
    assert statuses == [200] * 20
    purchase.refresh_from_db()
    statement.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID and purchase.payment_method == "qris"
    assert statement.status == Invoice.Status.PAID
    assert Invoice.objects.filter(status=Invoice.Status.PAID).count() == 1
    assert Invoice.objects.count() == 1  # no replacement, no second invoice
    assert not CreditLot.objects.exists()
    assert PaymentNotification.objects.filter(status="failed").count() == 0
    assert sum(n.deliveries for n in PaymentNotification.objects.all()) == 20


def test_a_statement_paid_twice_through_two_sessions_at_once_is_paid_once_and_the_other_reviewed(organization):
    statement = make_statement(organization)
    first = invoice_payment_start(invoice=statement, gateway=StubGateway("sandbox", "ref-a"))
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        second = invoice_payment_start(invoice=statement, gateway=StubGateway("sandbox", "ref-b"))
    purchases = [first, second]

    def pay(i):
        purchase = purchases[i % 2]
        event = PaymentEvent(
            status="paid", gateway_ref=purchase.gateway_ref, amount=statement.total, transaction_id=f"tx-{i % 2}"
        )
        payment_apply(purchase=purchase, event=event)

    run_at_once(10, pay)
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.PAID
    outcomes = sorted(Purchase.objects.filter(invoice=statement).values_list("status", "review_reason"))
    assert outcomes == [("needs_review", "invoice_settled"), ("paid", "")]
    settled = Purchase.objects.get(invoice=statement, status="paid")
    assert statement.payment_reference == f"tx-{purchases.index(next(p for p in purchases if p.pk == settled.pk))}"
    held = Purchase.objects.get(invoice=statement, status="needs_review")
    assert held.paid_amount == statement.total and held.paid_at is not None
