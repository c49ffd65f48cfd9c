"""Notifications that lead to payment of monthly statements: "statement issued", then the daily reminders
"due soon" (3 days before), "due today" and "overdue" (DESIGN.md "Periodic jobs": invoice reminders).

Rules enforced here:

- Each e-mail goes to the organization's members who may pay (owners and admins), each in their own language,
  and to the statement's invoice address; dates are in WIB; the link is the statement's payable page.
- E-mails go through ``core.emails.email_send`` into the logged outbox (``billing.OutboundEmail``): written in
  the transaction of their cause, delivered after commit with retries, never marked sent when they failed.
- One reminder of each kind per statement: an :class:`~invoices.models.InvoiceReminder` row, unique per
  (invoice, kind), is written in the same transaction as its e-mails. Running the job twice, or in two workers
  at once, sends nothing more (invariant 9).
- A reminder is only sent while its moment is current: a statement already overdue when the job first sees it
  gets the overdue reminder, not a stale "due soon". Paid, void and credited invoices get none.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership
from core.emails import WIB, Recipient, email_send, recipient_for_user

from .models import Invoice, InvoiceReminder

__all__ = ["DUE_SOON_DAYS", "statement_issued_notify", "reminder_kind_for", "invoice_reminders_send"]

logger = logging.getLogger(__name__)

DUE_SOON_DAYS = 3
TEMPLATE = "invoices/email/statement"


def _recipients(invoice: Invoice) -> list[Recipient]:
    memberships = Membership.objects.filter(
        organization_id=invoice.organization_id,
        role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
        user__is_active=True,
    ).select_related("user")
    recipients = [recipient_for_user(m.user) for m in memberships.order_by("created_at")]
    known = {r.email.lower() for r in recipients}
    if invoice.buyer_email and invoice.buyer_email.lower() not in known:
        recipients.append(Recipient(invoice.buyer_email, settings.LANGUAGE_CODE))
    return recipients


def _context(invoice: Invoice, kind: str, now: datetime) -> dict:
    due = timezone.localtime(invoice.due_at, WIB) if invoice.due_at else None
    days_late = (timezone.localtime(now, WIB).date() - due.date()).days if due else 0
    return {
        "invoice": invoice,
        "organization": invoice.organization,
        "kind": kind,
        "due_at": invoice.due_at,
        "days_late": max(days_late, 0),
        "pay_url": f"{settings.SITE_URL}/billing/invoices/{invoice.pk}/",
    }


def _send(invoice: Invoice, kind: str, now: datetime) -> int:
    queued = email_send(
        kind=f"statement_{kind}",
        template=TEMPLATE,
        context=_context(invoice, kind, now),
        recipients=_recipients(invoice),
        organization=invoice.organization,
        dedupe_key=f"statement_{kind}:{invoice.pk}",
    )
    return len(queued)


def statement_issued_notify(*, invoice: Invoice, now: datetime | None = None) -> int:
    """The "statement issued" e-mail, queued in the issuing transaction (sent after it commits). Idempotent
    through the outbox's dedupe key. Returns the number of e-mails queued."""
    if invoice.kind != Invoice.Kind.STATEMENT or invoice.status != Invoice.Status.ISSUED:
        return 0
    return _send(invoice, "issued", now or timezone.now())


def reminder_kind_for(invoice: Invoice, *, today: date) -> str | None:
    """Which reminder is current for an unpaid statement on ``today`` (Asia/Jakarta): due soon within
    ``DUE_SOON_DAYS`` before the due date, due today on it, overdue after it; None otherwise."""
    if invoice.due_at is None or invoice.status != Invoice.Status.ISSUED or invoice.is_credit_note:
        return None
    due = timezone.localtime(invoice.due_at, WIB).date()
    if today > due:
        return InvoiceReminder.Kind.OVERDUE
    if today == due:
        return InvoiceReminder.Kind.DUE_TODAY
    if (due - today).days <= DUE_SOON_DAYS:
        return InvoiceReminder.Kind.DUE_SOON
    return None


def _remind(invoice_id, *, today: date, now: datetime) -> str | None:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(skip_locked=True).filter(pk=invoice_id).first()
        if invoice is None:
            return None  # being paid or reminded by another worker right now: the next run sees it
        kind = reminder_kind_for(invoice, today=today)
        if kind is None:
            return None
        try:
            with transaction.atomic():
                reminder = InvoiceReminder.objects.create(invoice=invoice, kind=kind, sent_at=now)
        except IntegrityError:
            return None  # this reminder was sent already
        reminder.recipients = _send(invoice, kind, now)
        reminder.save(update_fields=["recipients"])
        return kind


def invoice_reminders_send(*, now: datetime | None = None, limit: int = 1000) -> dict:
    """The daily job: every unpaid statement whose current reminder (due soon, due today, overdue) has not
    been sent gets it, once. Returns ``{kind: count}``. Idempotent, safe in two workers at once."""
    now = now or timezone.now()
    today = timezone.localtime(now, WIB).date()
    horizon = datetime.combine(today + timedelta(days=DUE_SOON_DAYS + 1), datetime.min.time(), tzinfo=WIB)
    candidates = (
        Invoice.objects.filter(kind=Invoice.Kind.STATEMENT, status=Invoice.Status.ISSUED, due_at__lt=horizon)
        .exclude(reminders__kind=InvoiceReminder.Kind.OVERDUE)  # the last one: nothing more to send
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    outcome: dict[str, int] = {}
    for invoice_id in list(candidates):
        kind = _remind(invoice_id, today=today, now=now)
        if kind:
            outcome[kind] = outcome.get(kind, 0) + 1
    return outcome
