"""Reads about invoices, always scoped to an organization (invariant 7)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.module_loading import import_string

from accounts.models import Organization
from accounts.selectors import get_for_organization
from core.months import Month

from .models import Invoice

__all__ = [
    "invoices_for",
    "invoice_for",
    "payment_requests_for",
    "unpaid_statements_for",
    "invoice_open_payment",
    "staff_overdue_summary",
    "spend_per_month",
    "parse_month",
]

JAKARTA = ZoneInfo("Asia/Jakarta")


def parse_month(value: str | None) -> date | None:
    """``"2026-11"`` → ``date(2026, 11, 1)``; anything else → None, a year outside 2000-2100 included (its
    bounds would not even fit a datetime at 9999-12)."""
    month = Month.parse(value)
    return month.first_day if month else None


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=JAKARTA)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=JAKARTA)
    return start, end


def invoices_for(
    organization: Organization,
    *,
    status: str | None = None,
    kind: str | None = None,
    month: date | None = None,
    search: str | None = None,
) -> QuerySet[Invoice]:
    """The organization's invoices a customer may see, newest first: numbered ones only (drafts are internal;
    payment requests are listed apart, see :func:`payment_requests_for`, and reached here only by asking for
    ``status="request"``). ``month`` filters on the issue date in Asia/Jakarta."""
    qs = Invoice.objects.filter(organization=organization)
    if status == Invoice.Status.REQUEST:
        return payment_requests_for(organization)
    qs = qs.exclude(status__in=Invoice.UNNUMBERED)
    if status in Invoice.Status.values:
        qs = qs.filter(status=status)
    if kind in Invoice.Kind.values:
        qs = qs.filter(kind=kind)
    if month is not None:
        start, end = _month_bounds(month)
        qs = qs.filter(issued_at__gte=start, issued_at__lt=end)
    if search:
        qs = qs.filter(Q(number__icontains=search.strip()) | Q(reference__icontains=search.strip()))
    return qs.order_by("-issued_at", "-created_at").prefetch_related("lines")


def payment_requests_for(organization: Organization) -> QuerySet[Invoice]:
    """The organization's open payment requests (Pay Now's pro-formas waiting for payment), newest first.
    Closed ones (expired or cancelled checkouts) are not listed: they were never invoices."""
    return (
        Invoice.objects.filter(organization=organization, status=Invoice.Status.REQUEST)
        .order_by("-created_at")
        .prefetch_related("lines")
    )


def unpaid_statements_for(organization: Organization) -> QuerySet[Invoice]:
    """Monthly statements issued and not paid yet, the one due first first (the dashboard banner)."""
    return Invoice.objects.filter(
        organization=organization, kind=Invoice.Kind.STATEMENT, status=Invoice.Status.ISSUED
    ).order_by("due_at", "issued_at")


def staff_overdue_summary(*, now: datetime | None = None) -> dict:
    """Across all organizations, for the staff console: unpaid invoices past their due date (statements, in
    practice), how many and how much. One aggregate query."""
    now = now or timezone.now()
    row = (
        Invoice.objects.filter(status=Invoice.Status.ISSUED, due_at__lt=now)
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .aggregate(count=Count("id"), amount=Coalesce(Sum("total"), 0))
    )
    return {"count": row["count"], "amount": int(row["amount"])}


def invoice_for(organization: Organization, pk: UUID | str) -> Invoice:
    """One invoice of the organization, or 404 (another organization's invoice does not exist for you)."""
    return get_for_organization(
        Invoice.objects.exclude(status=Invoice.Status.DRAFT).select_related("corrects").prefetch_related("lines"),
        organization,
        pk=pk,
    )


def spend_per_month(organization: Organization, *, months: int = 12, now: datetime | None = None) -> list[dict]:
    """Money paid per month (Asia/Jakarta) over the last ``months`` months, oldest first, credit notes
    deducted: ``[{"month": "2026-11", "label": "Nov 2026", "total": 1110000}, ...]``."""
    now = timezone.localtime(now or timezone.now(), JAKARTA)
    first = date(now.year, now.month, 1)
    keys = []
    y, m = first.year, first.month
    for _ in range(months):
        keys.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    keys.reverse()
    start, _end = _month_bounds(keys[0])
    rows = (
        Invoice.objects.filter(organization=organization, status=Invoice.Status.PAID, paid_at__gte=start)
        .annotate(month=TruncMonth("paid_at", tzinfo=JAKARTA))
        .values("month")
        .annotate(total=Sum("total"))
    )
    totals = {row["month"].date() if isinstance(row["month"], datetime) else row["month"]: row["total"] for row in rows}
    notes = (
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.CREDIT_NOTE, issued_at__gte=start)
        .exclude(status=Invoice.Status.VOID)
        .annotate(month=TruncMonth("issued_at", tzinfo=JAKARTA))
        .values("month")
        .annotate(total=Sum("total"))
    )
    for row in notes:
        key = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        totals[key] = totals.get(key, 0) - row["total"]
    # The label names the month in the active language ("Des 2026" in Indonesian), through Django's locale.
    return [
        {"month": k.strftime("%Y-%m"), "label": date_format(k, "M Y"), "total": int(totals.get(k, 0))} for k in keys
    ]


def invoice_open_payment(invoice: Invoice) -> dict | None:
    """How to pay this invoice right now, when a payment session is open for it: a dict with ``pay_url``,
    ``expires_at``, ``method``, ``va_number``/``bank`` or ``qr_svg`` (the gateway's, when it tells), from the
    billing app through ``settings.INVOICE_PAYMENT_INFO`` (invoices sits below billing and cannot import it).
    None when no session is open or the invoice is not payable."""
    path = getattr(settings, "INVOICE_PAYMENT_INFO", "")
    if not path or not invoice.is_payable:
        return None
    return import_string(path)(invoice)
