from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from conversations import tasks
from conversations.models import Conversation, MonthlyStatement, RateCard
from conversations.services import statement_close
from invoices.models import Invoice

from .helpers import post, status_payload

pytestmark = pytest.mark.django_db


def deliver(client, wamid, category, when, recipient="6281234567890", pricing_type="regular"):
    post(
        client,
        status_payload(
            wamid=wamid,
            status="delivered",
            timestamp=int(when.timestamp()),
            category=category,
            pricing_model="PMP",
            pricing_type=pricing_type,
            recipient=recipient,
        ),
    )


@pytest.fixture
def july(client, number):
    deliver(client, "m1", "marketing", datetime(2025, 7, 3, tzinfo=UTC))
    deliver(client, "m2", "marketing", datetime(2025, 7, 4, tzinfo=UTC))
    deliver(client, "m3", "marketing", datetime(2025, 7, 4, tzinfo=UTC), recipient="16505551234")
    deliver(client, "u1", "utility", datetime(2025, 7, 5, tzinfo=UTC))
    deliver(client, "s1", "service", datetime(2025, 7, 6, tzinfo=UTC), pricing_type="free_customer_service")
    # 1 August 00:30 in Jakarta is still 31 July in UTC: it belongs to August.
    deliver(client, "aug", "marketing", datetime(2025, 7, 31, 17, 30, tzinfo=UTC))


def test_the_monthly_job_makes_a_statement_and_its_invoice(july, organization):
    with time_machine.travel(datetime(2025, 8, 1, 1, 0, tzinfo=UTC)):
        assert tasks.close_conversation_month.delay().get() == 1
    statement = MonthlyStatement.objects.get()
    assert (statement.organization, statement.month) == (organization, date(2025, 7, 1))
    assert statement.total_amount == 657 * 2 + 985 + 321
    assert statement.conversations_count == 5
    assert statement.summary["categories"]["service"] == {"billable": 0, "free": 1, "amount": 0}
    invoice = Invoice.objects.get(pk=statement.invoice_id)
    assert invoice.kind == "statement"
    assert invoice.status == "issued" and invoice.number
    assert invoice.subtotal == statement.total_amount
    lines = sorted((line.description, line.quantity, line.unit_price) for line in invoice.lines.all())
    assert [(q, p) for _d, q, p in lines] == [(2, Decimal("657")), (1, Decimal("985")), (1, Decimal("321"))]
    assert Conversation.objects.filter(statement=statement).count() == 5
    assert Conversation.objects.get(key="aug").statement is None


def test_closing_twice_changes_nothing(july, organization):
    first = statement_close(organization=organization, month=date(2025, 7, 1))
    again = statement_close(organization=organization, month=date(2025, 7, 1))
    tasks.close_conversation_month.delay("2025-07").get()
    assert first.pk == again.pk
    assert MonthlyStatement.objects.count() == 1
    assert Invoice.objects.filter(kind="statement").count() == 1


def test_a_month_of_only_free_conversations_has_a_statement_but_no_invoice(client, number, organization):
    deliver(client, "s1", "service", datetime(2025, 7, 6, tzinfo=UTC), pricing_type="free_customer_service")
    statement = statement_close(organization=organization, month=date(2025, 7, 1))
    assert statement.total_amount == 0 and statement.invoice_id is None
    assert Invoice.objects.count() == 0


def test_a_rate_change_never_re_rates_a_closed_month(july, organization, client, staff):
    statement = statement_close(organization=organization, month=date(2025, 7, 1))
    card = RateCard.objects.get(market="ID", category="marketing", effective_from__year=2022)
    # Even a card back-dated into the closed month leaves it alone.
    RateCard.objects.create(
        market="ID",
        category="marketing",
        price=Decimal("999"),
        effective_from=card.effective_from.replace(year=2025, month=7),
    )
    from conversations.admin import ConversationAdmin  # noqa: F401 - the admin re-rate action refuses closed months
    from conversations.services import conversations_rerate

    assert conversations_rerate(conversations=Conversation.objects.filter(statement=statement), actor=staff) == 0
    statement.refresh_from_db()
    assert statement.total_amount == 657 * 2 + 985 + 321
    assert Conversation.objects.get(key="m1").price == Decimal("657")


def test_two_workers_closing_at_once_make_one_statement(july, organization):
    statement_close(organization=organization, month=date(2025, 7, 1))
    tasks.close_conversation_month.delay("2025-07").get()
    assert MonthlyStatement.objects.count() == 1


def test_conversations_reported_after_closing_go_on_the_next_statement(client, july, organization):
    july_statement = statement_close(organization=organization, month=date(2025, 7, 1))
    # Meta's retry brings a July delivery after the close.
    deliver(client, "late", "utility", datetime(2025, 7, 30, tzinfo=UTC))
    july_statement.refresh_from_db()
    assert july_statement.total_amount == 657 * 2 + 985 + 321  # the closed month does not move
    with time_machine.travel(datetime(2025, 9, 1, 1, tzinfo=UTC)):
        tasks.close_conversation_month.delay().get()
    august = MonthlyStatement.objects.get(month=date(2025, 8, 1))
    assert august.summary["late"] == {"count": 1, "amount": 321}
    assert august.total_amount == 657 + 321  # the August message and the late July one
    invoice = Invoice.objects.get(pk=august.invoice_id)
    descriptions = [line.description for line in invoice.lines.all()]
    assert any("07/2025 (reported late)" in d for d in descriptions)
    assert Conversation.objects.get(key="late").statement == august


def test_a_month_the_job_missed_is_closed_on_its_own_statement(july, organization):
    with time_machine.travel(datetime(2025, 9, 1, 1, tzinfo=UTC)):
        tasks.close_conversation_month.delay().get()  # the August run never happened
    months = sorted(MonthlyStatement.objects.values_list("month", "total_amount"))
    assert months == [(date(2025, 7, 1), 657 * 2 + 985 + 321), (date(2025, 8, 1), 657)]
