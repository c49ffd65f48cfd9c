"""e-Faktur export for DJP's Coretax: one ``TaxInvoiceBulk`` XML for a set of invoices (docs/tax.md).

Rules enforced here:

- Only invoices that are tax invoices go out: issued or paid purchases and statements (a draft has no number,
  a void invoice was never a sale, a credit note is a *retur* that Coretax records against the original).
- Every figure is the one frozen on the invoice: per line ``TaxBase`` = DPP, ``OtherTaxBase`` = DPP Nilai Lain
  (to the sen), ``VATRate`` = the rule's rate in percent, ``VAT`` = the line's PPN. So the sum of ``VAT`` is the
  invoice's PPN to the rupiah.
- The transaction code is the invoice's (04 for DPP Nilai Lain), ``RefDesc`` is our invoice number, the date
  is the invoice's tax date (Asia/Jakarta).
- The buyer: an NPWP buyer as ``TIN`` with its 16-digit NPWP and 22-digit NITKU; a NIK / passport / other-ID
  buyer with TIN ``0000000000000000``, the document number and IDTKU ``000000`` (as Coretax and Odoo do); a
  buyer with no identity at all as ``Other`` with number ``-``.
- Built with lxml and checked against ``TaxInvoiceBulk.xsd`` before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from lxml import etree

from core.tax_ids import (
    DEFAULT_PLACE_CODE,
    DOCUMENT_OTHER,
    DOCUMENT_TIN,
    normalize_nitku,
    normalize_npwp,
)

from ..models import EfakturSettings, Invoice

__all__ = ["XSD_PATH", "EfakturError", "efaktur_xml", "efaktur_schema", "efaktur_validate", "exportable"]

XSD_PATH = Path(__file__).with_name("TaxInvoiceBulk.xsd")
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NO_TIN = "0" * 16


class EfakturError(ValueError):
    """The invoices cannot be exported as they are (e.g. the seller has no valid NPWP)."""


@cache
def efaktur_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def efaktur_validate(xml: bytes) -> None:
    """Raise ``EfakturError`` naming the first problem when ``xml`` does not follow the XSD."""
    schema = efaktur_schema()
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise EfakturError(str(schema.error_log.last_error))


def exportable(queryset) -> Iterable[Invoice]:
    """The tax invoices among ``queryset``: issued or paid, not credit notes, by tax date and number."""
    return (
        queryset.filter(status__in=[Invoice.Status.ISSUED, Invoice.Status.PAID])
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .exclude(number__isnull=True)
        .prefetch_related("lines")
        .order_by("tax_date", "number")
    )


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def _plain(value) -> str:
    """A quantity or a price as a plain decimal: ``10000``, ``333.5``."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _percent(rate) -> str:
    return _plain(Decimal(rate) * 100)


def _sub(parent, tag: str, text: str = "") -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text:
        element.text = text
    return element


def _seller_tin(invoices: list[Invoice]) -> str:
    npwps = {invoice.seller_npwp for invoice in invoices}
    if len(npwps) != 1:
        raise EfakturError("One export is one seller: these invoices carry different seller NPWPs.")
    try:
        tin = normalize_npwp(npwps.pop())
    except ValidationError as exc:
        raise EfakturError("The seller NPWP on these invoices is not a valid NPWP.") from exc
    if not tin:
        raise EfakturError("The invoices have no seller NPWP (set SELLER_NPWP).")
    return tin


def _buyer(invoice: Invoice) -> dict:
    document = invoice.buyer_document_type or DOCUMENT_TIN
    if document == DOCUMENT_TIN:
        try:
            tin = normalize_npwp(invoice.buyer_npwp)
        except ValidationError:
            tin = ""
        if tin:
            try:
                idtku = normalize_nitku(invoice.buyer_nitku, npwp=tin)
            except ValidationError:
                idtku = tin + DEFAULT_PLACE_CODE
            return {"tin": tin, "document": DOCUMENT_TIN, "number": "", "idtku": idtku}
        return {"tin": NO_TIN, "document": DOCUMENT_OTHER, "number": "-", "idtku": DEFAULT_PLACE_CODE}
    return {
        "tin": NO_TIN,
        "document": document,
        "number": invoice.buyer_document_number or "-",
        "idtku": DEFAULT_PLACE_CODE,
    }


def _seller_idtku(invoice: Invoice, tin: str) -> str:
    try:
        return normalize_nitku(invoice.seller_nitku, npwp=tin)
    except ValidationError:
        return tin + DEFAULT_PLACE_CODE


def efaktur_xml(invoices: Iterable[Invoice], *, codes: EfakturSettings | None = None) -> bytes:
    """One ``TaxInvoiceBulk`` document for ``invoices`` (pass them through :func:`exportable`), validated
    against the XSD. Raises ``EfakturError`` when there is nothing to export or the seller is not set."""
    invoices = list(invoices)
    if not invoices:
        raise EfakturError("No tax invoice to export (issued or paid invoices; no drafts, voids or credit notes).")
    codes = codes or EfakturSettings.load()
    tin = _seller_tin(invoices)
    root = etree.Element("TaxInvoiceBulk", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", "TaxInvoice.xsd")
    _sub(root, "TIN", tin)
    listing = _sub(root, "ListOfTaxInvoice")
    for invoice in invoices:
        if invoice.tax_date is None or not invoice.number:
            raise EfakturError(f"Invoice {invoice.pk} has no number or tax date: only issued invoices are exported.")
        buyer = _buyer(invoice)
        node = _sub(listing, "TaxInvoice")
        _sub(node, "TaxInvoiceDate", invoice.tax_date.isoformat())
        _sub(node, "TaxInvoiceOpt", "Normal")
        _sub(node, "TrxCode", invoice.tax_trx_code or "01")
        _sub(node, "AddInfo")
        _sub(node, "CustomDoc")
        _sub(node, "RefDesc", invoice.number)
        _sub(node, "FacilityStamp")
        _sub(node, "SellerIDTKU", _seller_idtku(invoice, tin))
        _sub(node, "BuyerTin", buyer["tin"])
        _sub(node, "BuyerDocument", buyer["document"])
        _sub(node, "BuyerCountry", (invoice.buyer_country or "IDN").upper())
        _sub(node, "BuyerDocumentNumber", buyer["number"])
        _sub(node, "BuyerName", invoice.buyer_display_name)
        _sub(node, "BuyerAdress", " ".join(invoice.buyer_address.split()))
        _sub(node, "BuyerEmail", invoice.buyer_email)
        _sub(node, "BuyerIDTKU", buyer["idtku"])
        goods = _sub(node, "ListOfGoodService")
        for line in invoice.lines.all():
            item = _sub(goods, "GoodService")
            _sub(item, "Opt", "B")  # message credits and conversations are services
            _sub(item, "Code", codes.service_code)
            _sub(item, "Name", line.description)
            _sub(item, "Unit", codes.unit_code)
            _sub(item, "Price", _plain(line.unit_price))
            _sub(item, "Qty", _plain(line.quantity))
            _sub(item, "TotalDiscount", _money(0))
            _sub(item, "TaxBase", _money(line.tax_base))
            _sub(item, "OtherTaxBase", _money(line.other_tax_base))
            _sub(item, "VATRate", _percent(line.tax_rate))
            _sub(item, "VAT", _money(line.tax))
            _sub(item, "STLGRate", "0")
            _sub(item, "STLG", _money(0))
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    efaktur_validate(xml)
    return xml
