"""Invoices: numbering, issuing, paying, voiding, PDFs and e-mail.

Rules enforced here:

- Invoices are issued for real sales only. Pay Now makes an unnumbered **payment request** (pro-forma,
  status ``request``, :func:`invoice_request_create`); it is numbered, in the payment's transaction, when the
  payment is confirmed (:func:`invoice_mark_paid`). A request whose session expires or is cancelled is
  ``closed`` (:func:`invoice_request_close`): still unnumbered, never a void invoice, so an abandoned checkout
  uses no number. Monthly statements are issued numbered (a bill for what was used), due
  ``settings.STATEMENT_DUE_DAYS`` (14) days after issue.
- Numbers ``INV/YYYY/MM/NNNNNN`` are assigned when an invoice is issued, in the same transaction, under a
  row lock on the month's :class:`~invoices.models.InvoiceNumberCounter` (month by Asia/Jakarta). A rolled
  back issue rolls back its number too, so numbers are gapless, unique and restart at 000001 each month
  (invariant 6).
- Tax follows the :class:`~invoices.models.TaxRule` in force on the invoice's tax date (``invoices.tax``):
  per line DPP, DPP Nilai Lain (to the sen) and PPN (half-up to whole rupiah); the invoice totals are the
  line sums (invariant 8). The terms are copied onto the invoice, so a rule edited later never changes it;
  a credit note or a replacement uses the terms of the invoice it corrects.
- Buyer and seller details, their tax identity (NPWP, NIK/passport, NITKU) included, are frozen at creation.
- A paid invoice is never edited. ``invoice_void`` refuses a paid invoice; the correction path for a paid
  invoice is ``invoice_credit_note``, which issues a credit note (its own ``CN/YYYY/MM/NNNNNN`` series, so
  the ``INV`` series stays gapless) pointing at the paid invoice, which stays as it was.
- A payment that arrives for a void invoice (an expired payment session paid late) is never lost:
  ``invoice_mark_paid`` issues a replacement invoice with the same lines and buyer, marked paid, and returns
  it (the void one stays void).
- PDFs are rendered after commit when an invoice is issued and whenever its status changes; the paid
  invoice's PDF is e-mailed once to the invoice address by a retrying task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import audit_record
from core.money import format_rupiah
from core.tax_ids import (
    DEFAULT_PLACE_CODE,
    DOCUMENT_TIN,
    DOCUMENT_TYPES,
    normalize_document_number,
    normalize_nitku,
    normalize_npwp,
)
from core.texts import stored_text

from . import outgoing, pdf
from .models import LINE_DESCRIPTIONS, Invoice, InvoiceLine, InvoiceNumberCounter
from .reminders import statement_issued_notify
from .selectors import invoice_open_payment
from .tax import TaxTerms, tax_date_of, tax_terms_of_invoice, tax_terms_on

__all__ = [
    "InvoiceError",
    "invoice_create",
    "invoice_request_create",
    "invoice_request_close",
    "invoice_issue",
    "invoice_settle",
    "invoice_mark_paid",
    "invoice_void",
    "invoice_credit_note",
    "invoice_void_by_staff",
    "invoice_credit_note_by_staff",
    "invoice_resend_by_staff",
    "invoice_record_nsfp",
    "invoice_record_nsfp_batch",
    "normalize_nsfp",
    "NsfpBatchResult",
    "invoice_render_pdf",
    "invoice_pdf_bytes",
    "invoice_send_email",
    "invoice_number_next",
    "line_amounts",
]

logger = logging.getLogger(__name__)

JAKARTA = ZoneInfo("Asia/Jakarta")
NUMBER_SERIES: dict[str, str] = {Invoice.Kind.CREDIT_NOTE: "CN"}
BUYER_KEYS = ("name", "legal_name", "npwp", "address", "email", "document_type", "document_number", "nitku", "country")
EMAIL_CLAIM_MINUTES = 15


class InvoiceError(ValueError):
    """An invoice action that the invoice's state does not allow."""


