"""Demo credits for `manage.py seed_demo`: a few lots (one already expired, one expiring soon) and 30 days of
chatbot usage, written through the real services with the clock set back, so the ledger reads like real
history. Idempotent: if the first demo lot exists, nothing is written."""

from datetime import datetime, time, timedelta
from typing import Any
from unittest import mock

from django.utils import timezone

from .models import CreditLot
from .services import UsageMessage, lot_grant, lots_expire, usage_charge_batch


def _at(days_ago: int, hour: int = 10) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def seed(*, organization, owner, stdout) -> None:
    if CreditLot.objects.filter(organization=organization, reference="demo-purchase-0").exists():
        stdout.write("  credits: demo lots already there")
        return
    now = timezone.now()
    lots = [
        # (days ago, credits, source, reference, description code, validity days)
        (45, 3000, "purchase", "demo-purchase-0", "", 25),
        (29, 5000, "purchase", "demo-purchase-1", "", 30),
        (12, 10000, "purchase", "demo-purchase-2", "", 30),
        (5, 1000, "grant", "demo-welcome-bonus", "welcome_bonus", 30),
    ]
    events: list[tuple[datetime, str, Any]] = []
    for days_ago, credits, source, reference, code, validity in lots:
        events.append((_at(days_ago, 9), "grant", (credits, source, reference, code, validity)))
    for days_ago in range(29, -1, -1):
        events.append((_at(days_ago, 13), "usage", days_ago))
        events.append((_at(days_ago, 23), "expire", None))
    for when, kind, args in sorted(events, key=lambda e: e[0]):
        if when > now:
            when = now
        with mock.patch.object(timezone, "now", return_value=when):
            if kind == "grant":
                credits, source, reference, code, validity = args
                lot_grant(
                    organization=organization,
                    credits=credits,
                    source=source,
                    reference=reference,
                    description_code=code,
                    created_by=owner if source == "purchase" else None,
                    granted_at=when,
                    expires_at=when + timedelta(days=validity),
                )
            elif kind == "usage":
                days_ago = args
                n = 60 + (days_ago * 37) % 90 + (40 if (when.weekday() < 5) else 0)
                messages = [UsageMessage(f"demo-{days_ago}-{i}", "inbound" if i % 2 else "outbound") for i in range(n)]
                usage_charge_batch(organization=organization, messages=messages)
            else:
                lots_expire(now=when)
    stdout.write(f"  credits: {len(lots)} demo lots and 30 days of chatbot usage")
