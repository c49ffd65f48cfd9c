"""e-Faktur export (Coretax TaxInvoiceBulk): validates against our XSD, declares the invoice's own figures
(the VAT sum is the invoice's PPN to the rupiah), and one invoice matches a hand-checked expected file."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from lxml import etree

from accounts.models import AuditEntry
from invoices.efaktur import EfakturError, efaktur_validate, efaktur_xml, exportable
from invoices.efaktur.djp_export import DjpExportError, parse_djp_export
from invoices.models import EfakturSettings, Invoice
from invoices.services import (
    InvoiceError,
    invoice_create,
    invoice_credit_note,
    invoice_mark_paid,
    invoice_record_nsfp,
    invoice_record_nsfp_batch,
    invoice_void,
)

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
EXPECTED = Path(__file__).with_name("fixtures") / "efaktur_expected.xml"


def _sample(organization):
    """The hand-checked invoice: 15 January 2025, a legacy 15-digit buyer NPWP, two lines."""
    organization.legal_name = "PT Toko Maju Sejahtera"
    organization.npwp = "02.345.678.9-012.000"
    organization.nitku = ""
    organization.address = "Jl. Gajah Mada No. 12\nJakarta Pusat 10130"
    organization.invoice_email = "finance@tokomaju.id"
    organization.save()
    with time_machine.travel(datetime(2025, 1, 15, 10, 0, tzinfo=JAKARTA), tick=False):
        invoice = invoice_create(
            organization=organization,
            lines=[
                {"description": "10.000 kredit pesan chatbot", "quantity": 10000, "unit_price": 100},
                {"description": "Percakapan WhatsApp marketing", "quantity": 1, "unit_price": 50},
            ],
        )
        return invoice_mark_paid(invoice=invoice, payment_reference="VA 8808")


def _tree(xml: bytes):
    return etree.fromstring(xml)


def test_one_invoice_matches_the_hand_checked_expected_xml(organization, no_pdf):
    invoice = _sample(organization)
    xml = efaktur_xml(exportable(Invoice.objects.filter(pk=invoice.pk)))
    # Hand-checked: DPP 1,000,000 → DPP Nilai Lain 916,666.67 → PPN 110,000.0004 → 110,000; DPP 50 → 45.83 →
    # 5.4996 → 5 (11 % on the full price would have said 6). Buyer NPWP 02.345.678.9-012.000 → 0023456789012000.
    assert xml.decode() == EXPECTED.read_text(encoding="utf-8")
    assert invoice.tax == 110_005 and invoice.other_tax_base == Decimal("916712.50")


def test_the_vat_declared_is_the_invoice_ppn(organization, no_pdf):
    invoice = _sample(organization)
    root = _tree(efaktur_xml(exportable(Invoice.objects.filter(pk=invoice.pk))))
    vat = sum(Decimal(x) for x in root.xpath("//GoodService/VAT/text()"))
    other = sum(Decimal(x) for x in root.xpath("//GoodService/OtherTaxBase/text()"))
    base = sum(Decimal(x) for x in root.xpath("//GoodService/TaxBase/text()"))
    assert (base, other, vat) == (invoice.tax_base, invoice.other_tax_base, invoice.tax)


def test_a_month_of_demo_invoices_validates_against_the_xsd(organization, no_pdf):
    with time_machine.travel(datetime(2026, 11, 10, 9, 0, tzinfo=JAKARTA), tick=False):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        # and buyers of every identity type, a statement of many lines, a void and a credit note
        kinds = [
            {"document_type": "TIN", "npwp": "0123456789012345", "nitku": "0123456789012345000001"},
            {"document_type": "National ID", "document_number": "3171 0123 4567 8901", "npwp": ""},
            {"document_type": "Passport", "document_number": "a1234567", "country": "SGP", "npwp": ""},
            {"document_type": "Other", "document_number": "KITAS-2C11AB0001".replace("-", ""), "npwp": ""},
            {"document_type": "TIN", "npwp": ""},
        ]
        made = [
            invoice_create(
                organization=organization,
                buyer=buyer,
                lines=[{"description": "kredit", "quantity": 1000, "unit_price": 100}],
            )
            for buyer in kinds
        ]
        invoice_create(
            organization=organization,
            kind=Invoice.Kind.STATEMENT,
            lines=[{"description": f"WhatsApp {i}", "quantity": i, "unit_price": 397} for i in range(1, 41)],
        )
        invoice_void(invoice=made[-1], reason="test")
        invoice_credit_note(invoice=invoice_mark_paid(invoice=made[0]), reason="refund")
    month = Invoice.objects.filter(tax_date__gte=date(2026, 11, 1), tax_date__lt=date(2026, 12, 1))
    invoices = list(exportable(month))
    # ours (four buyers and the statement; not the void one, not the credit note) and the demo's paid ones
    assert {i.number for i in made[:4]} <= {i.number for i in invoices}
    assert len(invoices) >= 6
    xml = efaktur_xml(invoices)
    efaktur_validate(xml)
    root = _tree(xml)
    assert root.findtext("TIN") == "0012345678901000"
    numbers = root.xpath("//TaxInvoice/RefDesc/text()")
    assert made[-1].number not in numbers
    assert not [n for n in numbers if n.startswith("CN/")]
    by_ref = {node.findtext("RefDesc"): node for node in root.iter("TaxInvoice")}
    tin, nik, passport, other = (by_ref[i.number] for i in made[:4])
    assert (tin.findtext("BuyerTin"), tin.findtext("BuyerDocument"), tin.findtext("BuyerIDTKU")) == (
        "0123456789012345",
        "TIN",
        "0123456789012345000001",
    )
    assert (nik.findtext("BuyerTin"), nik.findtext("BuyerDocument"), nik.findtext("BuyerDocumentNumber")) == (
        "0000000000000000",
        "National ID",
        "3171012345678901",
    )
    assert (passport.findtext("BuyerDocument"), passport.findtext("BuyerCountry")) == ("Passport", "SGP")
    assert passport.findtext("BuyerDocumentNumber") == "A1234567" and passport.findtext("BuyerIDTKU") == "000000"
    assert other.findtext("BuyerDocument") == "Other"
    for node in root.iter("TaxInvoice"):
        assert node.findtext("TaxInvoiceOpt") == "Normal" and node.findtext("TrxCode") == "04"
        assert node.findtext("TaxInvoiceDate").startswith("2026-11-")
        invoice = Invoice.objects.get(number=node.findtext("RefDesc"))
        assert sum(Decimal(v) for v in node.xpath(".//VAT/text()")) == invoice.tax
        assert len(node.findall(".//GoodService")) == invoice.lines.count()


def test_the_codes_come_from_the_staff_settings(organization, no_pdf):
    codes = EfakturSettings.load()
    codes.service_code, codes.unit_code = "620100", "UM.0021"
    codes.save()
    invoice = _sample(organization)
    root = _tree(efaktur_xml(exportable(Invoice.objects.filter(pk=invoice.pk))))
    assert set(root.xpath("//GoodService/Code/text()")) == {"620100"}
    assert set(root.xpath("//GoodService/Unit/text()")) == {"UM.0021"}
    assert set(root.xpath("//GoodService/Opt/text()")) == {"B"}


def test_an_invoice_under_the_2024_rule_declares_dpp_and_11_percent(organization, no_pdf):
    invoice = invoice_create(
        organization=organization,
        lines=[{"description": "kredit", "quantity": 1, "unit_price": 50}],
        tax_date=date(2024, 12, 31),
    )
    root = _tree(efaktur_xml(exportable(Invoice.objects.filter(pk=invoice.pk))))
    good = root.find(".//GoodService")
    assert root.findtext(".//TrxCode") == "01" and root.findtext(".//TaxInvoiceDate") == "2024-12-31"
    assert [good.findtext(k) for k in ("TaxBase", "OtherTaxBase", "VATRate", "VAT")] == ["50.00", "50.00", "11", "6.00"]


def test_the_xsd_refuses_what_coretax_would(organization, no_pdf):
    xml = efaktur_xml(exportable(Invoice.objects.filter(pk=_sample(organization).pk)))
    for bad in (
        xml.replace(b"<TrxCode>04</TrxCode>", b"<TrxCode>4</TrxCode>"),
        xml.replace(b"<TIN>0012345678901000</TIN>", b"<TIN>12.345</TIN>"),
        xml.replace(b"<BuyerDocument>TIN</BuyerDocument>", b"<BuyerDocument>KTP</BuyerDocument>"),
        xml.replace(b"<Opt>B</Opt>", b"<Opt>C</Opt>", 1),
        xml.replace(b"<RefDesc>", b"<Ref>").replace(b"</RefDesc>", b"</Ref>"),
    ):
        with pytest.raises(EfakturError):
            efaktur_validate(bad)


def test_nothing_to_export_is_an_error(organization, no_pdf):
    with pytest.raises(EfakturError):
        efaktur_xml(exportable(Invoice.objects.none()))


# --- NSFP ----------------------------------------------------------------------------------------------


def test_staff_record_the_nsfp_audited_and_it_shows_everywhere(organization, no_pdf, staff, owner_client):
    invoice = _sample(organization)
    invoice = invoice_record_nsfp(invoice=invoice, nsfp="040.025-00.000012345", actor=staff, reason="Coretax")
    assert invoice.nsfp == "04002500000012345"
    entry = AuditEntry.objects.get(action="invoice.nsfp")
    assert entry.actor == staff and entry.after["nsfp"] == "04002500000012345" and entry.before == {"nsfp": ""}
    # the same number again: nothing new
    invoice_record_nsfp(invoice=invoice, nsfp="04002500000012345", actor=staff)
    assert AuditEntry.objects.filter(action="invoice.nsfp").count() == 1
    page = owner_client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "04002500000012345" in page and "DPP Nilai Lain" in page and "Rp 916.712,50" in page
    from invoices.pdf import render_invoice_html

    assert "04002500000012345" in render_invoice_html(invoice)


def test_an_nsfp_belongs_to_one_invoice_and_is_validated(organization, no_pdf, staff):
    first, second = (
        _sample(organization),
        invoice_create(organization=organization, lines=[{"description": "x", "quantity": 1, "unit_price": 10}]),
    )
    invoice_record_nsfp(invoice=first, nsfp="04002500000012345", actor=staff)
    with pytest.raises(InvoiceError, match="already recorded"):
        invoice_record_nsfp(invoice=second, nsfp="04002500000012345", actor=staff)
    for bad in ("123", "0400250000001234X", "0" * 17, ""):
        with pytest.raises(InvoiceError):
            invoice_record_nsfp(invoice=second, nsfp=bad, actor=staff)
    with pytest.raises(InvoiceError):
        invoice_record_nsfp(invoice=second, nsfp="04002500000012399", actor=None)


def test_djps_export_records_many_and_reports_the_rest(organization, no_pdf, staff):
    a, b = _sample(organization), _sample(organization)
    content = (
        "\ufeffNomor Faktur Pajak;Tanggal Faktur;Referensi;Status\n"
        f"04002500000000001;15/01/2025;{a.number};APPROVED\n"
        f"04002500000000002;15/01/2025;{b.number};APPROVED\n"
        "04002500000000003;15/01/2025;INV/1999/01/000001;APPROVED\n"
        f"nope;15/01/2025;{a.number};APPROVED\n"
        ";15/01/2025;INV/2025/01/000009;DRAFT\n"
    ).encode()
    rows = parse_djp_export(content)
    assert [r[1] for r in rows] == [a.number, b.number, "INV/1999/01/000001", a.number]
    result = invoice_record_nsfp_batch(rows=rows, actor=staff, filename="coretax.csv")
    assert (result.recorded, result.unchanged, len(result.errors)) == (2, 0, 2)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.nsfp, b.nsfp) == ("04002500000000001", "04002500000000002")
    assert AuditEntry.objects.filter(action="invoice.nsfp").count() == 2
    with pytest.raises(DjpExportError):
        parse_djp_export(b"just,some,columns\n1,2,3\n")
