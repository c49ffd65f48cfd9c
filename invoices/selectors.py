"""Reads about invoices, always scoped to an organization (invariant 7)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Organization
from accounts.selectors import get_for_organization
from core.months import Month

from .models import Invoice

__all__ = ["invoices_for", "invoice_for", "spend_per_month", "parse_month"]

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
    """The organization's invoices a customer may see (drafts are internal), newest first. ``month`` filters
    on the issue date in Asia/Jakarta."""
    qs = Invoice.objects.filter(organization=organization).exclude(status=Invoice.Status.DRAFT)
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


def invoice_for(organization: Organization, pk) -> Invoice:
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
