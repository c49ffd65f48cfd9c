from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format

from accounts.decorators import organization_required
from core.csv import stream_csv

from .models import CreditLot
from .reminders import REMINDER_DAYS
from .selectors import balance_for, ledger_for, lots_for, usage_per_day

LEDGER_ROWS_ON_DASHBOARD = 10


@dataclass(frozen=True)
class LotRow:
    """A lot as the dashboard shows it: how long it has left beside the lot's own fields, which the template
    reads through the row."""

    lot: CreditLot
    days_left: int
    hours_left: int
    expiring_soon: bool
    used_pct: int

    @classmethod
    def of(cls, lot: CreditLot, now: datetime) -> "LotRow":
        left = lot.expires_at - now
        return cls(
            lot=lot,
            days_left=max(left.days, 0),
            hours_left=int(left.total_seconds() // 3600),
            expiring_soon=left <= timedelta(days=REMINDER_DAYS),
            used_pct=round(100 * (lot.credits - lot.remaining) / lot.credits),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lot, name)


@organization_required
def dashboard(request):
    org = request.organization
    now = timezone.now()
    balance = balance_for(org, now=now)
    lots = [LotRow.of(lot, now) for lot in lots_for(org, now=now)]
    days = usage_per_day(org, days=30, now=now)
    total_30 = sum(d["total"] for d in days)
    avg_per_day = total_30 / 30
    expiring_soon = sum(lot.remaining for lot in lots if lot.expiring_soon)
    ledger = list(ledger_for(org)[:LEDGER_ROWS_ON_DASHBOARD])
    context = {
        "balance": balance,
        "lots": lots,
        "expiring_soon": expiring_soon,
        "low_balance": 0 < org.low_balance_threshold and balance < org.low_balance_threshold,
        "usage_today": days[-1]["total"],
        "usage_30": total_30,
        "avg_per_day": round(avg_per_day),
        "days_left_estimate": int(balance // avg_per_day) if avg_per_day and balance else None,
        # Month names through the active locale ("5 Des" in Indonesian), never strftime's English.
        "chart": {
            "labels": [date_format(d["day"], "j M") for d in days],
            "inbound": [d["inbound"] for d in days],
            "outbound": [d["outbound"] for d in days],
        },
        "usage_rows": [(d["day"], d["inbound"], d["outbound"], d["total"]) for d in reversed(days)],
        "ledger": ledger,
        "reminder_days": REMINDER_DAYS,
    }
    return render(request, "credits/dashboard.html", context)


@organization_required
def ledger_csv(request):
    """The whole ledger of the current organization, streamed (it can be long)."""
    org = request.organization
    header = ["id", "created_at", "kind", "delta", "balance_after", "lot_id", "lot_expires_at", "reference", "reason"]
    header.append("description")  # the reason in the reader's language (Saldo's own texts); reason as stored
    entries = ledger_for(org).select_related("lot").order_by("id")
    rows = (
        [
            e.id,
            timezone.localtime(e.created_at).isoformat(),
            e.kind,
            e.delta,
            e.balance_after,
            e.lot_id or "",
            timezone.localtime(e.lot.expires_at).isoformat() if e.lot is not None else "",
            e.reference,
            e.reason,
            e.description,
        ]
        for e in entries.iterator(chunk_size=2000)
    )
    return stream_csv(f"saldo-ledger-{org.slug}-{timezone.localdate():%Y%m%d}.csv", header, rows)
