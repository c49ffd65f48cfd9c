"""Reads shared by the conversations page, the API and the monthly statement. Always scoped to an organization."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Organization
from core.money import round_rupiah

from .models import Category, Conversation, MonthlyStatement
from .rating import BILLING_TZ, month_of

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(raw: str | None) -> date | None:
    """``"2025-07"`` → ``date(2025, 7, 1)``; ``None`` for anything else."""
    match = _MONTH_RE.match((raw or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return date(year, month, 1)


def current_month() -> date:
    return month_of(timezone.now())


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def conversations_for(*, organization: Organization, month: date) -> QuerySet[Conversation]:
    return Conversation.objects.filter(organization=organization, month=month).order_by("-opened_at", "-pk")


def _rupiah(amount: Decimal | int | None) -> int:
    return round_rupiah(amount or Decimal(0))


def month_summary(*, organization: Organization, month: date) -> dict:
    """The month-summary shape of DESIGN.md: per category billable and free counts and the amount."""
    rows = (
        Conversation.objects.filter(organization=organization, month=month)
        .values("category")
        .annotate(
            billable=Count("pk", filter=Q(price__gt=0)),
            free=Count("pk", filter=Q(price=0)),
            amount=Sum("price"),
        )
    )
    categories = {c.value: {"billable": 0, "free": 0, "amount": 0} for c in Category}
    for row in rows:
        if row["category"] in categories:
            categories[row["category"]] = {
                "billable": row["billable"],
                "free": row["free"],
                "amount": _rupiah(row["amount"]),
            }
    return {
        "month": f"{month:%Y-%m}",
        "currency": "IDR",
        "categories": categories,
        "total_amount": sum(c["amount"] for c in categories.values()),
    }


def daily_totals(*, organization: Organization, month: date) -> list[dict]:
    """One row per day of the month (Asia/Jakarta) and category: count and amount, for the chart."""
    rows = (
        Conversation.objects.filter(organization=organization, month=month)
        .annotate(day=TruncDate("opened_at", tzinfo=BILLING_TZ))
        .values("day", "category")
        .annotate(count=Count("pk"), amount=Sum("price"))
        .order_by("day")
    )
    days = []
    day = month
    end = next_month(month)
    index = {}
    while day < end:
        index[day] = {"day": day, **{c.value: {"count": 0, "amount": 0} for c in Category}}
        days.append(index[day])
        day += timedelta(days=1)
    for row in rows:
        bucket = index.get(row["day"])
        if bucket is not None and row["category"] in bucket:
            bucket[row["category"]] = {"count": row["count"], "amount": _rupiah(row["amount"])}
    return days


def statement_for(*, organization: Organization, month: date) -> MonthlyStatement | None:
    return MonthlyStatement.objects.filter(organization=organization, month=month).first()


def months_for(*, organization: Organization) -> list[date]:
    """Months with conversations, newest first, always including the current month."""
    months = set(Conversation.objects.filter(organization=organization).values_list("month", flat=True).distinct())
    months.add(current_month())
    return sorted(months, reverse=True)


def statement_lines(*, statement: MonthlyStatement) -> list[dict]:
    """Invoice lines of a statement: one per category, market, price and pricing model, billable conversations
    (CBP) or messages (PMP) only. Each line is a code and its parameters (``invoices.models.LINE_DESCRIPTIONS``),
    so that the invoice reads in its reader's language."""
    rows = (
        Conversation.objects.filter(statement=statement, price__gt=0)
        .values("month", "category", "market", "price", "pricing_model")
        .annotate(quantity=Count("pk"))
        .order_by("month", "category", "market", "pricing_model", "price")
    )
    return [
        {
            "code": "whatsapp",
            "params": {
                "category": row["category"],
                "market": row["market"],
                "month": f"{row['month']:%m/%Y}",
                "pricing": row["pricing_model"],
                "late": row["month"] != statement.month,
            },
            "quantity": row["quantity"],
            "unit_price": row["price"],
        }
        for row in rows
    ]
