"""Reads about message credits that pages and the API share, always scoped to an organization."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import Organization
from core.db import lag_tolerant

from .models import CreditBalance, CreditLot, LedgerEntry, MessageUsage, UsageDay


def balance_for(organization: Organization, *, now: datetime | None = None) -> int:
    """The spendable balance, in one query that does not depend on the size of the ledger: the balance
    row minus the credits of lots that are past expiry but not yet swept by the expiry job."""
    now = now or timezone.now()
    spendable = (
        CreditBalance.objects.filter(organization=organization)
        .with_spendable(now)
        .values_list("spendable", flat=True)
        .first()
    )
    return spendable or 0


LOT_FIELDS = ("id", "source", "credits", "remaining", "granted_at", "expires_at")


def balance_and_lots(organization: Organization, *, now: datetime | None = None) -> tuple[int, list[dict]]:
    """The spendable balance and the spendable lots (soonest-expiring first, as ``LOT_FIELDS`` dicts) in two
    plain indexed queries, neither depending on the size of the ledger: the balance row, and the organization's
    lots with credits left (``credit_lot_open_idx``), each flagged spendable or not. Lots past expiry that the
    expiry job has not swept yet are subtracted from the balance and not listed, as in :func:`balance_for`.
    This is the API's balance read."""
    now = now or timezone.now()
    open_lots = list(
        CreditLot.objects.filter(organization=organization)
        .with_credits_left()
        .with_spendable_flag(now)
        .in_spending_order()
        .values(*LOT_FIELDS, "is_spendable")
    )
    balance = CreditBalance.objects.filter(organization=organization).values_list("balance", flat=True).first()
    if balance is None:
        return 0, []
    stale = sum(lot["remaining"] for lot in open_lots if not lot["is_spendable"])
    lots = [{field: lot[field] for field in LOT_FIELDS} for lot in open_lots if lot["is_spendable"]]
    return balance - stale, lots


def lots_for(organization: Organization, *, now: datetime | None = None) -> QuerySet[CreditLot]:
    """Spendable lots, soonest-expiring first (the order they are spent in)."""
    return CreditLot.objects.filter(organization=organization).spendable(now or timezone.now()).in_spending_order()


def all_lots_for(organization: Organization) -> QuerySet[CreditLot]:
    return CreditLot.objects.filter(organization=organization).order_by("-granted_at", "-id")


def ledger_for(organization: Organization) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(organization=organization).order_by("-id")


def usage_for(organization: Organization) -> QuerySet[MessageUsage]:
    return MessageUsage.objects.filter(organization=organization).order_by("-id")


def usage_per_day(organization: Organization, *, days: int = 30, now: datetime | None = None) -> list[dict]:
    """Charged messages per local day for the last ``days`` days, zero-filled, oldest first. Read from the per-day
    counts the charge keeps (UsageDay): at most 2 × ``days`` rows whatever the usage, and still exact after old
    usage partitions are dropped."""
    today = timezone.localdate(now or timezone.now())
    first_day = today - timedelta(days=days - 1)
    counts: dict = {}
    with lag_tolerant():  # a chart a moment behind is fine: the replica may serve it
        rows = list(
            UsageDay.objects.filter(organization=organization, day__gte=first_day, day__lte=today).values_list(
                "day", "direction", "messages"
            )
        )
    for day, direction, n in rows:
        counts.setdefault(day, {"inbound": 0, "outbound": 0})[direction] = n
    out = []
    for i in range(days):
        day = first_day + timedelta(days=i)
        c = counts.get(day, {"inbound": 0, "outbound": 0})
        out.append(
            {"day": day, "inbound": c["inbound"], "outbound": c["outbound"], "total": c["inbound"] + c["outbound"]}
        )
    return out


def ledger_audit(organization_id: UUID | str) -> dict:
    """The three numbers invariant 1 says are equal: balance row (minus expired-unswept lots, as shown),
    Σ remaining of spendable lots, Σ ledger deltas (minus the same expired-unswept credits)."""
    now = timezone.now()
    row = CreditBalance.objects.filter(organization_id=organization_id).values_list("balance", flat=True).first() or 0
    lots_of = CreditLot.objects.filter(organization_id=organization_id)
    stale = lots_of.expired_unswept(now).remaining_sum()
    lots = lots_of.spendable(now).remaining_sum()
    ledger = LedgerEntry.objects.filter(organization_id=organization_id).aggregate(n=Sum("delta"))["n"] or 0
    negative_lots = lots_of.filter(remaining__lt=0).count()
    return {
        "balance": row - stale,
        "lots": lots,
        "ledger": ledger - stale,
        "balance_row": row,
        "expired_unswept": stale,
        "ok": row - stale == lots == ledger - stale and row >= 0 and not negative_lots,
    }


# --- staff console ----------------------------------------------------------------------------------------


def _local_day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def staff_summary(*, now: datetime | None = None) -> dict:
    """Credits across all organizations for the staff home, in three aggregate queries whatever the number
    of rows: sold (purchases), granted, consumed and expired today and this month (Asia/Jakarta), lots
    expiring in the next 7 days, and organizations whose balance moved in the last 30 days."""
    now = now or timezone.now()
    today = _local_day_start(now)
    month = today.replace(day=1)
    kinds = {
        "sold": LedgerEntry.Kind.PURCHASE,
        "granted": LedgerEntry.Kind.GRANT,
        "consumed": LedgerEntry.Kind.USAGE,
        "expired": LedgerEntry.Kind.EXPIRY,
    }
    aggregates = {}
    for name, kind in kinds.items():
        aggregates[f"{name}_month"] = Coalesce(Sum("delta", filter=Q(kind=kind)), Value(0))
        aggregates[f"{name}_today"] = Coalesce(Sum("delta", filter=Q(kind=kind, created_at__gte=today)), Value(0))
    ledger = LedgerEntry.objects.filter(created_at__gte=month, created_at__lte=now).aggregate(**aggregates)
    # Usage and expiry are negative deltas; staff read them as positive amounts.
    figures: dict[str, object] = {key: abs(int(value)) for key, value in ledger.items()}
    week = (
        CreditLot.objects.spendable(now)
        .filter(expires_at__lte=now + timedelta(days=7))
        .aggregate(lots=Count("id"), credits=Coalesce(Sum("remaining"), Value(0)))
    )
    figures["expiring_week_lots"] = week["lots"]
    figures["expiring_week_credits"] = int(week["credits"])
    figures["active_organizations"] = CreditBalance.objects.filter(updated_at__gte=now - timedelta(days=30)).count()
    figures["today"], figures["month_start"] = today, month
    return figures


def staff_consumption_per_day(*, days: int = 90, now: datetime | None = None) -> list[dict]:
    """Credits consumed per local day over all organizations, zero-filled, oldest first (one query)."""
    now = now or timezone.now()
    first = _local_day_start(now) - timedelta(days=days - 1)
    rows = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.USAGE, created_at__gte=first, created_at__lte=now)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    per_day = {row["day"]: -int(row["n"]) for row in rows}
    return [{"day": d, "credits": per_day.get(d, 0)} for d in (first.date() + timedelta(days=i) for i in range(days))]
