"""Order ids and dates are Asia/Jakarta (WIB): 18:30 UTC on 31 March is already 1 April in Jakarta."""

from datetime import UTC, datetime

import pytest
import time_machine

from billing.gateways.base import PaymentEvent
from billing.services import invoice_payment_start, payment_apply
from invoices.services import invoice_create
from tests.billing.conftest import StubGateway, make_purchase

pytestmark = pytest.mark.django_db

LATE_EVENING_UTC = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 2026-04-01 01:30 WIB


def test_a_top_up_order_id_is_dated_by_the_jakarta_calendar(organization):
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        purchase = make_purchase(organization)
    assert purchase.order_id.startswith("SLD-260401-")


def test_an_invoice_payment_order_id_is_dated_by_the_jakarta_calendar(organization):
    invoice = invoice_create(
        organization=organization, kind="statement", lines=[{"description": "x", "quantity": 1, "unit_price": 1000}]
    )
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        purchase = invoice_payment_start(invoice=invoice, gateway=StubGateway("sandbox"))
    assert purchase.order_id.startswith("SLD-260401-")


def test_pages_show_jakarta_dates_in_the_readers_language(organization, owner_client):
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        purchase = make_purchase(organization, credits=1000)
        event = PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total)
        payment_apply(purchase=purchase, event=event)
        owner_client.cookies["django_language"] = "id"
        status = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
        dashboard = owner_client.get(f"/billing/purchases/{purchase.pk}/?return=1", follow=True).content.decode()
    assert "Dipesan 01 Apr 2026 01:30" in status
    assert "Berlaku hingga 01 Mei 2026" in status  # 30 days from 1 April 01:30 WIB, the month in Indonesian
    assert "berlaku hingga 1 Mei 2026" in dashboard  # the dashboard's confirmation
    assert "1 Apr 01:30" in dashboard  # the ledger row's time
