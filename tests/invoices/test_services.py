"""Invoice rules: tax per line half-up (invariant 8), frozen buyer, paid is final, void, credit notes, e-mail."""

from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import AuditEntry
from invoices.models import Invoice
from invoices.services import (
    InvoiceError,
    invoice_create,
    invoice_credit_note,
    invoice_mark_paid,
    invoice_send_email,
    invoice_void,
    line_amounts,
)
from invoices.tasks import email_unsent_invoices


@pytest.mark.parametrize(
    ("quantity", "unit_price", "rate", "amount", "tax"),
    [
        (1000, 100, Decimal("0.11"), 100_000, 11_000),
        (1, 5, Decimal("0.11"), 5, 1),  # 0.55 → 1 (half-up)
        (1, 45, Decimal("0.11"), 45, 5),  # 4.95 → 5
        (1, 50, Decimal("0.11"), 50, 6),  # 5.5 → 6, not banker's 6/5
        (1, 150, Decimal("0.11"), 150, 17),  # 16.5 → 17
        (3, Decimal("333.5"), Decimal("0.11"), 1001, 110),  # 1000.5 → 1001; 110.11 → 110
        (657, 1, Decimal("0.12"), 657, 79),  # 78.84 → 79
    ],
)
def test_it_rounds_each_line_half_up(quantity, unit_price, rate, amount, tax):
    assert line_amounts(quantity=quantity, unit_price=unit_price, tax_rate=rate) == (amount, tax)


def test_it_refuses_floats():
    with pytest.raises(TypeError):
        line_amounts(quantity=1, unit_price=0.1, tax_rate=Decimal("0.11"))


def test_totals_are_line_sums(organization, no_pdf):
    invoice = invoice_create(
        organization=organization,
        lines=[
            {"description": "a", "quantity": 1, "unit_price": 5},
            {"description": "b", "quantity": 1, "unit_price": 5},
            {"description": "c", "quantity": 2, "unit_price": 100, "tax_rate": Decimal("0")},
        ],
    )
    assert (invoice.subtotal, invoice.tax, invoice.total) == (210, 2, 212)  # 0.55 + 0.55 rounded per line
    assert [line.tax for line in invoice.lines.all()] == [1, 1, 0]
    assert invoice.lines.first().tax_rate == Decimal("0.12")  # the rule in force today (PMK 131/2024)


def test_it_falls_back_to_the_tax_rate_setting_without_rules(organization, no_pdf, settings):
    from invoices.models import TaxRule

    TaxRule.objects.all().delete()
    settings.TAX_RATE = Decimal("0.12")
    invoice = invoice_create(
        organization=organization, lines=[{"description": "a", "quantity": 1000, "unit_price": 100}]
    )
    assert invoice.tax == 12_000 and invoice.total == 112_000


def test_it_freezes_the_buyer(organization, no_pdf):
    invoice = invoice_create(organization=organization, lines=[{"description": "a", "quantity": 1, "unit_price": 100}])
    organization.address = "Somewhere new"
    organization.npwp = "99.999.999.9-999.999"
    organization.save()
    invoice.refresh_from_db()
    assert invoice.buyer_address == "Jl. Thamrin No. 1, Jakarta"
    assert invoice.buyer_npwp == "01.234.567.8-999.000"
    assert invoice.seller_name == "PT Saldo Teknologi Nusantara"


def test_billing_info_overrides_the_organization(organization, no_pdf):
    invoice = invoice_create(
        organization=organization,
        lines=[{"description": "a", "quantity": 1, "unit_price": 100}],
        buyer={"legal_name": "CV Lain", "npwp": "11.111.111.1-111.111", "email": "ap@lain.id"},
    )
    assert invoice.buyer_legal_name == "CV Lain" and invoice.buyer_email == "ap@lain.id"
    assert invoice.buyer_name == organization.name and invoice.buyer_address == organization.address


