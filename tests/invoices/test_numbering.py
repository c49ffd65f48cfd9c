"""Invariant 6: numbers INV/YYYY/MM/NNNNNN, gapless and consecutive within a month (Asia/Jakarta)."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from accounts.models import Organization
from invoices.models import Invoice, InvoiceNumberCounter
from invoices.services import invoice_create, invoice_issue, invoice_void

JAKARTA = ZoneInfo("Asia/Jakarta")
LINES = [{"description": "1.000 message credits", "quantity": 1000, "unit_price": 100}]


@time_machine.travel(datetime(2026, 11, 3, 10, 0, tzinfo=JAKARTA), tick=False)
def test_it_numbers_issued_invoices_consecutively(make_invoice, no_pdf):
    numbers = [make_invoice().number for _ in range(3)]
    assert numbers == ["INV/2026/11/000001", "INV/2026/11/000002", "INV/2026/11/000003"]


def test_it_restarts_at_one_each_month(make_invoice, no_pdf):
    with time_machine.travel(datetime(2026, 11, 30, 23, 59, tzinfo=JAKARTA), tick=False):
        assert make_invoice().number == "INV/2026/11/000001"
        assert make_invoice().number == "INV/2026/11/000002"
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, 30, tzinfo=JAKARTA), tick=False):
        assert make_invoice().number == "INV/2026/12/000001"
    with time_machine.travel(datetime(2027, 1, 1, 9, 0, tzinfo=JAKARTA), tick=False):
        assert make_invoice().number == "INV/2027/01/000001"


def test_it_takes_the_month_in_jakarta_not_utc(make_invoice, no_pdf):
    # 30 Nov 18:30 UTC is already 1 Dec 01:30 in Jakarta.
    with time_machine.travel(datetime(2026, 11, 30, 18, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        assert make_invoice().number == "INV/2026/12/000001"


def test_it_numbers_only_when_issued(make_invoice, no_pdf):
    draft = make_invoice(issue=False)
    assert draft.status == Invoice.Status.DRAFT and draft.number is None
    issued = make_invoice()
    assert issued.number.endswith("000001")
    draft = invoice_issue(invoice=draft)
    assert draft.number.endswith("000002")
    assert invoice_issue(invoice=draft).number == draft.number  # issuing twice changes nothing


def test_a_rolled_back_issue_gives_its_number_back(make_invoice, no_pdf):
    make_invoice()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_invoice()
        raise RuntimeError("payment session could not be created")
    assert make_invoice().number.endswith("000002")
    assert Invoice.objects.count() == 2


def test_a_void_invoice_keeps_its_number(make_invoice, no_pdf):
    first = make_invoice()
    invoice_void(invoice=first, reason="session expired")
    assert make_invoice().number.endswith("000002")
    first.refresh_from_db()
    assert first.number.endswith("000001") and first.status == Invoice.Status.VOID


def test_credit_notes_have_their_own_series(make_invoice, no_pdf):
    from invoices.services import invoice_credit_note, invoice_mark_paid

    paid = invoice_mark_paid(invoice=make_invoice(), payment_reference="VA-1")
    note = invoice_credit_note(invoice=paid, reason="refunded")
    assert note.number.startswith("CN/") and note.number.endswith("000001")
    assert make_invoice().number.startswith("INV/") and Invoice.objects.filter(number__startswith="INV/").count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_issues_50_concurrent_invoices_with_50_consecutive_numbers(no_pdf):
    orgs = [Organization.objects.create(name=f"Org {i}", slug=f"org-c{i}") for i in range(5)]
    barrier = threading.Barrier(10)
    errors = []

    def work(n):
        try:
            barrier.wait()
            for i in range(5):
                invoice_create(organization=orgs[(n + i) % 5], lines=LINES)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(datetime(2026, 11, 15, 12, 0, tzinfo=JAKARTA), tick=True):
        threads = [threading.Thread(target=work, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV/2026/11/{n:06d}" for n in range(1, 51)]
    assert InvoiceNumberCounter.objects.get(series="INV", year=2026, month=11).last_number == 50
