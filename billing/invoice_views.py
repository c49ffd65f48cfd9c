"""Subscription page and invoice pages (owners and admins of the current organization only)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.decorators import organization_required

from .invoice_api import pdf_response
from .models.invoices import Invoice
from .pdf import invoice_context
from .selectors.invoices import invoice_for, invoices_for, parse_month, spend_per_month
from .services.invoices import invoice_pdf_bytes

PAGE_SIZE = 20


def _purchase_reads():
    """The top-up and credits engineers' selectors (imported lazily: billing may use credits)."""
    from credits.selectors import balance_for, lots_for

    from .selectors.purchases import pending_purchases_for, purchases_for

    return balance_for, lots_for, purchases_for, pending_purchases_for


@organization_required(billing=True)
def subscription(request):
    """Balance and active lots, pending purchases (resume, cancel), purchase and invoice history with
    filters and pagination, and money spent per month."""
    org = request.organization
    balance_for, lots_for, purchases_for, pending_purchases_for = _purchase_reads()

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
    from .models.purchases import Purchase

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


@organization_required(billing=True)
def invoice_detail(request, pk):
    invoice = invoice_for(request.organization, pk)
    context = invoice_context(invoice)
    context["corrections"] = list(invoice.corrections.exclude(status=Invoice.Status.DRAFT).order_by("created_at"))
    context["title"] = invoice.number or _("Invoice")
    return render(request, "billing/invoice_detail.html", context)


@organization_required(billing=True)
def invoice_pdf(request, pk):
    """Serve the stored PDF (rendered only when it is missing), as a download named after the number."""
    invoice = invoice_for(request.organization, pk)
    return pdf_response(invoice, invoice_pdf_bytes(invoice=invoice), inline=request.GET.get("inline") == "1")
