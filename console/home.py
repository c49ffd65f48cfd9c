"""The staff home: the admin index with the business's figures on top (``SaldoAdminSite.index``).

Every figure comes from an app's selector and is computed in the database (aggregates, never a loop over
rows). A tile is shown, and its query run, only when the user may view the changelist it links to, so
Support never sees revenue and nobody pays for figures they cannot open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.selectors import staff_revenue_per_day
from billing.selectors import staff_summary as billing_summary
from conversations.models import UnknownNumber, WebhookEvent
from core.admin import changelist_url
from core.money import format_rupiah, format_thousands
from credits.selectors import staff_consumption_per_day
from credits.selectors import staff_summary as credits_summary
from invoices.selectors import staff_overdue_summary

CHART_DAYS = 90


@dataclass
class Tile:
    label: str
    value: str
    url: str
    hint: str = ""
    alert: bool = False


def _can(user, perm: str) -> bool:
    return user.is_active and user.is_staff and user.has_perm(perm)


def whatsapp_summary() -> dict:
    """WhatsApp work waiting for staff: failed webhook deliveries and numbers no organization owns."""
    return {
        "failed_events": WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count(),
        "unknown_numbers": UnknownNumber.objects.filter(resolved_at__isnull=True).count(),
    }


def home_tiles(user, *, now: datetime | None = None) -> dict:
    """The KPI tiles a user may see, grouped: money, credits, work queues."""
    now = now or timezone.now()
    groups: dict[str, list[Tile]] = {"money": [], "credits": [], "queues": []}
    local_today = timezone.localdate(now)
    today, month_start = local_today.isoformat(), local_today.replace(day=1).isoformat()

    if _can(user, "invoices.view_invoice"):
        money = billing_summary(now=now)
        paid = {"status__exact": "paid"}
        groups["money"] += [
            Tile(
                _("Revenue today"),
                format_rupiah(money["revenue_today"]),
                changelist_url("invoices_invoice", **paid, paid_at__date__gte=today),
                _("%(net)s before PPN · %(n)s paid")
                % {"net": format_rupiah(money["revenue_today_net"]), "n": money["paid_invoices_today"]},
            ),
            Tile(
                _("Revenue this month"),
                format_rupiah(money["revenue_month"]),
                changelist_url("invoices_invoice", **paid, paid_at__date__gte=month_start),
                _("%(net)s before PPN · %(n)s paid")
                % {"net": format_rupiah(money["revenue_month_net"]), "n": money["paid_invoices_month"]},
            ),
        ]
        overdue = staff_overdue_summary(now=now)
        groups["money"].append(
            Tile(
                _("Overdue invoices"),
                format_rupiah(overdue["amount"]),
                changelist_url("invoices_invoice", payment="overdue"),
                _("%(n)s unpaid past their due date") % {"n": format_thousands(overdue["count"])},
                alert=overdue["count"] > 0,
            )
        )
    else:
        money = None

    if _can(user, "credits.view_ledgerentry"):
        credits = credits_summary(now=now)

        def ledger_tile(label, key, kind):
            return Tile(
                label,
                format_thousands(credits[f"{key}_month"]),
                changelist_url("credits_ledgerentry", kind__exact=kind, created_at__date__gte=month_start),
                _("this month · %(n)s today") % {"n": format_thousands(credits[f"{key}_today"])},
            )

        groups["credits"] += [
            ledger_tile(_("Credits sold"), "sold", "purchase"),
            ledger_tile(_("Credits consumed"), "consumed", "usage"),
            ledger_tile(_("Credits expired"), "expired", "expiry"),
            ledger_tile(_("Bonus credits granted"), "granted", "grant"),
        ]
        if _can(user, "credits.view_creditlot"):
            week_end = (local_today + timedelta(days=7)).isoformat()
            groups["credits"].append(
                Tile(
                    _("Lots expiring this week"),
                    format_thousands(credits["expiring_week_lots"]),
                    changelist_url(
                        "credits_creditlot",
                        remaining__gt=0,
                        expires_at__date__gte=today,
                        expires_at__date__lte=week_end,
                    ),
                    _("%(n)s credits left on them") % {"n": format_thousands(credits["expiring_week_credits"])},
                )
            )
        if _can(user, "credits.view_creditbalance"):
            since = (local_today - timedelta(days=30)).isoformat()
            groups["credits"].append(
                Tile(
                    _("Active organizations"),
                    format_thousands(credits["active_organizations"]),
                    changelist_url("credits_creditbalance", updated_at__date__gte=since),
                    _("balance moved in the last 30 days"),
                )
            )

    if money is not None or _can(user, "billing.view_purchase"):
        money = money or billing_summary(now=now)
        if _can(user, "billing.view_purchasereview"):
            groups["queues"].append(
                Tile(
                    _("Needs review"),
                    format_thousands(money["needs_review"]),
                    changelist_url("billing_purchasereview"),
                    _("payments waiting for a decision"),
                    alert=money["needs_review"] > 0,
                )
            )
        if _can(user, "billing.view_paymentsession"):
            groups["queues"].append(
                Tile(
                    _("Pending payment sessions"),
                    format_thousands(money["pending_sessions"]),
                    changelist_url("billing_paymentsession", status__exact="pending"),
                    _("open for payment now"),
                )
            )
        if _can(user, "billing.view_paymentnotification"):
            groups["queues"].append(
                Tile(
                    _("Failed payment webhooks"),
                    format_thousands(money["failed_notifications"]),
                    changelist_url("billing_paymentnotification", status__exact="failed"),
                    _("reprocess from the list"),
                    alert=money["failed_notifications"] > 0,
                )
            )

    can_events = _can(user, "conversations.view_webhookevent")
    can_unknown = _can(user, "conversations.view_unknownnumber")
    if can_events or can_unknown:
        wa = whatsapp_summary()
        if can_events:
            groups["queues"].append(
                Tile(
                    _("Failed WhatsApp webhooks"),
                    format_thousands(wa["failed_events"]),
                    changelist_url("conversations_webhookevent", status__exact="failed"),
                    _("process again from the list"),
                    alert=wa["failed_events"] > 0,
                )
            )
        if can_unknown:
            groups["queues"].append(
                Tile(
                    _("Unknown WhatsApp numbers"),
                    format_thousands(wa["unknown_numbers"]),
                    changelist_url("conversations_unknownnumber", resolved="no"),
                    _("assign them to an organization"),
                    alert=wa["unknown_numbers"] > 0,
                )
            )
    return groups


def home_chart(user, *, days: int = CHART_DAYS, now: datetime | None = None) -> dict | None:
    """Revenue (Rp, with PPN) and credits consumed per day, for the series the user may see."""
    now = now or timezone.now()
    chart: dict = {}
    if _can(user, "invoices.view_invoice"):
        revenue = staff_revenue_per_day(days=days, now=now)
        chart["labels"] = [row["day"].isoformat() for row in revenue]
        chart["revenue"] = [row["total"] for row in revenue]
    if _can(user, "credits.view_ledgerentry"):
        usage = staff_consumption_per_day(days=days, now=now)
        chart["labels"] = [row["day"].isoformat() for row in usage]
        chart["consumed"] = [row["credits"] for row in usage]
    return chart or None


FIGURE_PERMISSIONS = [
    "invoices.view_invoice",
    "credits.view_ledgerentry",
    "credits.view_creditlot",
    "credits.view_creditbalance",
    "billing.view_purchase",
    "billing.view_purchasereview",
    "billing.view_paymentsession",
    "billing.view_paymentnotification",
    "conversations.view_webhookevent",
    "conversations.view_unknownnumber",
]


def chart_rows(chart: dict | None) -> list[tuple]:
    """The chart's text alternative, newest day first: (day, revenue or None, consumed or None)."""
    if not chart:
        return []
    revenue, consumed = chart.get("revenue"), chart.get("consumed")
    rows = [
        (day, revenue[i] if revenue else None, consumed[i] if consumed else None)
        for i, day in enumerate(chart["labels"])
    ]
    return rows[::-1]


