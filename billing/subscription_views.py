"""The subscription page (owners and admins of the current organization only): balance, lots, purchases,
invoices and money spent per month."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import organization_required
from credits.selectors import balance_for, lots_for
from invoices.models import Invoice
from invoices.selectors import invoices_for, parse_month, spend_per_month

from .models import Purchase
from .selectors.purchases import pending_purchases_for, purchases_for

PAGE_SIZE = 20


@organization_required(billing=True)
def subscription(request):
    """Balance and active lots, pending purchases (resume, cancel), purchase and invoice history with
    filters and pagination, and money spent per month."""
    org = request.organization

    month_param = request.GET.get("month", "")
    month = parse_month(month_param)
    status = request.GET.get("status", "")
    invoices = invoices_for(org, status=status or None, month=month, search=request.GET.get("q") or None)
    invoice_page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))

    purchase_status = request.GET.get("purchase_status", "")
    purchases = purchases_for(org)
    if purchase_status:
        purchases = purchases.filter(status=purchase_status)
    purchase_page = Paginator(purchases, PAGE_SIZE).get_page(request.GET.get("ppage"))

    spend = spend_per_month(org)

    query = request.GET.copy()
    for key in ("page", "ppage"):
        query.pop(key, None)
    context = {
        "balance": balance_for(org),
        "lots": list(lots_for(org)[:50]),
        "pending": list(pending_purchases_for(org)[:20]),
        "purchase_page": purchase_page,
        "purchase_statuses": Purchase.Status.choices,
        "purchase_status": purchase_status,
        "invoice_page": invoice_page,
        "invoice_statuses": [(s, label) for s, label in Invoice.Status.choices if s != Invoice.Status.DRAFT],
        "status": status,
        "month": month_param if month else "",
        "q": request.GET.get("q", ""),
        "query": query.urlencode(),
        "spend": spend,
        "spend_total_year": sum(row["total"] for row in spend),
        "now": timezone.now(),
    }
    return render(request, "billing/subscription.html", context)