def round_rupiah(value: Decimal) -> int:
    """Half-up to whole rupiah (invariant 8)."""
    return int(Decimal(value).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def line_amounts(*, quantity: int, unit_price: Decimal | int, tax_rate: Decimal | int) -> tuple[int, int]:
    """(amount, tax) of one line in whole rupiah, each rounded half-up."""
    if isinstance(unit_price, float) or isinstance(tax_rate, float):
        raise TypeError("Money is never a float: pass int or Decimal.")
    amount = round_rupiah(Decimal(quantity) * Decimal(unit_price))
    tax = round_rupiah(Decimal(amount) * Decimal(tax_rate))
    return amount, tax


def _buyer_snapshot(organization: Organization, buyer: dict | None) -> dict:
    buyer = buyer or {}
    unknown = set(buyer) - set(BUYER_KEYS)
    if unknown:
        raise ValueError(f"Unknown buyer fields: {sorted(unknown)}")
    owner_email = ""
    if not organization.invoice_email:
        membership = organization.memberships.filter(role="owner").select_related("user").order_by("created_at").first()
        owner_email = membership.user.email if membership else ""
    defaults = {
        "name": organization.name,
        "legal_name": organization.legal_name,
        "npwp": organization.npwp,
        "address": organization.address,
        "email": organization.invoice_email or owner_email,
        "document_type": getattr(organization, "tax_document_type", "") or DOCUMENT_TIN,
        "document_number": getattr(organization, "tax_document_number", ""),
        "nitku": getattr(organization, "nitku", ""),
        "country": getattr(organization, "tax_country", "") or "IDN",
    }
    snapshot = {}
    for key in BUYER_KEYS:
        value = buyer.get(key)
        snapshot[key] = (defaults[key] if value is None else str(value).strip()) or ""
    if not snapshot["name"]:
        snapshot["name"] = organization.name
    if not snapshot["email"]:
        snapshot["email"] = defaults["email"]
    return _tax_identity(snapshot)


def _tax_identity(snapshot: dict) -> dict:
    """The buyer's tax identity in Coretax's form: the NPWP is kept as typed (printed as before; the export
    converts it to 16 digits), its NITKU is the 22-digit NPWP (a legacy 15-digit one converted, ``0`` in
    front) + place code (``000000`` unless given); a NIK / passport / other ID number is normalized. Forms
    validate what people type; here a value that does not parse (old data) is kept as typed rather than
    blocking a paid sale."""
    known = {code for code, _label in DOCUMENT_TYPES}
    if snapshot["document_type"] not in known:
        snapshot["document_type"] = DOCUMENT_TIN
    try:
        npwp16 = normalize_npwp(snapshot["npwp"])  # the NPWP itself stays as typed, as printed before
    except ValidationError:
        npwp16 = ""
    if snapshot["document_type"] == DOCUMENT_TIN:
        snapshot["document_number"] = ""
        try:
            snapshot["nitku"] = normalize_nitku(snapshot["nitku"], npwp=npwp16) if npwp16 else ""
        except ValidationError:
            snapshot["nitku"] = npwp16 + DEFAULT_PLACE_CODE if npwp16 else ""
    else:
        snapshot["nitku"] = ""
        if snapshot["document_number"]:
            try:
                snapshot["document_number"] = normalize_document_number(
                    snapshot["document_type"], snapshot["document_number"]
                )
            except ValidationError:
                pass
    snapshot["country"] = (snapshot["country"] or "IDN").upper()[:3]
    return snapshot


def _seller_snapshot() -> dict:
    """The seller from ``settings.SELLER``: its NPWP in Coretax's 16 digits and its NITKU (``SELLER_NITKU``,
    else NPWP + 000000)."""
    seller = dict(settings.SELLER)
    npwp = seller.get("npwp", "")
    try:
        npwp16 = normalize_npwp(npwp)
    except ValidationError:
        npwp16 = ""
    nitku = str(seller.get("nitku") or getattr(settings, "SELLER_NITKU", ""))
    try:
        nitku = normalize_nitku(nitku, npwp=npwp16) if npwp16 else normalize_nitku(nitku)
    except ValidationError:
        nitku = npwp16 + DEFAULT_PLACE_CODE if npwp16 else ""
    seller["nitku"] = nitku
    return seller


def invoice_number_next(*, when: datetime, series: str = "INV") -> str:
    """Take the next number of ``when``'s month (Asia/Jakarta). Must run inside the issuing transaction:
    the counter row stays locked until it commits, and a rollback gives the number back."""
    local = timezone.localtime(when, JAKARTA)
    # Create the month's row if missing without failing when another transaction races us to it
    # (ON CONFLICT DO NOTHING waits for that transaction, then we lock the row it made).
    InvoiceNumberCounter.objects.bulk_create(
        [InvoiceNumberCounter(series=series, year=local.year, month=local.month, last_number=0)],
        ignore_conflicts=True,
    )
    counter = InvoiceNumberCounter.objects.select_for_update().get(series=series, year=local.year, month=local.month)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}/{local.year:04d}/{local.month:02d}/{counter.last_number:06d}"