def home_figures(user) -> dict:
    tiles = home_tiles(user)
    labels = {"money": _("Money"), "credits": _("Credits"), "queues": _("Needs attention")}
    chart = home_chart(user)
    return {
        "kpi_groups": [(labels[key], items) for key, items in tiles.items() if items],
        "kpi_chart": chart,
        "kpi_chart_rows": chart_rows(chart),
        "kpi_chart_days": CHART_DAYS,
        "kpi_as_of": timezone.localtime(),
    }


def home_context(request) -> dict:
    """The figures, shared for ``SALDO_CONSOLE_CACHE_SECONDS`` (default 60) between staff who may see the same
    tiles: aggregating a month of ledger rows on every visit of the home is wasted work. ``?refresh=1``
    recomputes them now."""
    seconds = getattr(settings, "SALDO_CONSOLE_CACHE_SECONDS", 60)
    if seconds <= 0:
        return home_figures(request.user)
    visible = [perm for perm in FIGURE_PERMISSIONS if _can(request.user, perm)]
    key = (
        "saldo:console:home:" + hashlib.sha256(f"{translation.get_language()}|{'|'.join(visible)}".encode()).hexdigest()
    )
    figures = None if request.GET.get("refresh") else cache.get(key)
    if figures is None:
        figures = home_figures(request.user)
        cache.set(key, figures, seconds)
    return figures