def test_mark_paid_is_idempotent(make_invoice, no_pdf, django_capture_on_commit_callbacks):
    invoice = make_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        first = invoice_mark_paid(invoice=invoice, payment_reference="TRX-1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = invoice_mark_paid(invoice=invoice, payment_reference="TRX-2")
    assert callbacks == []
    assert first.paid_at == second.paid_at and second.payment_reference == "TRX-1"
    assert len(mail.outbox) == 1


def test_paid_invoices_are_emailed_with_the_pdf(make_invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_mark_paid(invoice=make_invoice(), payment_reference="TRX-1")
    (message,) = mail.outbox
    assert message.to == [invoice.buyer_email]
    assert invoice.number in message.subject
    (name, content, mimetype) = message.attachments[0]
    assert name == invoice.pdf_filename and mimetype == "application/pdf" and content.startswith(b"%PDF")
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.email_attempts == 1


def test_a_failed_email_is_recorded_and_retried_by_the_sweep(make_invoice, no_pdf, monkeypatch):
    import time_machine
    from django.utils import timezone

    invoice = invoice_mark_paid(invoice=make_invoice())
    monkeypatch.setattr("django.core.mail.EmailMessage.send", lambda self, fail_silently=False: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        invoice_send_email(invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.emailed_at is None and invoice.email_attempts == 1 and "ZeroDivisionError" in invoice.email_error
    monkeypatch.undo()
    assert email_unsent_invoices() == 0  # too fresh: the task's own retries handle it first
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=11)):
        assert email_unsent_invoices() == 1
        assert email_unsent_invoices() == 0  # nothing left: the sweep is idempotent
    assert len(mail.outbox) == 1
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.email_error == ""


def test_void_needs_a_reason_and_leaves_an_audit_entry(make_invoice, no_pdf, staff):
    invoice = make_invoice()
    with pytest.raises(InvoiceError):
        invoice_void(invoice=invoice, reason=" ")
    invoice = invoice_void(invoice=invoice, reason="Customer asked", actor=staff)
    assert invoice.status == Invoice.Status.VOID and invoice.voided_at and invoice.void_reason == "Customer asked"
    entry = AuditEntry.objects.get(action="invoice.void")
    assert entry.actor == staff and entry.target_id == str(invoice.pk) and entry.reason == "Customer asked"
    assert invoice_void(invoice=invoice, reason="again").void_reason == "Customer asked"


def test_a_paid_invoice_is_never_voided_but_gets_a_credit_note(make_invoice, no_pdf, staff):
    invoice = invoice_mark_paid(invoice=make_invoice(), payment_reference="TRX-1")
    with pytest.raises(InvoiceError):
        invoice_void(invoice=invoice, reason="refund")
    note = invoice_credit_note(invoice=invoice, reason="Refunded by bank transfer", actor=staff)
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.corrects == invoice and note.total == invoice.total
    assert invoice_credit_note(invoice=invoice, reason="again") == note
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.payment_reference == "TRX-1"
    assert AuditEntry.objects.filter(action="invoice.credit_note").count() == 1
    with pytest.raises(InvoiceError):
        invoice_mark_paid(invoice=note)


def test_a_late_payment_on_a_void_invoice_gets_a_replacement(make_invoice, no_pdf):
    invoice = invoice_void(invoice=make_invoice(), reason="Payment session expired")
    paid = invoice_mark_paid(invoice=invoice, payment_reference="LATE-1")
    assert paid.pk != invoice.pk and paid.status == Invoice.Status.PAID and paid.corrects == invoice
    assert paid.total == invoice.total and paid.number.endswith("000002")
    again = invoice_mark_paid(invoice=invoice, payment_reference="LATE-1")
    assert again.pk == paid.pk
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert Invoice.objects.count() == 2


def test_it_needs_lines(organization):
    with pytest.raises(ValueError):
        invoice_create(organization=organization, lines=[])
