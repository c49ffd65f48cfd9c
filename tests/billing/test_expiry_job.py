"""The "expire payment sessions" job: due sessions are re-checked with the gateway (paid wins), else
expired with their payment request closed (unnumbered, no void invoice). Idempotent."""

from datetime import timedelta

import httpx
import pytest
import respx
import time_machine
from django.conf import settings
from django.utils import timezone

from billing.models import Purchase
from billing.tasks import expire_payment_sessions
from credits.selectors import balance_for
from invoices.models import Invoice
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


def test_it_is_scheduled_every_5_minutes():
    job = settings.SALDO_PERIODIC_TASKS["expire payment sessions"]
    assert job == {"task": "billing.tasks.expire_payment_sessions", "every_minutes": 5}


def test_it_leaves_sessions_that_are_not_due(organization):
    purchase = make_purchase(organization)
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        expire_payment_sessions()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


def test_it_expires_due_sessions_and_closes_their_payment_request(organization):
    purchase = make_purchase(organization)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert expire_payment_sessions() == {"expired": 1}
        assert expire_payment_sessions() == {}  # twice changes nothing more
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None
    assert not Invoice.objects.filter(status=Invoice.Status.VOID).exists()
    assert purchase.sessions.get().status == "expired"


@respx.mock
def test_it_credits_a_payment_the_gateway_reports_at_expiry(organization):
    purchase = make_purchase(organization, credits=1000, gateway="midtrans")
    respx.get(f"{settings.MIDTRANS_API_URL}/v2/{purchase.gateway_ref}/status").mock(
        return_value=httpx.Response(
            200,
            json={
                "order_id": purchase.gateway_ref,
                "transaction_status": "settlement",
                "status_code": "200",
                "gross_amount": f"{purchase.total}.00",
                "transaction_id": "t-9",
                "fraud_status": "accept",
            },
        )
    )
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        expire_payment_sessions()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert balance_for(organization) == 1000


@respx.mock
def test_it_expires_at_the_gateway_too_when_the_gateway_has_no_payment(organization):
    purchase = make_purchase(organization, credits=1000, gateway="xendit", ref="inv-123")
    respx.get(f"{settings.XENDIT_API_URL}/v2/invoices/inv-123").mock(
        return_value=httpx.Response(200, json={"id": "inv-123", "status": "PENDING", "amount": purchase.total})
    )
    expire = respx.post(f"{settings.XENDIT_API_URL}/invoices/inv-123/expire!").mock(
        return_value=httpx.Response(200, json={"id": "inv-123", "status": "EXPIRED"})
    )
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        expire_payment_sessions()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    assert expire.called


@respx.mock
def test_it_tries_again_later_when_the_gateway_cannot_be_asked(organization):
    purchase = make_purchase(organization, credits=1000, gateway="midtrans")
    respx.get(f"{settings.MIDTRANS_API_URL}/v2/{purchase.gateway_ref}/status").mock(
        side_effect=httpx.ConnectError("down")
    )
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert expire_payment_sessions() == {"skipped": 1}
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_it_is_safe_with_two_workers_at_once(organization):
    import threading

    from django.db import connection

    purchases = [make_purchase(organization, credits=1000) for _ in range(6)]
    results = []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            with time_machine.travel(timezone.now() + timedelta(hours=25)):
                results.append(expire_payment_sessions())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.get("expired", 0) for r in results) == 6
    assert Purchase.objects.filter(status="expired").count() == 6
    assert Invoice.objects.filter(status="closed", number__isnull=True).count() == 6
    assert not Invoice.objects.filter(number__isnull=False).exists()
    assert {p.pk for p in purchases} == set(Purchase.objects.values_list("pk", flat=True))