def _queue_render(invoice: Invoice) -> None:
    from .tasks import render_invoice_pdf

    invoice_id = str(invoice.pk)
    transaction.on_commit(lambda: render_invoice_pdf.delay(invoice_id))


def _queue_email(invoice: Invoice, *, force: bool = False) -> None:
    from .tasks import email_invoice

    invoice_id = str(invoice.pk)
    transaction.on_commit(lambda: email_invoice.delay(invoice_id, force=force))


def _default_due(invoice: Invoice, issued_at: datetime) -> datetime:
    if invoice.kind == Invoice.Kind.STATEMENT:
        return issued_at + timedelta(days=settings.STATEMENT_DUE_DAYS)
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return issued_at
    return issued_at + timedelta(hours=settings.PAYMENT_SESSION_HOURS)


@transaction.atomic
def invoice_create(
    *,
    organization: Organization,
    lines: list[dict],
    buyer: dict | None = None,
    kind: str = Invoice.Kind.PURCHASE,
    reference: str = "",
    issue: bool = True,
    due_at: datetime | None = None,
    corrects: Invoice | None = None,
    tax_date: date | datetime | None = None,
) -> Invoice:
    """Create an invoice with its lines (each ``description``, ``quantity``, ``unit_price`` and optional
    ``tax_rate``, an override of the rule's rate for that line, e.g. 0). Saldo's own lines give ``code`` (one of
    ``LINE_DESCRIPTIONS``) and ``params`` instead of (or beside) ``description``: the stored description is then
    their English text and pages show them in the reader's language. The tax terms are those of the rule in
    force on ``tax_date`` (default today in Asia/Jakarta) or, for a credit note or replacement (``corrects``),
    those frozen on the corrected invoice; per line DPP, DPP Nilai Lain and PPN as ``invoices.tax`` rounds them.
    Buyer details are frozen now (``buyer`` keys override the organization's billing info). With
    ``issue=True`` (default) the invoice is numbered in this same transaction."""
    if not lines:
        raise ValueError("An invoice needs at least one line.")
    snapshot = _buyer_snapshot(organization, buyer)
    seller = _seller_snapshot()
    if corrects is not None and tax_date is None:
        terms: TaxTerms = tax_terms_of_invoice(corrects)
        day = corrects.tax_date or tax_date_of(corrects.issued_at or corrects.created_at)
    else:
        day = tax_date_of(tax_date)
        terms = tax_terms_on(day)
    invoice = Invoice.objects.create(
        organization=organization,
        kind=kind,
        status=Invoice.Status.DRAFT,
        reference=reference,
        currency=getattr(settings, "CURRENCY", "IDR"),
        buyer_name=snapshot["name"][:200],
        buyer_legal_name=snapshot["legal_name"][:200],
        buyer_npwp=snapshot["npwp"][:32],
        buyer_address=snapshot["address"],
        buyer_email=snapshot["email"],
        buyer_document_type=snapshot["document_type"],
        buyer_document_number=snapshot["document_number"][:32],
        buyer_nitku=snapshot["nitku"][:22],
        buyer_country=snapshot["country"],
        seller_name=seller.get("name", ""),
        seller_npwp=seller.get("npwp", ""),
        seller_nitku=seller.get("nitku", "")[:22],
        seller_address=seller.get("address", ""),
        seller_email=seller.get("email", ""),
        due_at=due_at,
        corrects=corrects,
        tax_date=day,
        tax_rule_id=terms.rule_id,
        tax_rate=terms.rate,
        tax_base_kind=terms.base_kind,
        tax_base_numerator=terms.numerator,
        tax_base_denominator=terms.denominator,
        tax_trx_code=terms.trx_code,
    )
    subtotal = tax = 0
    other_total = Decimal(0)
    objs = []
    for position, line in enumerate(lines, start=1):
        quantity = int(line["quantity"])
        unit_price = line["unit_price"]
        if isinstance(unit_price, float) or isinstance(line.get("tax_rate"), float):
            raise TypeError("Money is never a float: pass int or Decimal.")
        unit_price = Decimal(unit_price)
        tax_rate = terms.rate if line.get("tax_rate") is None else Decimal(line["tax_rate"])
        if quantity < 0 or unit_price < 0 or tax_rate < 0:
            raise ValueError("Invoice lines cannot be negative.")
        amount = round_rupiah(Decimal(quantity) * unit_price)
        other_base, line_tax = terms.line(amount, tax_rate)
        subtotal += amount
        tax += line_tax
        other_total += other_base
        code, params = line.get("code") or "", line.get("params")
        if code and code not in LINE_DESCRIPTIONS:
            raise ValueError(f"unknown invoice line code {code!r}")
        description = line.get("description") or (stored_text(LINE_DESCRIPTIONS, code, params) if code else "")
        objs.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=str(description)[:255],
                description_code=code,
                description_params=(params or {}) if code else None,
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                tax_rate=tax_rate,
                tax=line_tax,
                tax_base=amount,
                other_tax_base=other_base,
            )
        )
    InvoiceLine.objects.bulk_create(objs)
    invoice.subtotal, invoice.tax, invoice.total = subtotal, tax, subtotal + tax
    invoice.tax_base, invoice.other_tax_base = subtotal, other_total
    invoice.save(update_fields=["subtotal", "tax", "total", "tax_base", "other_tax_base"])
    if issue:
        invoice = invoice_issue(invoice=invoice)
    return invoice


