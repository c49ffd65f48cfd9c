"""Invoice pages (owners and admins of the current organization only), served at ``/billing/invoices/...``."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.decorators import organization_required

from .api import pdf_response
from .models import Invoice
from .pdf import invoice_context
from .selectors import invoice_for
from .services import invoice_pdf_bytes


@organization_required(billing=True)
def invoice_detail(request, pk):
    invoice = invoice_for(request.organization, pk)
    context = invoice_context(invoice)
    context["corrections"] = list(invoice.corrections.exclude(status=Invoice.Status.DRAFT).order_by("created_at"))
    context["title"] = invoice.number or (_("Payment request") if invoice.is_request else _("Invoice"))
    return render(request, "invoices/invoice_detail.html", context)


@organization_required(billing=True)
def invoice_pdf(request, pk):
    """Serve the stored PDF (rendered only when it is missing), as a download named after the number."""
    invoice = invoice_for(request.organization, pk)
    return pdf_response(invoice, invoice_pdf_bytes(invoice=invoice), inline=request.GET.get("inline") == "1")
