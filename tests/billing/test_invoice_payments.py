"""A payable page for every unpaid invoice (issue 15): a monthly statement's Pay button opens a payment
session (24 h, reusing an open one) as a purchase that grants no credits; its payment marks the statement
paid under the same idempotency; money for a statement already paid is held for review, never lost."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.gateways.base import PaymentEvent
from billing.models import PaymentSession, Purchase
from billing.services import payment_apply, purchase_review_approve, purchase_review_dismiss
from billing.services.purchases import PurchaseError, invoice_payment_start
from credits.models import CreditLot
from invoices.models import Invoice
from invoices.services import invoice_create
from tests.billing.conftest import StubGateway, make_purchase

pytestmark = pytest.mark.django_db

LINES = [{"description": "WhatsApp conversations, November 2026", "quantity": 100, "unit_price": 657}]


@pytest.fixture(autouse=True)
def _no_pdf(settings, tmp_path, monkeypatch):
    from invoices import tasks

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda *a, **k: None)


@pytest.fixture
def statement(organization):
    return invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT, reference="s:1")


def start(invoice, ref=None, **kwargs):
    return invoice_payment_start(invoice=invoice, gateway=StubGateway("sandbox", ref), **kwargs)


def paid(purchase, tx="tx-1", amount=None):
    event = PaymentEvent(
        status="paid",
        gateway_ref=purchase.gateway_ref,
        amount=purchase.total if amount is None else amount,
        transaction_id=tx,
        method="qris",
    )
    return payment_apply(purchase=purchase, event=event)


def test_a_statement_is_issued_numbered_and_due_after_the_setting(organization, settings):
    settings.STATEMENT_DUE_DAYS = 14
    invoice = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
    assert invoice.status == Invoice.Status.ISSUED and invoice.number.startswith("INV/")
    assert invoice.due_at == invoice.issued_at + timedelta(days=14)
    settings.STATEMENT_DUE_DAYS = 30
    later = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
    assert later.due_at == later.issued_at + timedelta(days=30)


def test_pay_opens_a_24_hour_session_for_the_statement_total(statement, owner):
    now = timezone.now()
    purchase = start(statement, created_by=owner, now=now)
    assert purchase.created is True
    assert purchase.purpose == Purchase.Purpose.INVOICE and purchase.invoice == statement
    assert (purchase.credits, purchase.total) == (0, statement.total)
    session = PaymentSession.objects.get(purchase=purchase)
    assert session.expires_at == now + timedelta(hours=24)


def test_pay_reuses_the_open_session(statement):
    first = start(statement)
    again = start(statement)
    assert again.pk == first.pk and again.created is False
    assert Purchase.objects.filter(invoice=statement).count() == 1


def test_pay_opens_a_new_session_once_the_old_one_expired(statement):
    first = start(statement)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        second = start(statement)
    first.refresh_from_db()
    assert first.status == Purchase.Status.EXPIRED
    assert second.pk != first.pk and second.status == Purchase.Status.PENDING
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.ISSUED  # the statement stays due: expiry never closes it


def test_its_payment_marks_the_statement_paid_and_grants_no_credits(statement, organization):
    purchase = paid(start(statement))
    assert purchase.status == Purchase.Status.PAID
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.PAID and statement.paid_at is not None
    assert statement.payment_reference == "tx-1"
    assert not CreditLot.objects.filter(organization=organization).exists()
    again = paid(purchase, tx="tx-1")  # a duplicate notification changes nothing
    assert again.status == Purchase.Status.PAID
    assert Invoice.objects.filter(status="paid").count() == 1


def test_a_paid_statement_has_nothing_left_to_pay(statement):
    paid(start(statement))
    statement.refresh_from_db()
    with pytest.raises(PurchaseError):
        start(statement)


def test_a_statement_paid_twice_through_two_sessions_sends_the_second_to_review(statement, staff):
    first = start(statement, ref="ref-a")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        second = start(statement, ref="ref-b")  # the first expired; a second session opened
        paid(second, tx="tx-b")
        late = paid(first, tx="tx-a")  # the expired first session is paid too (a transfer to its VA)
    assert second.__class__.objects.get(pk=second.pk).status == Purchase.Status.PAID
    assert late.status == Purchase.Status.NEEDS_REVIEW
    assert late.review_reason == Purchase.ReviewReason.INVOICE_SETTLED
    assert late.paid_amount == statement.total  # recorded, not lost
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.PAID and statement.payment_reference == "tx-b"
    with pytest.raises(PurchaseError):
        purchase_review_approve(purchase=late, actor=staff, note="apply again?")
    done = purchase_review_dismiss(purchase=late, actor=staff, note="refunded by bank transfer")
    assert done.reviewed_at is not None


def test_a_late_payment_through_an_expired_session_still_pays_an_unpaid_statement(statement):
    purchase = start(statement)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        from billing.tasks import expire_payment_sessions

        expire_payment_sessions()
        purchase.refresh_from_db()
        assert purchase.status == Purchase.Status.EXPIRED
        purchase = paid(purchase)
    assert purchase.status == Purchase.Status.PAID
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.PAID


def test_a_mismatched_amount_is_held_and_the_statement_stays_unpaid(statement):
    purchase = paid(start(statement), amount=1000)
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    assert purchase.review_reason == Purchase.ReviewReason.AMOUNT_MISMATCH
    statement.refresh_from_db()
    assert statement.status == Invoice.Status.ISSUED


def test_a_top_up_payment_request_is_paid_through_its_own_purchase(organization):
    purchase = make_purchase(organization, credits=1000)
    assert start(purchase.invoice).pk == purchase.pk


def test_the_pay_button_goes_to_the_gateway_page(owner_client, statement):
    page = owner_client.get(f"/billing/invoices/{statement.pk}/").content.decode()
    assert 'id="pay-button"' in page and 'id="pay-panel"' in page
    response = owner_client.post(f"/billing/invoices/{statement.pk}/pay/")
    purchase = Purchase.objects.get(invoice=statement)
    assert response.status_code == 302 and response["Location"].endswith(f"/credits/sandbox/{purchase.gateway_ref}/")
    # a second click reuses the session; the page now shows its virtual account
    owner_client.post(f"/billing/invoices/{statement.pk}/pay/")
    assert Purchase.objects.filter(invoice=statement).count() == 1
    page = owner_client.get(f"/billing/invoices/{statement.pk}/").content.decode()
    assert 'id="session-va"' in page and "<svg" in page


def test_only_members_who_may_pay_see_or_use_the_pay_button(client, member, statement, other_org_owner):
    client.force_login(member)
    assert client.post(f"/billing/invoices/{statement.pk}/pay/").status_code == 403
    client.force_login(other_org_owner)
    assert client.post(f"/billing/invoices/{statement.pk}/pay/").status_code == 404
    assert not Purchase.objects.exists()


def test_the_pay_url_only_accepts_post(owner_client, statement):
    assert owner_client.get(f"/billing/invoices/{statement.pk}/pay/").status_code == 405