@transaction.atomic
def invoice_request_create(
    *,
    organization: Organization,
    lines: list[dict],
    buyer: dict | None = None,
    kind: str = Invoice.Kind.PURCHASE,
    reference: str = "",
    due_at: datetime | None = None,
    tax_date: date | datetime | None = None,
) -> Invoice:
    """Pay Now's payment request (pro-forma): the lines, tax and buyer of the invoice to be, with no number.
    It becomes the numbered invoice only when its payment is confirmed (:func:`invoice_mark_paid`). Its tax
    terms are those of ``tax_date`` (the quote's day), so the amount paid is the amount quoted."""
    invoice = invoice_create(
        organization=organization,
        lines=lines,
        buyer=buyer,
        kind=kind,
        reference=reference,
        issue=False,
        due_at=due_at,
        tax_date=tax_date,
    )
    invoice.status = Invoice.Status.REQUEST
    invoice.save(update_fields=["status"])
    return invoice


@transaction.atomic
def invoice_request_close(*, invoice: Invoice, reason: str) -> Invoice:
    """An open payment request whose session expired or was cancelled: ``closed``, still unnumbered (no
    void invoice, no number used). Anything but an open request is returned unchanged: a closed request stays
    closed, and an issued invoice is never closed this way. A payment that still arrives later numbers it and
    marks it paid (money is never lost)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.REQUEST:
        return invoice
    invoice.status = Invoice.Status.CLOSED
    invoice.voided_at = timezone.now()
    invoice.void_reason = (reason or "").strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    return invoice


@transaction.atomic
def invoice_issue(*, invoice: Invoice, issued_at: datetime | None = None) -> Invoice:
    """Draft or payment request → issued: take the next number of the issue month under the counter lock.
    Issuing an already issued invoice changes nothing."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in Invoice.UNNUMBERED:
        return invoice
    issued_at = issued_at or timezone.now()
    series = NUMBER_SERIES.get(invoice.kind, "INV")
    was_request = invoice.is_request
    invoice.number = invoice_number_next(when=issued_at, series=series)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = issued_at
    invoice.due_at = invoice.due_at or _default_due(invoice, issued_at)
    if was_request:
        # A request numbered at payment: its closing (a late payment) is not part of the invoice.
        invoice.voided_at, invoice.void_reason = None, ""
    invoice.save(update_fields=["number", "status", "issued_at", "due_at", "voided_at", "void_reason"])
    outgoing.invoice_changed(invoice)
    _queue_render(invoice)
    statement_issued_notify(invoice=invoice)  # a statement is a bill: tell who pays it (after commit)
    return invoice


