"""Outgoing events about invoices (events app): ``invoice.issued``, ``invoice.paid``, ``invoice.voided`` from the
services, in their transaction; ``invoice.overdue`` once per invoice from the daily job below. Payloads are the
invoice as ``GET /api/v1/invoices/<id>`` shows it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, TextField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

import events
from events import types
from events.models import Event

from .models import Invoice
from .serializers import InvoiceSerializer

_TYPES: dict[str, str] = {
    Invoice.Status.ISSUED: types.INVOICE_ISSUED,
    Invoice.Status.PAID: types.INVOICE_PAID,
    Invoice.Status.VOID: types.INVOICE_VOIDED,
}


def invoice_json(invoice: Invoice) -> dict:
    return InvoiceSerializer(invoice).data


def invoice_changed(invoice: Invoice) -> None:
    """After an invoice's status changed (issued, paid, void). Credit notes are not invoices the customer pays."""
    event_type = _TYPES.get(invoice.status)
    if event_type is None or invoice.is_credit_note:
        return
    events.emit(
        organization=invoice.organization,
        type=event_type,
        payload=invoice_json(invoice),
        dedupe_key=f"{event_type}:{invoice.pk}",
    )


def overdue_invoices_emit(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The daily job: every issued (unpaid) invoice past ``due_at`` tells ``invoice.overdue`` once (dedupe key per
    invoice, so running it twice or in two workers changes nothing more). Returns how many were written."""
    now = now or timezone.now()
    written = 0
    told = Event.objects.filter(
        organization_id=OuterRef("organization_id"),
        dedupe_key=Concat(Value(f"{types.INVOICE_OVERDUE}:"), Cast(OuterRef("pk"), TextField())),
    )
    due = (
        Invoice.objects.filter(status=Invoice.Status.ISSUED, due_at__lt=now, kind=Invoice.Kind.STATEMENT)
        .exclude(Exists(told))
        .select_related("organization")
        .order_by("due_at")[:limit]
    )
    for invoice in due:
        with transaction.atomic():
            event = events.emit(
                organization=invoice.organization,
                type=types.INVOICE_OVERDUE,
                payload=invoice_json(invoice),
                dedupe_key=f"{types.INVOICE_OVERDUE}:{invoice.pk}",
            )
        written += event is not None
    return written
