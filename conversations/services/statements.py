"""Monthly statements: a month of an organization's conversations, frozen and billed on one invoice."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.utils import timezone

from accounts.models import Organization
from core.money import round_rupiah
from invoices.services import invoice_create

from .. import outgoing, rating, selectors
from ..models import Conversation, MonthlyStatement, WhatsAppNumber
from .charging import waba_locks


def rupiah(amount: Decimal) -> int:
    """Half-up to whole rupiah (``core.money.round_rupiah``); kept under this name for callers."""
    return round_rupiah(amount)


def statement_close(*, organization: Organization, month: date) -> MonthlyStatement:
    """Freeze one organization's month of conversations into a statement and bill it on one invoice.

    Idempotent: the statement is unique per organization and month, and its invoice is made once, under
    the statement's row lock.
    """
    month = month.replace(day=1)
    with transaction.atomic():
        try:
            with transaction.atomic():
                statement, _created = MonthlyStatement.objects.get_or_create(organization=organization, month=month)
        except IntegrityError:
            statement = MonthlyStatement.objects.get(organization=organization, month=month)
        # The WABAs' locks first (the app's one lock order): no settlement can hold a row we are about to bill.
        waba_locks(
            WhatsAppNumber.objects.filter(organization=organization).values_list("waba_id", flat=True),
            organization_ids=[organization.pk],
        )
        statement = MonthlyStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.invoice_id is not None or statement.summary:
            return statement

        Conversation.objects.filter(organization=organization, month=month, statement__isnull=True).update(
            statement=statement
        )
        # Reported after their own month was closed (Meta retries for days): billed now, never dropped.
        late = Conversation.objects.filter(organization=organization, month__lt=month, statement__isnull=True).filter(
            Exists(MonthlyStatement.objects.filter(organization=organization, month=OuterRef("month")))
        )
        late_count = late.update(statement=statement)
        summary = selectors.month_summary(organization=organization, month=month)
        billed = Conversation.objects.filter(statement=statement).aggregate(n=Count("pk"), amount=Sum("price"))
        late_amount = rupiah(billed["amount"] or Decimal(0)) - summary["total_amount"]
        statement.summary = {**summary, "late": {"count": late_count, "amount": late_amount}}
        statement.total_amount = summary["total_amount"] + late_amount
        statement.conversations_count = billed["n"]
        statement.closed_at = timezone.now()
        lines = selectors.statement_lines(statement=statement)
        if lines:
            invoice = invoice_create(
                organization=organization,
                lines=lines,
                kind="statement",
                reference=f"whatsapp-statement:{statement.pk}",
            )
            statement.invoice_id = invoice.pk
        statement.save()
        outgoing.statement_issued(statement)
        return statement


def month_close(*, month: date) -> list[MonthlyStatement]:
    """The monthly job: close ``month`` for every organization with conversations not yet on a statement
    in it or before it. A month the job missed (outage) is closed first, on its own statement; conversations
    reported late for an already closed month go on ``month``'s statement."""
    month = month.replace(day=1)
    pending = (
        Conversation.objects.filter(organization__isnull=False, statement__isnull=True, month__lte=month)
        .values_list("organization_id", "month")
        .distinct()
    )
    closed = set(
        MonthlyStatement.objects.filter(month__lte=month).exclude(summary={}).values_list("organization_id", "month")
    )
    work: dict = defaultdict(set)
    for org_id, conv_month in pending:
        # A closed month's stragglers are billed with ``month``; an unclosed month gets its own statement.
        work[org_id].add(month if (org_id, conv_month) in closed else conv_month)
    statements = []
    organizations = Organization.objects.in_bulk(list(work))
    for org_id in sorted(work, key=str):
        for target in sorted(work[org_id]):
            statements.append(statement_close(organization=organizations[org_id], month=target))
    return statements


def previous_month(now: datetime | None = None) -> date:
    local = (now or timezone.now()).astimezone(rating.BILLING_TZ)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return date(year, month, 1)