def _copy_lines(invoice: Invoice) -> list[dict]:
    return [
        {
            "description": line.description,
            "code": line.description_code,
            "params": line.description_params,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "tax_rate": line.tax_rate,
        }
        for line in invoice.lines.all()
    ]


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, paid_at: datetime | None = None, payment_reference: str = "") -> Invoice:
    """Mark an invoice paid, once: a second call (duplicate notification) returns it unchanged. A draft or a
    payment request (open or closed) is issued first: this is where a sale gets its number, in the payment's
    transaction. A void invoice paid late is not revived: a replacement invoice with the same lines and
    buyer is issued and marked paid, and returned. Queues the PDF re-render and the e-mail on commit."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.PAID:
        return invoice
    if invoice.is_credit_note:
        raise InvoiceError(_("A credit note cannot be paid."))
    if invoice.status == Invoice.Status.VOID:
        existing = invoice.corrections.filter(kind=invoice.kind).exclude(status=Invoice.Status.VOID).first()
        if existing is not None:
            return invoice_mark_paid(invoice=existing, paid_at=paid_at, payment_reference=payment_reference)
        replacement = invoice_create(
            organization=invoice.organization,
            lines=_copy_lines(invoice),
            buyer=invoice.buyer,
            kind=invoice.kind,
            reference=invoice.reference,
            corrects=invoice,
        )
        return invoice_mark_paid(invoice=replacement, paid_at=paid_at, payment_reference=payment_reference)
    if invoice.status in Invoice.UNNUMBERED:
        invoice = invoice_issue(invoice=invoice, issued_at=paid_at)
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_at or timezone.now()
    invoice.payment_reference = (payment_reference or "")[:128]
    invoice.save(update_fields=["status", "paid_at", "payment_reference"])
    outgoing.invoice_changed(invoice)
    _queue_render(invoice)
    _queue_email(invoice)
    return invoice


@transaction.atomic
def invoice_settle(
    *, invoice: Invoice, paid_at: datetime | None = None, payment_reference: str = ""
) -> tuple[Invoice, bool]:
    """A payment made for this invoice itself (its Pay button): under the invoice's row lock, mark it paid if
    it is still payable (issued, or a payment request) and say so. ``(invoice, False)`` when it was already
    paid, void or a credit note: the caller holds that money for staff review, it is never applied twice."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.is_credit_note or invoice.status in (Invoice.Status.PAID, Invoice.Status.VOID):
        return invoice, False
    return invoice_mark_paid(invoice=invoice, paid_at=paid_at, payment_reference=payment_reference), True


@transaction.atomic
def invoice_void(*, invoice: Invoice, reason: str, actor: User | None = None) -> Invoice:
    """Void an unpaid (draft or issued) invoice, with a reason. A void invoice keeps its number (no gap).
    A paid invoice is refused: use :func:`invoice_credit_note`. Voiding twice changes nothing. Joins the
    caller's transaction (a purchase that expires voids its invoice in its own); with ``actor`` it leaves an
    audit entry in that same transaction. Staff go through :func:`invoice_void_by_staff`."""
    if not (reason or "").strip():
        raise InvoiceError(_("A reason is required to void an invoice."))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.VOID:
        return invoice
    if invoice.status == Invoice.Status.PAID:
        raise InvoiceError(_("A paid invoice cannot be voided; issue a credit note instead."))
    if invoice.is_request:
        # A payment request has no number to void: it is closed instead (no number is used).
        return invoice_request_close(invoice=invoice, reason=reason)
    before = {"status": invoice.status}
    if invoice.status == Invoice.Status.DRAFT:
        # Number it so the void document is traceable; the number is still consecutive.
        invoice = invoice_issue(invoice=invoice)
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason.strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    outgoing.invoice_changed(invoice)
    if actor is not None:
        audit_record(
            action="invoice.void",
            actor=actor,
            organization=invoice.organization,
            target=invoice,
            before=before,
            after={"status": invoice.status},
            reason=invoice.void_reason,
        )
    _queue_render(invoice)
    return invoice


