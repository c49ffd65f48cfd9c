"""Money figures across all organizations for the staff console, computed in the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from invoices.models import Invoice
from invoices.selectors import JAKARTA

from ..models.purchases import PaymentNotification, PaymentSession, Purchase

__all__ = ["staff_summary", "staff_revenue_per_day"]


def _day_start(now: datetime) -> datetime:
    return timezone.localtime(now, JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0)


def staff_summary(*, now: datetime | None = None) -> dict:
    """Revenue today and this month (Asia/Jakarta): paid invoices by ``paid_at``, total (with PPN) and
    subtotal (without), less the credit notes issued in the same period, like the customer's spend page.
    Also the open work: pending payment sessions, the needs-review queue, failed gateway notifications."""
    now = now or timezone.now()
    today = _day_start(now)
    month = today.replace(day=1)
    paid = Q(status=Invoice.Status.PAID, paid_at__gte=month, paid_at__lte=now) & ~Q(kind=Invoice.Kind.CREDIT_NOTE)
    notes = Q(kind=Invoice.Kind.CREDIT_NOTE, issued_at__gte=month, issued_at__lte=now) & ~Q(status=Invoice.Status.VOID)

    def total(field: str, condition: Q) -> Coalesce:
        return Coalesce(Sum(field, filter=condition), Value(0))

    row = Invoice.objects.filter(paid | notes).aggregate(
        gross_month=total("total", paid),
        net_month=total("subtotal", paid),
        gross_today=total("total", paid & Q(paid_at__gte=today)),
        net_today=total("subtotal", paid & Q(paid_at__gte=today)),
        cn_gross_month=total("total", notes),
        cn_net_month=total("subtotal", notes),
        cn_gross_today=total("total", notes & Q(issued_at__gte=today)),
        cn_net_today=total("subtotal", notes & Q(issued_at__gte=today)),
        paid_count_month=Count("id", filter=paid),
        paid_count_today=Count("id", filter=paid & Q(paid_at__gte=today)),
    )
    out = {
        "revenue_today": int(row["gross_today"] - row["cn_gross_today"]),
        "revenue_today_net": int(row["net_today"] - row["cn_net_today"]),
        "revenue_month": int(row["gross_month"] - row["cn_gross_month"]),
        "revenue_month_net": int(row["net_month"] - row["cn_net_month"]),
        "credit_notes_month": int(row["cn_gross_month"]),
        "paid_invoices_today": row["paid_count_today"],
        "paid_invoices_month": row["paid_count_month"],
        "today": today,
        "month_start": month,
    }
    out["pending_sessions"] = PaymentSession.objects.filter(
        status=PaymentSession.Status.PENDING, expires_at__gt=now
    ).count()
    out["needs_review"] = Purchase.objects.filter(status=Purchase.Status.NEEDS_REVIEW, reviewed_at__isnull=True).count()
    out["failed_notifications"] = PaymentNotification.objects.filter(status=PaymentNotification.Status.FAILED).count()
    return out


def staff_revenue_per_day(*, days: int = 90, now: datetime | None = None) -> list[dict]:
    """Revenue with PPN per local day, credit notes deducted on their issue day; zero-filled, oldest first."""
    now = now or timezone.now()
    first = _day_start(now) - timedelta(days=days - 1)
    paid = (
        Invoice.objects.filter(status=Invoice.Status.PAID, paid_at__gte=first, paid_at__lte=now)
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .annotate(day=TruncDate("paid_at", tzinfo=JAKARTA))
        .values("day")
        .annotate(n=Sum("total"))
        .order_by()
    )
    per_day = {row["day"]: int(row["n"]) for row in paid}
    notes = (
        Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE, issued_at__gte=first, issued_at__lte=now)
        .exclude(status=Invoice.Status.VOID)
        .annotate(day=TruncDate("issued_at", tzinfo=JAKARTA))
        .values("day")
        .annotate(n=Sum("total"))
        .order_by()
    )
    for row in notes:
        per_day[row["day"]] = per_day.get(row["day"], 0) - int(row["n"])
    return [{"day": d, "total": per_day.get(d, 0)} for d in (first.date() + timedelta(days=i) for i in range(days))]
