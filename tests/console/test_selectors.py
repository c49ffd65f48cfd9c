"""The staff home's figures, asserted against known data placed at known times (Asia/Jakarta)."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.models import PaymentNotification
from billing.selectors import staff_revenue_per_day
from billing.selectors import staff_summary as billing_summary
from credits.selectors import staff_consumption_per_day
from credits.selectors import staff_summary as credits_summary
from credits.services import lot_grant, lots_expire, usage_charge
from invoices.services import invoice_create, invoice_credit_note, invoice_mark_paid
from tests.billing.conftest import make_purchase, sandbox_notification
from tests.billing.test_admin import paid
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=WIB)


def at(day, hour, month=3):
    return datetime(2026, month, day, hour, 0, tzinfo=WIB)


@pytest.fixture
def credit_history(organization):
    """Last month's purchase, this month's purchases, a bonus that expired this morning, usage."""
    with time_machine.travel(at(20, 10, month=2), tick=False):
        lot_grant(
            organization=organization, credits=5000, source="purchase", reference="feb", expires_at=at(1, 0, month=6)
        )
    with time_machine.travel(at(5, 10), tick=False):
        lot_grant(
            organization=organization, credits=2000, source="purchase", reference="mar", expires_at=at(1, 0, month=6)
        )
        lot_grant(organization=organization, credits=300, source="grant", reason="bonus", expires_at=at(15, 7))
        for i in range(3):  # spent from the bonus: it expires first
            usage_charge(organization=organization, message_id=f"m-{i}", direction="outbound")
    with time_machine.travel(at(15, 8), tick=False):
        assert lots_expire() == 1  # 297 credits of the bonus
        lot_grant(organization=organization, credits=1000, source="purchase", reference="today", expires_at=at(20, 0))
        for i in range(3, 5):
            usage_charge(organization=organization, message_id=f"m-{i}", direction="inbound")
    quiet = OrganizationFactory()
    with time_machine.travel(at(2, 10, month=1), tick=False):
        lot_grant(organization=quiet, credits=1000, source="grant", reason="welcome", expires_at=at(31, 0, month=12))


def test_it_counts_credits_sold_consumed_and_expired_today_and_this_month(credit_history):
    figures = credits_summary(now=NOW)
    assert (figures["sold_month"], figures["sold_today"]) == (3000, 1000)
    assert (figures["granted_month"], figures["granted_today"]) == (300, 0)
    assert (figures["consumed_month"], figures["consumed_today"]) == (5, 2)
    assert (figures["expired_month"], figures["expired_today"]) == (297, 297)


def test_it_counts_lots_expiring_this_week_and_active_organizations(credit_history):
    figures = credits_summary(now=NOW)
    assert figures["expiring_week_lots"] == 1 and figures["expiring_week_credits"] == 998
    # The quiet organization's balance has not moved since January.
    assert figures["active_organizations"] == 1


def test_the_consumption_series_covers_90_days_zero_filled(credit_history):
    series = staff_consumption_per_day(now=NOW)
    assert len(series) == 90
    assert series[-1]["day"].isoformat() == "2026-03-15" and series[-1]["credits"] == 2
    assert {row["day"].isoformat(): row["credits"] for row in series}["2026-03-05"] == 3
    assert sum(row["credits"] for row in series) == 5


def test_it_runs_in_a_constant_number_of_queries(credit_history, django_assert_num_queries):
    with django_assert_num_queries(3):
        credits_summary(now=NOW)
    with django_assert_num_queries(1):
        staff_consumption_per_day(now=NOW)


LINE = {"description": "10.000 message credits", "quantity": 10000, "unit_price": 100}  # Rp 1.110.000 with PPN
SMALL = {"description": "1.000 message credits", "quantity": 1000, "unit_price": 100}  # Rp 111.000


@pytest.fixture
def revenue_history(organization):
    def paid_invoice(when, line):
        with time_machine.travel(when, tick=False):
            return invoice_mark_paid(invoice=invoice_create(organization=organization, lines=[line]))

    paid_invoice(at(20, 10, month=2), LINE)  # last month
    paid_invoice(at(5, 10), LINE)
    refunded = paid_invoice(at(5, 11), SMALL)
    paid_invoice(at(15, 9), LINE)
    with time_machine.travel(at(15, 9), tick=False):
        invoice_create(organization=organization, lines=[LINE])  # issued, unpaid: not revenue
    with time_machine.travel(at(15, 10), tick=False):
        invoice_credit_note(invoice=refunded, reason="refunded")


def test_revenue_is_paid_invoices_less_credit_notes_with_and_without_ppn(revenue_history):
    figures = billing_summary(now=NOW)
    assert figures["revenue_month"] == 1_110_000 + 111_000 + 1_110_000 - 111_000
    assert figures["revenue_month_net"] == 2_000_000
    assert figures["revenue_today"] == 1_110_000 - 111_000
    assert figures["revenue_today_net"] == 900_000
    assert figures["credit_notes_month"] == 111_000
    assert (figures["paid_invoices_month"], figures["paid_invoices_today"]) == (3, 1)


def test_the_revenue_series_puts_each_payment_on_its_local_day(revenue_history):
    series = {row["day"].isoformat(): row["total"] for row in staff_revenue_per_day(now=NOW)}
    assert len(series) == 90
    assert series["2026-02-20"] == 1_110_000
    assert series["2026-03-05"] == 1_221_000
    assert series["2026-03-15"] == 999_000
    assert sum(series.values()) == 1_110_000 * 3


def test_it_counts_the_open_work(organization):
    make_purchase(organization)  # an open payment session
    paid(make_purchase(organization, credits=1000), amount=1)  # an amount that does not match
    purchase = make_purchase(organization, credits=1000)
    PaymentNotification.objects.create(
        gateway="sandbox",
        key="k-failed",
        gateway_ref=purchase.gateway_ref,
        body=json.dumps(sandbox_notification(purchase)),
        status="failed",
        error="boom",
    )
    figures = billing_summary()
    assert figures["needs_review"] == 1
    assert figures["failed_notifications"] == 1
    assert figures["pending_sessions"] == 2