@transaction.atomic
def invoice_credit_note(*, invoice: Invoice, reason: str, actor: User | None = None) -> Invoice:
    """Cancel a paid invoice without editing it: issue a credit note (``CN/YYYY/MM/NNNNNN``) for its full
    amount that points at it. One credit note per invoice; a second call returns the first. Joins the
    caller's transaction (a refunded purchase review); with ``actor`` it leaves an audit entry in it."""
    if not (reason or "").strip():
        raise InvoiceError(_("A reason is required for a credit note."))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.PAID or invoice.is_credit_note:
        raise InvoiceError(_("Only a paid invoice gets a credit note; void an unpaid one."))
    existing = invoice.corrections.filter(kind=Invoice.Kind.CREDIT_NOTE).first()
    if existing is not None:
        return existing
    note = invoice_create(
        organization=invoice.organization,
        lines=_copy_lines(invoice),
        buyer=invoice.buyer,
        kind=Invoice.Kind.CREDIT_NOTE,
        reference=invoice.number or "",
        corrects=invoice,
    )
    note.void_reason = reason.strip()
    note.save(update_fields=["void_reason"])
    if actor is not None:
        audit_record(
            action="invoice.credit_note",
            actor=actor,
            organization=invoice.organization,
            target=invoice,
            before={"status": invoice.status},
            after={"credit_note": note.number},
            reason=note.void_reason,
        )
    return note


# --- staff actions: one durable transaction each, the change and its audit entry together ----------------


def _require_staff_reason(actor: User | None, reason: str) -> str:
    if actor is None or not getattr(actor, "pk", None):
        raise InvoiceError(_("A staff action needs the staff member who takes it."))
    if not (reason or "").strip():
        raise InvoiceError(_("A reason is required."))
    return reason.strip()


