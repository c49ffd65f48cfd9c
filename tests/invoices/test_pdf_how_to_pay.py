"""The PDF of anything unpaid shows how to pay (issue 15): the amount, the due date, the payable page's link,
and the virtual account number and QRIS code while a payment session is open; a paid invoice does not."""

import io
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import time_machine
from pypdf import PdfReader

from billing.gateways import sandbox
from billing.services.purchases import invoice_payment_start
from invoices.models import Invoice
from invoices.services import invoice_create, invoice_mark_paid, invoice_pdf_bytes
from tests.billing.conftest import StubGateway, make_purchase

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
REPO = Path(__file__).resolve().parents[2]
LINES = [{"description": "Percakapan WhatsApp November 2026 · marketing", "quantity": 1000, "unit_price": 657}]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def statement(organization, no_pdf):
    with time_machine.travel(datetime(2026, 12, 1, 1, 0, tzinfo=JAKARTA), tick=False):
        return invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)


def test_an_unpaid_statement_prints_amount_due_date_and_pay_link(statement):
    text = pdf_text(invoice_pdf_bytes(invoice=statement))
    assert "CARA MEMBAYAR · HOW TO PAY" in text.upper()
    assert "Rp 729.270" in text  # 657.000 + PPN 11 %
    assert "15 Dec 2026 01:00 WIB" in text or "15 Des 2026 01:00 WIB" in text
    assert f"/billing/invoices/{statement.pk}/" in text
    assert "Virtual account BCA" not in text  # no session is open yet


def test_while_a_session_is_open_it_prints_the_virtual_account_and_a_qris_code(statement, settings, tmp_path):
    purchase = invoice_payment_start(invoice=statement, gateway=StubGateway("sandbox"))
    content = invoice_pdf_bytes(invoice=statement)
    text = pdf_text(content)
    assert sandbox.virtual_account(purchase.gateway_ref) in text
    assert "QRIS" in text and "Open until" in text
    # The QR is drawn (an inline SVG): the page has far more dark area than the same PDF without a session.
    # The how-to-pay block follows the tax block, so it may be on a later page: look at the one that says QRIS.
    document = pdfium.PdfDocument(content)
    page = next(p for p in document if "QRIS" in p.get_textpage().get_text_range())
    picture = page.render(scale=1).to_pil().convert("L")
    dark = sum(1 for value in picture.getdata() if value < 80)
    assert dark > 3000
    if os.environ.get("SALDO_SCREENSHOTS") == "1":
        page.render(scale=110 / 72).to_pil().convert("RGB").save(REPO / "docs/screenshots/statement-pdf-how-to-pay.png")


def test_a_paid_invoice_prints_no_payment_instructions(statement):
    paid = invoice_mark_paid(invoice=statement)
    text = pdf_text(invoice_pdf_bytes(invoice=paid))
    assert "HOW TO PAY" not in text.upper() and "LUNAS" in text


def test_a_payment_request_is_a_pro_forma_without_a_number(organization, no_pdf):
    purchase = make_purchase(organization, credits=1000)
    text = pdf_text(invoice_pdf_bytes(invoice=purchase.invoice))
    assert "PROFORMA" in text and "INV/" not in text
    assert sandbox.virtual_account(purchase.gateway_ref) in text
