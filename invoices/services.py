"""Invoices: numbering, issuing, paying, voiding, PDFs and e-mail.

Rules enforced here:

- Numbers ``INV/YYYY/MM/NNNNNN`` are assigned when an invoice is issued, in the same transaction, under a
  row lock on the month's :class:`~invoices.models.InvoiceNumberCounter` (month by Asia/Jakarta). A rolled
  back issue rolls back its number too, so numbers are gapless, unique and restart at 000001 each month
  (invariant 6).
- Tax is computed per line and rounded half-up to whole rupiah; the invoice totals are the line sums
  (invariant 8).
- Buyer and seller details are frozen at creation.
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
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import audit_record

from . import outgoing
from .models import Invoice, InvoiceLine, InvoiceNumberCounter

__all__ = [
    "InvoiceError",
    "invoice_create",
    "invoice_issue",
    "invoice_mark_paid",
    "invoice_void",
    "invoice_credit_note",
    "invoice_void_by_staff",
    "invoice_credit_note_by_staff",
    "invoice_resend_by_staff",
    "invoice_render_pdf",
    "invoice_pdf_bytes",
    "invoice_send_email",
    "invoice_number_next",
    "line_amounts",
]

logger = logging.getLogger(__name__)

JAKARTA = ZoneInfo("Asia/Jakarta")
NUMBER_SERIES = {Invoice.Kind.CREDIT_NOTE: "CN"}
STATEMENT_DUE_DAYS = 14
BUYER_KEYS = ("name", "legal_name", "npwp", "address", "email")
EMAIL_CLAIM_MINUTES = 15


class InvoiceError(ValueError):
    """An invoice action that the invoice's state does not allow."""


def round_rupiah(value: Decimal) -> int:
    """Half-up to whole rupiah (invariant 8)."""
    return int(Decimal(value).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def line_amounts(*, quantity: int, unit_price, tax_rate) -> tuple[int, int]:
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
    }
    snapshot = {}
    for key in BUYER_KEYS:
        value = buyer.get(key)
        snapshot[key] = (defaults[key] if value is None else str(value).strip()) or ""
    if not snapshot["name"]:
        snapshot["name"] = organization.name
    if not snapshot["email"]:
        snapshot["email"] = defaults["email"]
    return snapshot


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
        return issued_at + timedelta(days=STATEMENT_DUE_DAYS)
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
) -> Invoice:
    """Create an invoice with its lines (each ``description``, ``quantity``, ``unit_price`` and optional
    ``tax_rate``, default ``settings.TAX_RATE``). Tax per line, half-up to whole rupiah. Buyer details are
    frozen now (``buyer`` keys override the organization's billing info). With ``issue=True`` (default)
    the invoice is numbered in this same transaction."""
    if not lines:
        raise ValueError("An invoice needs at least one line.")
    snapshot = _buyer_snapshot(organization, buyer)
    seller = settings.SELLER
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
        seller_name=seller.get("name", ""),
        seller_npwp=seller.get("npwp", ""),
        seller_address=seller.get("address", ""),
        seller_email=seller.get("email", ""),
        due_at=due_at,
        corrects=corrects,
    )
    subtotal = tax = 0
    objs = []
    for position, line in enumerate(lines, start=1):
        quantity = int(line["quantity"])
        unit_price = line["unit_price"]
        if isinstance(unit_price, float):
            raise TypeError("Money is never a float: pass int or Decimal.")
        unit_price = Decimal(unit_price)
        tax_rate = Decimal(line.get("tax_rate", settings.TAX_RATE))
        if quantity < 0 or unit_price < 0 or tax_rate < 0:
            raise ValueError("Invoice lines cannot be negative.")
        amount, line_tax = line_amounts(quantity=quantity, unit_price=unit_price, tax_rate=tax_rate)
        subtotal += amount
        tax += line_tax
        objs.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=str(line["description"])[:255],
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                tax_rate=tax_rate,
                tax=line_tax,
            )
        )
    InvoiceLine.objects.bulk_create(objs)
    invoice.subtotal, invoice.tax, invoice.total = subtotal, tax, subtotal + tax
    invoice.save(update_fields=["subtotal", "tax", "total"])
    if issue:
        invoice = invoice_issue(invoice=invoice)
    return invoice


@transaction.atomic
def invoice_issue(*, invoice: Invoice, issued_at: datetime | None = None) -> Invoice:
    """Draft → issued: take the next number of the issue month under the counter lock. Issuing an
    already issued invoice changes nothing."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.DRAFT:
        return invoice
    issued_at = issued_at or timezone.now()
    series = NUMBER_SERIES.get(invoice.kind, "INV")
    invoice.number = invoice_number_next(when=issued_at, series=series)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = issued_at
    invoice.due_at = invoice.due_at or _default_due(invoice, issued_at)
    invoice.save(update_fields=["number", "status", "issued_at", "due_at"])
    outgoing.invoice_changed(invoice)
    _queue_render(invoice)
    return invoice


def _copy_lines(invoice: Invoice) -> list[dict]:
    return [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "tax_rate": line.tax_rate,
        }
        for line in invoice.lines.all()
    ]


def _buyer_of(invoice: Invoice) -> dict:
    return {
        "name": invoice.buyer_name,
        "legal_name": invoice.buyer_legal_name,
        "npwp": invoice.buyer_npwp,
        "address": invoice.buyer_address,
        "email": invoice.buyer_email,
    }


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, paid_at: datetime | None = None, payment_reference: str = "") -> Invoice:
    """Mark an invoice paid, once: a second call (duplicate notification) returns it unchanged. A draft is
    issued first. A void invoice paid late is not revived: a replacement invoice with the same lines and
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
            buyer=_buyer_of(invoice),
            kind=invoice.kind,
            reference=invoice.reference,
            corrects=invoice,
        )
        return invoice_mark_paid(invoice=replacement, paid_at=paid_at, payment_reference=payment_reference)
    if invoice.status == Invoice.Status.DRAFT:
        invoice = invoice_issue(invoice=invoice)
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_at or timezone.now()
    invoice.payment_reference = (payment_reference or "")[:128]
    invoice.save(update_fields=["status", "paid_at", "payment_reference"])
    outgoing.invoice_changed(invoice)
    _queue_render(invoice)
    _queue_email(invoice)
    return invoice


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
        buyer=_buyer_of(invoice),
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
        if invoice.status == Invoice.Status.DRAFT:
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


# --- PDFs and e-mail -----------------------------------------------------------------------------------


def invoice_render_pdf(*, invoice: Invoice) -> Invoice:
    """Render the invoice PDF for its current status and store it (replacing the previous file)."""
    from .pdf import render_invoice_pdf

    if invoice.status == Invoice.Status.DRAFT:
        return invoice
    content = render_invoice_pdf(invoice)
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
    return bool(invoice.pdf) and invoice.pdf_status == invoice.status and invoice.pdf.storage.exists(invoice.pdf.name)


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The stored PDF; rendered (and stored) only when it is missing or shows an older status."""
    if invoice.status == Invoice.Status.DRAFT:
        from .pdf import render_invoice_pdf

        return render_invoice_pdf(invoice)
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
        if not invoice.buyer_email or invoice.status == Invoice.Status.DRAFT:
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
        pdf = invoice_pdf_bytes(invoice=invoice)
        subject, body = _email_text(invoice)
        message = EmailMessage(subject=subject, body=body, to=[invoice.buyer_email])
        message.attach(invoice.pdf_filename, pdf, "application/pdf")
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
    from core.money import format_rupiah

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