def invoice_void_by_staff(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Staff void an unpaid invoice: the void and its ``invoice.void`` audit entry commit or roll back
    together, in one top-level transaction."""
    reason = _require_staff_reason(actor, reason)
    with transaction.atomic(durable=True):
        return invoice_void(invoice=invoice, reason=reason, actor=actor)


def invoice_credit_note_by_staff(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Staff cancel a paid invoice with a credit note: the note and its ``invoice.credit_note`` audit entry
    commit or roll back together, in one top-level transaction."""
    reason = _require_staff_reason(actor, reason)
    with transaction.atomic(durable=True):
        return invoice_credit_note(invoice=invoice, reason=reason, actor=actor)


def invoice_resend_by_staff(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Staff send an issued invoice's PDF again to its invoice address. The ``invoice.resend`` audit entry is
    written in one top-level transaction and the e-mail is queued only when it commits (the send itself
    happens in the task, outside any lock)."""
    reason = _require_staff_reason(actor, reason)
    with transaction.atomic(durable=True):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status in Invoice.UNNUMBERED:
            raise InvoiceError(_("A draft has no PDF to send."))
        if not invoice.buyer_email:
            raise InvoiceError(_("The invoice has no e-mail address."))
        audit_record(
            action="invoice.resend",
            actor=actor,
            organization=invoice.organization,
            target=invoice,
            before={"emailed_at": invoice.emailed_at.isoformat() if invoice.emailed_at else None},
            after={"to": invoice.buyer_email},
            reason=reason,
        )
        _queue_email(invoice, force=True)
    return invoice


# --- Faktur Pajak numbers (NSFP) from DJP ---------------------------------------------------------------


def normalize_nsfp(value: str) -> str:
    """A Faktur Pajak number as DJP prints it: 16 digits in the e-Faktur form (``010.000-24.12345678``) or
    17 in Coretax's; dots, dashes and spaces dropped."""
    value = (value or "").strip()
    if any(not (ch in "0123456789" or ch in ".- ") for ch in value):
        raise InvoiceError(_("A Faktur Pajak number has 16 or 17 digits."))
    digits = "".join(ch for ch in value if ch in "0123456789")
    if len(digits) not in (16, 17) or set(digits) == {"0"}:
        raise InvoiceError(_("A Faktur Pajak number has 16 or 17 digits."))
    return digits


def _record_nsfp(*, invoice: Invoice, nsfp: str, actor: User, reason: str, source: str) -> tuple[Invoice, bool]:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID) or invoice.is_credit_note:
        raise InvoiceError(_("%(number)s is not a tax invoice (issued or paid).") % {"number": invoice})
    if invoice.nsfp == nsfp:
        return invoice, False
    other = Invoice.objects.filter(nsfp=nsfp).exclude(pk=invoice.pk).first()
    if other is not None:
        raise InvoiceError(
            _("Faktur Pajak %(nsfp)s is already recorded on %(number)s.") % {"nsfp": nsfp, "number": other}
        )
    before = {"nsfp": invoice.nsfp}
    invoice.nsfp = nsfp
    invoice.nsfp_recorded_at = timezone.now()
    invoice.save(update_fields=["nsfp", "nsfp_recorded_at"])
    audit_record(
        action="invoice.nsfp",
        actor=actor,
        organization=invoice.organization,
        target=invoice,
        before=before,
        after={"nsfp": nsfp, "source": source},
        reason=reason,
    )
    _queue_render(invoice)  # the PDF prints the number
    return invoice, True


def invoice_record_nsfp(*, invoice: Invoice, nsfp: str, actor: User, reason: str = "") -> Invoice:
    """Staff record the Faktur Pajak number DJP gave an issued or paid invoice. One NSFP belongs to one
    invoice; recording the same number again changes nothing; a different number replaces it (audited with
    the old one). The change and its ``invoice.nsfp`` audit entry commit together."""
    if actor is None or not getattr(actor, "pk", None):
        raise InvoiceError(_("A staff action needs the staff member who takes it."))
    nsfp = normalize_nsfp(nsfp)
    with transaction.atomic(durable=True):
        invoice, _changed = _record_nsfp(
            invoice=invoice, nsfp=nsfp, actor=actor, reason=(reason or "").strip(), source="manual"
        )
    return invoice


@dataclass
class NsfpBatchResult:
    recorded: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def invoice_record_nsfp_batch(*, rows: list[tuple[int, str, str]], actor: User, filename: str = "") -> NsfpBatchResult:
    """Record the NSFPs of DJP's export: ``(row, our invoice number, nsfp)`` each. Rows that name no invoice
    of ours, carry a malformed number or clash with another invoice are reported and skipped; the others are
    recorded (each with its audit entry) in one transaction."""
    if actor is None or not getattr(actor, "pk", None):
        raise InvoiceError(_("A staff action needs the staff member who takes it."))
    result = NsfpBatchResult()
    with transaction.atomic(durable=True):
        invoices = {inv.number: inv for inv in Invoice.objects.filter(number__in=[ref for _r, ref, _n in rows])}
        for row, reference, raw in rows:
            invoice = invoices.get(reference)
            if invoice is None:
                result.errors.append(_("Row %(row)s: no invoice %(ref)s.") % {"row": row, "ref": reference})
                continue
            try:
                with transaction.atomic():
                    _invoice, changed = _record_nsfp(
                        invoice=invoice,
                        nsfp=normalize_nsfp(raw),
                        actor=actor,
                        reason=_("DJP export %(file)s") % {"file": filename} if filename else "",
                        source="djp_export",
                    )
            except InvoiceError as exc:
                result.errors.append(
                    _("Row %(row)s (%(ref)s): %(error)s") % {"row": row, "ref": reference, "error": exc}
                )
                continue
            if changed:
                result.recorded += 1
            else:
                result.unchanged += 1
    return result


# --- PDFs and e-mail -----------------------------------------------------------------------------------


def invoice_render_pdf(*, invoice: Invoice) -> Invoice:
    """Render the invoice PDF for its current status and store it (replacing the previous file)."""
    if invoice.status in Invoice.UNNUMBERED:
        return invoice
    content = pdf.render_invoice_pdf(invoice)
    old_name = invoice.pdf.name if invoice.pdf else ""
    storage = invoice.pdf.storage
    invoice.pdf.save(invoice.pdf_filename, ContentFile(content), save=False)
    if old_name and old_name != invoice.pdf.name and storage.exists(old_name):
        storage.delete(old_name)
    invoice.pdf_status = invoice.status
    invoice.pdf_rendered_at = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf=invoice.pdf.name, pdf_status=invoice.pdf_status, pdf_rendered_at=invoice.pdf_rendered_at
    )
    return invoice


