"""Ledger entries and invoice lines written by Saldo are stored in English with a code and its parameters, and
read in the reader's language on pages and PDFs; the API keeps the stored text; old rows keep theirs."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from billing.gateways.base import PaymentEvent
from billing.services import payment_apply
from credits.models import LedgerEntry
from credits.services import lot_grant, lots_expire
from invoices.models import InvoiceLine
from invoices.pdf import render_invoice_html
from invoices.services import invoice_create, invoice_credit_note, invoice_void
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db

CREDITS_EN = "Chatbot message credits, valid 30 days from payment"
CREDITS_ID = "Kredit pesan chatbot, berlaku 30 hari sejak pembayaran"


def paid_purchase(organization, credits=5000):
    purchase = make_purchase(organization, credits=credits)
    event = PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total, transaction_id="tx")
    return payment_apply(purchase=purchase, event=event)


def in_indonesian(client):
    client.cookies["django_language"] = "id"
    return client


def test_it_stores_the_purchase_entry_in_english_and_shows_it_in_the_readers_language(organization, owner_client):
    purchase = paid_purchase(organization)
    entry = LedgerEntry.objects.get(kind="purchase")
    assert entry.reason == f"Purchase {purchase.order_id}"
    assert (entry.description_code, entry.description_params) == ("purchase", {"order_id": purchase.order_id})
    with translation.override("id"):
        assert entry.description == f"Pembelian {purchase.order_id}"
    with translation.override("en"):
        assert entry.description == f"Purchase {purchase.order_id}"

    page = in_indonesian(owner_client).get("/").content.decode()
    assert f"Pembelian {purchase.order_id}" in page
    assert f"Purchase {purchase.order_id}" not in page


def test_the_api_and_the_csv_keep_the_stored_reason(organization, owner_client, api_client):
    purchase = paid_purchase(organization)
    body = api_client.get("/api/v1/credits/ledger", HTTP_ACCEPT_LANGUAGE="id").json()
    assert [row["reason"] for row in body["results"]] == [f"Purchase {purchase.order_id}"]

    csv = b"".join(in_indonesian(owner_client).get("/credits/ledger.csv").streaming_content).decode()
    header, row = csv.splitlines()[:2]
    assert header.endswith(",reason,description")
    assert row.endswith(f",Purchase {purchase.order_id},Pembelian {purchase.order_id}")


def test_expiry_reversal_and_refund_entries_are_translated(organization):
    purchase = paid_purchase(organization, credits=2000)
    reversed_ = PaymentEvent(
        status="reversed", gateway_ref=purchase.gateway_ref, amount=purchase.total, raw_status="refund"
    )
    payment_apply(purchase=purchase, event=reversed_)
    lot_grant(organization=organization, credits=1000, source="grant", description_code="welcome_bonus")
    lots_expire(now=timezone.now() + timedelta(days=40))

    texts = {e.kind: (e.reason, e.description) for e in LedgerEntry.objects.exclude(kind="purchase")}
    assert texts["reversal"][0] == f"Payment reversed by the gateway (refund) for purchase {purchase.order_id}"
    assert texts["expiry"][0] == "Lot expired"
    assert texts["grant"][0] == "Welcome bonus for new WhatsApp number"
    with translation.override("id"):
        texts = {e.kind: e.description for e in LedgerEntry.objects.exclude(kind="purchase")}
    assert texts == {
        "reversal": f"Pembayaran pembelian {purchase.order_id} dibatalkan oleh gateway (refund)",
        "expiry": "Lot kedaluwarsa",
        "grant": "Bonus sambutan untuk nomor WhatsApp baru",
    }


def test_a_staff_reason_and_an_old_row_without_a_code_show_as_written(organization):
    lot_grant(organization=organization, credits=1000, source="grant", reason="Hadiah ulang tahun")
    entry = LedgerEntry.objects.get()
    assert entry.description_code == "" and entry.description_params is None
    with translation.override("id"):
        assert entry.description == "Hadiah ulang tahun"
    # A code whose parameters do not fit its text (edited since) falls back to the stored text.
    broken = LedgerEntry(reason="Purchase SLD-1", description_code="purchase", description_params={})
    assert broken.description == "Purchase SLD-1"


def test_it_refuses_an_unknown_code(organization):
    with pytest.raises(ValueError):
        lot_grant(organization=organization, credits=1000, source="grant", description_code="nope")
    with pytest.raises(ValueError):
        invoice_create(organization=organization, lines=[{"code": "nope", "quantity": 1, "unit_price": 1}])


def test_the_credits_line_reads_in_the_readers_language_on_the_page_and_in_indonesian_in_the_pdf(
    organization, owner_client, api_client
):
    invoice = paid_purchase(organization).invoice
    line = invoice.lines.get()
    assert (line.description, line.description_code, line.description_params) == (CREDITS_EN, "credits", {"days": 30})

    assert CREDITS_ID in in_indonesian(owner_client).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    owner_client.cookies["django_language"] = "en"
    assert CREDITS_EN in owner_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    with translation.override("en"):
        assert CREDITS_ID in render_invoice_html(invoice)  # an Indonesian tax document whatever the request
    api = api_client.get(f"/api/v1/invoices/{invoice.pk}", HTTP_ACCEPT_LANGUAGE="id").json()
    assert [row["description"] for row in api["lines"]] == [CREDITS_EN]


def test_a_credit_note_keeps_the_code_of_the_lines_it_cancels(organization, staff):
    invoice = paid_purchase(organization).invoice
    note = invoice_credit_note(invoice=invoice, reason="Refunded by transfer", actor=staff)
    line = note.lines.get()
    assert (line.description, line.description_code) == (CREDITS_EN, "credits")
    with translation.override("id"):
        assert line.label == CREDITS_ID


def test_whatsapp_lines_name_category_market_month_and_pricing_in_the_readers_language(organization):
    invoice = invoice_create(
        organization=organization,
        kind="statement",
        lines=[
            {"code": "whatsapp", "params": {"category": "marketing", "market": "62", "month": "06/2025",
                                            "pricing": "CBP", "late": False}, "quantity": 3, "unit_price": 657},
            {"code": "whatsapp", "params": {"category": "utility", "market": "other", "month": "07/2025",
                                            "pricing": "PMP", "late": True}, "quantity": 2, "unit_price": 321},
        ],
    )  # fmt: skip
    lines = list(invoice.lines.order_by("position"))
    assert [line.description for line in lines] == [
        "WhatsApp Marketing conversations, 62, 06/2025",
        "WhatsApp Utility messages, other markets, 07/2025 (reported late)",
    ]
    with translation.override("id"):
        assert [line.label for line in lines] == [
            "Percakapan WhatsApp Pemasaran, 62, 06/2025",
            "Pesan WhatsApp Utilitas, pasar lainnya, 07/2025 (dilaporkan terlambat)",
        ]


def test_a_line_written_before_codes_shows_its_stored_text(organization):
    invoice = invoice_create(
        organization=organization, lines=[{"description": "Jasa konsultasi", "quantity": 1, "unit_price": 1000}]
    )
    line = InvoiceLine.objects.get(invoice=invoice)
    assert (line.description_code, line.description_params) == ("", None)
    with translation.override("id"):
        assert line.label == "Jasa konsultasi"


def test_saldos_own_void_reason_reads_in_the_readers_language_and_a_staff_reason_as_typed(organization, owner_client):
    # A numbered unpaid top-up invoice from before payment requests: its expiry voided it with Saldo's reason.
    invoice = invoice_create(
        organization=organization, lines=[{"code": "credits", "quantity": 1000, "unit_price": 100}]
    )
    invoice = invoice_void(invoice=invoice, reason="Payment session expired")

    page = in_indonesian(owner_client).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Sesi pembayaran kedaluwarsa" in page and "Payment session expired" not in page
    owner_client.cookies["django_language"] = "en"
    assert "Payment session expired" in owner_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()

    invoice.void_reason = "Salah tagih, diganti INV/2026/12/000009"
    invoice.save(update_fields=["void_reason"])
    page = in_indonesian(owner_client).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Salah tagih, diganti INV/2026/12/000009" in page
