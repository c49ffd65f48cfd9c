"""Each staff action on invoices is one service under a top-level (durable) transaction that writes its own
audit entry: the change and the entry commit together, or roll back together."""

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import AuditEntry
from invoices import services
from invoices.models import Invoice, InvoiceNumberCounter
from invoices.services import (
    InvoiceError,
    invoice_create,
    invoice_credit_note_by_staff,
    invoice_mark_paid,
    invoice_resend_by_staff,
    invoice_void_by_staff,
)

pytestmark = pytest.mark.django_db(transaction=True)

LINES = [{"description": "1.000 message credits", "quantity": 1000, "unit_price": 100}]


class AuditFailed(Exception):
    pass


@pytest.fixture
def failing_audit(monkeypatch):
    """The audit entry is written, then the transaction fails: both must be gone afterwards."""
    real = services.audit_record

    def write_then_fail(**kwargs):
        real(**kwargs)
        assert AuditEntry.objects.filter(action=kwargs["action"]).exists()
        raise AuditFailed

    monkeypatch.setattr(services, "audit_record", write_then_fail)


@pytest.fixture
def unpaid(organization, no_pdf):
    return invoice_create(organization=organization, lines=LINES)


@pytest.fixture
def paid(unpaid):
    return invoice_mark_paid(invoice=unpaid, payment_reference="T1")


def test_void_and_its_audit_entry_commit_together(unpaid, staff):
    invoice_void_by_staff(invoice=unpaid, actor=staff, reason="Duplicate order")
    unpaid.refresh_from_db()
    assert unpaid.status == Invoice.Status.VOID
    entry = AuditEntry.objects.get(action="invoice.void")
    assert entry.actor == staff and entry.reason == "Duplicate order" and entry.after == {"status": "void"}


def test_void_and_its_audit_entry_roll_back_together(unpaid, staff, failing_audit):
    with pytest.raises(AuditFailed):
        invoice_void_by_staff(invoice=unpaid, actor=staff, reason="Duplicate order")
    unpaid.refresh_from_db()
    assert unpaid.status == Invoice.Status.ISSUED and unpaid.void_reason == ""
    assert not AuditEntry.objects.exists()


def test_credit_note_and_its_audit_entry_commit_together(paid, staff):
    note = invoice_credit_note_by_staff(invoice=paid, actor=staff, reason="Refund")
    assert note.corrects_id == paid.pk and note.number.startswith("CN/")
    entry = AuditEntry.objects.get(action="invoice.credit_note")
    assert entry.actor == staff and entry.after == {"credit_note": note.number}


def test_credit_note_and_its_audit_entry_roll_back_together(paid, staff, failing_audit):
    with pytest.raises(AuditFailed):
        invoice_credit_note_by_staff(invoice=paid, actor=staff, reason="Refund")
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    assert not AuditEntry.objects.exists()
    # The CN number taken inside the rolled back transaction was given back.
    assert not InvoiceNumberCounter.objects.filter(series="CN", last_number__gt=0).exists()


def test_resend_and_its_audit_entry_commit_together_and_the_mail_goes_after_commit(paid, staff):
    mail.outbox.clear()
    invoice_resend_by_staff(invoice=paid, actor=staff, reason="Customer lost it")
    assert AuditEntry.objects.get(action="invoice.resend").reason == "Customer lost it"
    assert [m.to for m in mail.outbox] == [[paid.buyer_email]]


def test_resend_and_its_audit_entry_roll_back_together_and_nothing_is_sent(paid, staff, failing_audit):
    mail.outbox.clear()
    with pytest.raises(AuditFailed):
        invoice_resend_by_staff(invoice=paid, actor=staff, reason="Customer lost it")
    assert not AuditEntry.objects.exists() and mail.outbox == []


@pytest.mark.parametrize("action", [invoice_void_by_staff, invoice_credit_note_by_staff, invoice_resend_by_staff])
def test_staff_actions_need_an_actor_and_a_reason_and_run_at_the_top_level(action, paid, staff):
    with pytest.raises(InvoiceError):
        action(invoice=paid, actor=staff, reason="  ")
    with pytest.raises(InvoiceError):
        action(invoice=paid, actor=None, reason="because")
    with pytest.raises(RuntimeError), transaction.atomic():
        action(invoice=paid, actor=staff, reason="because")
    assert not AuditEntry.objects.exists()
