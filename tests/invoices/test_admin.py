"""Staff admin: filters, search, PDF download, resend, void with a reason (audited), CSV export."""

import csv
import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from accounts.models import AuditEntry
from invoices.models import Invoice
from invoices.services import invoice_create, invoice_mark_paid

JAKARTA = ZoneInfo("Asia/Jakarta")
LINES = [{"description": "1.000 message credits", "quantity": 1000, "unit_price": 100}]
URL = "/admin/invoices/invoice/"


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def invoices(organization, other_organization, no_pdf):
    with time_machine.travel(datetime(2026, 10, 20, 9, 0, tzinfo=JAKARTA), tick=False):
        october = invoice_mark_paid(
            invoice=invoice_create(organization=organization, lines=LINES), payment_reference="T1"
        )
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=JAKARTA), tick=False):
        november = invoice_create(organization=other_organization, lines=LINES, buyer={"npwp": "77.777.777.7-777.000"})
    return october, november


def test_the_changelist_filters_and_searches(staff_client, invoices):
    october, november = invoices
    body = staff_client.get(URL).content.decode()
    assert october.number in body and november.number in body
    body = staff_client.get(URL + "?month=2026-10").content.decode()
    assert october.number in body and november.number not in body
    body = staff_client.get(URL + "?status__exact=issued").content.decode()
    assert november.number in body and october.number not in body
    for term in ["77.777.777.7", "Lain Jaya", november.number]:
        body = staff_client.get(URL, {"q": term}).content.decode()
        assert november.number in body and october.number not in body, term
    assert staff_client.get(f"{URL}{october.pk}/change/").status_code == 200


def test_it_downloads_one_pdf_or_a_zip(staff_client, invoices):
    october, november = invoices
    response = staff_client.post(URL, {"action": "download_pdf", "_selected_action": [october.pk]})
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    response = staff_client.post(URL, {"action": "download_pdf", "_selected_action": [october.pk, november.pk]})
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == sorted([october.pdf_filename, november.pdf_filename])
    assert staff_client.get(f"{URL}{october.pk}/pdf/").content.startswith(b"%PDF")


def test_it_resends_the_email_with_a_reason(staff_client, staff, invoices, django_capture_on_commit_callbacks):
    october, _november = invoices
    response = staff_client.post(URL, {"action": "resend_email", "_selected_action": [october.pk]})
    assert response.status_code == 200 and "Reason" in response.content.decode() and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            URL, {"action": "resend_email", "_selected_action": [october.pk], "apply": "1", "reason": "Lost mail"}
        )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [october.buyer_email]
    entry = AuditEntry.objects.get(action="invoice.resend")
    assert entry.actor == staff and entry.reason == "Lost mail" and entry.target_id == str(october.pk)


def test_it_voids_with_a_reason_and_an_audit_entry(staff_client, staff, invoices):
    october, november = invoices
    response = staff_client.post(URL, {"action": "void_invoices", "_selected_action": [november.pk]})
    assert response.status_code == 200 and "Reason" in response.content.decode()
    november.refresh_from_db()
    assert november.status == Invoice.Status.ISSUED  # nothing happens before a reason is given
    staff_client.post(
        URL,
        {
            "action": "void_invoices",
            "_selected_action": [november.pk, october.pk],
            "apply": "1",
            "reason": "Duplicate order",
        },
    )
    november.refresh_from_db()
    october.refresh_from_db()
    assert november.status == Invoice.Status.VOID and november.void_reason == "Duplicate order"
    assert october.status == Invoice.Status.PAID  # paid: refused, needs a credit note
    entry = AuditEntry.objects.get(action="invoice.void")
    assert entry.actor == staff and entry.reason == "Duplicate order"


def test_it_credit_notes_a_paid_invoice(staff_client, invoices):
    october, _november = invoices
    staff_client.post(
        URL, {"action": "credit_note_invoices", "_selected_action": [october.pk], "apply": "1", "reason": "Refund"}
    )
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.corrects == october and note.number.startswith("CN/")


def test_it_exports_csv_one_row_per_invoice_with_tax(staff_client, invoices):
    october, november = invoices
    response = staff_client.post(URL, {"action": "export_csv", "_selected_action": [october.pk, november.pk]})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Number"] for r in rows] == [october.number, november.number]
    assert rows[0]["Subtotal (DPP)"] == "100000" and rows[0]["PPN"] == "11000" and rows[0]["Total"] == "111000"
    assert rows[0]["Issued (WIB)"] == "2026-10-20 09:00" and rows[1]["Buyer NPWP"] == "77.777.777.7-777.000"


def test_invoices_cannot_be_added_or_deleted(staff_client, invoices):
    october, _ = invoices
    assert staff_client.get(URL + "add/").status_code == 403
    assert staff_client.get(f"{URL}{october.pk}/delete/").status_code == 403