def _stored_pdf_ok(invoice: Invoice) -> bool:
    name = invoice.pdf.name or ""
    return bool(name) and invoice.pdf_status == invoice.status and invoice.pdf.storage.exists(name)


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The stored PDF; rendered (and stored) only when it is missing or shows an older status. A draft, a
    payment request and an unpaid invoice are rendered fresh: their how-to-pay block shows the payment
    session open now (its virtual account or QR), which a stored file would not."""
    if invoice.status in Invoice.UNNUMBERED or (invoice.is_payable and invoice_open_payment(invoice) is not None):
        return pdf.render_invoice_pdf(invoice)
    if not _stored_pdf_ok(invoice):
        invoice_render_pdf(invoice=invoice)
    with invoice.pdf.open("rb") as fh:
        return fh.read()


def invoice_send_email(*, invoice: Invoice, force: bool = False) -> bool:
    """E-mail the PDF of a paid invoice to its invoice address, once (``force`` re-sends, for staff).
    Claim, commit, send, record: the row is locked only to claim it (``email_claimed_at``), so two workers
    never send twice, and the PDF render and SMTP run with no lock held. A claim older than
    ``EMAIL_CLAIM_MINUTES`` (a worker that died mid-send) may be taken again. Returns whether a mail was
    sent; raises on a delivery failure (after recording it) so the task retries."""
    now = timezone.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if not invoice.buyer_email or invoice.status in Invoice.UNNUMBERED:
            return False
        if invoice.emailed_at is not None and not force:
            return False
        if invoice.status != Invoice.Status.PAID and not force:
            return False
        if invoice.email_claimed_at is not None and invoice.email_claimed_at > now - timedelta(
            minutes=EMAIL_CLAIM_MINUTES
        ):
            return False
        invoice.email_claimed_at = now
        invoice.save(update_fields=["email_claimed_at"])
    try:
        content = invoice_pdf_bytes(invoice=invoice)
        subject, body = _email_text(invoice)
        message = EmailMessage(subject=subject, body=body, to=[invoice.buyer_email])
        message.attach(invoice.pdf_filename, content, "application/pdf")
        message.send(fail_silently=False)
    except Exception as exc:
        Invoice.objects.filter(pk=invoice.pk).update(
            email_claimed_at=None,
            email_attempts=models.F("email_attempts") + 1,
            email_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    Invoice.objects.filter(pk=invoice.pk).update(
        email_claimed_at=None, emailed_at=timezone.now(), email_attempts=models.F("email_attempts") + 1, email_error=""
    )
    return True


def _email_text(invoice: Invoice) -> tuple[str, str]:
    if invoice.status == Invoice.Status.PAID:
        subject = _("Invoice %(number)s paid — thank you") % {"number": invoice.number}
        status_line = _("We received your payment of %(total)s on %(date)s.") % {
            "total": format_rupiah(invoice.total),
            "date": timezone.localtime(invoice.paid_at, JAKARTA).strftime("%d-%m-%Y %H:%M WIB"),
        }
    else:
        subject = _("Invoice %(number)s") % {"number": invoice.number}
        status_line = _("Status: %(status)s. Total: %(total)s.") % {
            "status": invoice.get_status_display(),
            "total": format_rupiah(invoice.total),
        }
    body = "\n\n".join(
        [
            _("Hello %(name)s,") % {"name": invoice.buyer_display_name},
            status_line,
            _("Your invoice %(number)s is attached as a PDF.") % {"number": invoice.number},
            _("You can also find it in Saldo: %(url)s")
            % {"url": f"{settings.SITE_URL}/billing/invoices/{invoice.pk}/"},
            invoice.seller_name,
        ]
    )
    return subject, body
