"""Reads about prices, purchases and payment sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import segno
from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import get_for_organization
from invoices.models import Invoice
from invoices.tax import TaxTerms, tax_terms_on

from ..gateways import sandbox as sandbox_gateway
from ..models.purchases import PaymentSession, PriceList, PriceTier, Purchase

__all__ = [
    "CREDIT_STEP",
    "MAX_CREDITS",
    "PRESETS",
    "DEFAULT_UNIT_PRICE",
    "Quote",
    "price_list_current",
    "unit_price_for",
    "price_quote",
    "purchases_for",
    "purchase_for",
    "pending_purchases_for",
    "purchase_by_gateway_ref",
    "purchase_current_session",
    "invoice_open_payment",
    "review_queue",
]

CREDIT_STEP = 1000
MAX_CREDITS = 10_000_000
PRESETS = (1_000, 5_000, 10_000, 50_000)
# Used only if staff deleted every price list: the published default (DESIGN.md).
DEFAULT_UNIT_PRICE = 100


@dataclass(frozen=True)
class Quote:
    """What ``credits`` cost now: integer rupiah, PPN by the tax rule in force (``invoices.tax``), exactly as
    the invoice computes it: DPP = subtotal, DPP Nilai Lain to the sen, PPN half-up to whole rupiah."""

    credits: int
    unit_price: int
    subtotal: int
    tax_rate: Decimal
    tax: int
    total: int
    validity_days: int
    other_tax_base: Decimal = Decimal(0)
    terms: TaxTerms | None = None

    @property
    def tax_percent(self) -> Decimal:
        return (self.tax_rate * 100).normalize()

    @property
    def tax_base(self) -> int:
        return self.subtotal

    @property
    def uses_other_tax_base(self) -> bool:
        return bool(self.terms and self.terms.uses_other_tax_base)


def price_list_current(at: datetime | None = None) -> PriceList | None:
    at = at or timezone.now()
    return (
        PriceList.objects.filter(effective_from__lte=at)
        .prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("min_credits")))
        .order_by("-effective_from")
        .first()
    )


def unit_price_for(credits: int, at: datetime | None = None) -> int:
    """The price per credit for a purchase of ``credits``: the highest volume tier it reaches in the
    price list in force at ``at``."""
    price_list = price_list_current(at)
    tiers = list(price_list.tiers.all()) if price_list else []
    if not tiers:
        return DEFAULT_UNIT_PRICE
    price = tiers[0].unit_price  # below the first tier, the first tier's price
    for tier in tiers:
        if credits >= tier.min_credits:
            price = tier.unit_price
    return price


def price_quote(*, credits: int, at: datetime | None = None) -> Quote:
    """The price of ``credits`` at ``at`` (default now): the price list and the tax rule in force then (the
    rule of ``at``'s Asia/Jakarta day, the invoice's tax date)."""
    unit_price = unit_price_for(credits, at)
    terms = tax_terms_on(at)
    subtotal = credits * unit_price
    other_tax_base, tax = terms.line(subtotal)
    return Quote(
        credits=credits,
        unit_price=unit_price,
        subtotal=subtotal,
        tax_rate=terms.rate,
        tax=tax,
        total=subtotal + tax,
        validity_days=settings.CREDIT_VALIDITY_DAYS,
        other_tax_base=other_tax_base,
        terms=terms,
    )


def purchases_for(organization: Organization) -> QuerySet[Purchase]:
    """Every purchase of ``organization``, newest first, with its invoice."""
    return Purchase.objects.filter(organization=organization).select_related("invoice").order_by("-created_at")


def pending_purchases_for(organization: Organization) -> QuerySet[Purchase]:
    return purchases_for(organization).filter(status=Purchase.Status.PENDING)


def purchase_for(organization: Organization, pk: UUID | str) -> Purchase:
    """One purchase of ``organization`` or 404."""
    return get_for_organization(purchases_for(organization), organization, pk=pk)


def purchase_by_gateway_ref(*, gateway: str, gateway_ref: str) -> Purchase | None:
    if not gateway_ref:
        return None
    return Purchase.objects.filter(gateway=gateway, gateway_ref=gateway_ref).first()


def purchase_current_session(purchase: Purchase) -> PaymentSession | None:
    return purchase.sessions.order_by("-created_at").first()


def invoice_open_payment(invoice: Invoice) -> dict | None:
    """How to pay ``invoice`` now (settings.INVOICE_PAYMENT_INFO, for its page and PDF): the pending purchase
    that pays it (a top-up's own, or the statement's Pay button) with a session still open. ``pay_url`` is
    the session's page; the sandbox also tells its virtual account number and a QRIS code (a real gateway
    only knows the account once the customer picks a bank on its page). None when no session is open."""
    now = timezone.now()
    session = (
        PaymentSession.objects.filter(
            purchase__invoice=invoice,
            purchase__status=Purchase.Status.PENDING,
            status=PaymentSession.Status.PENDING,
            expires_at__gt=now,
        )
        .select_related("purchase")
        .order_by("-created_at")
        .first()
    )
    if session is None:
        return None
    purchase = session.purchase
    info = {
        "purchase_id": str(purchase.pk),
        "order_id": purchase.order_id,
        "amount": purchase.total,
        "expires_at": session.expires_at,
        "gateway": session.gateway,
        "pay_url": settings.SITE_URL + reverse("billing:purchase_resume", args=[purchase.pk]),
        "va_number": "",
        "bank": "",
        "qr_svg": "",
    }
    if session.gateway == "sandbox" and purchase.gateway_ref:
        info["va_number"] = sandbox_gateway.virtual_account(purchase.gateway_ref)
        info["bank"] = "BCA"
        qris = sandbox_gateway.qris_payload(gateway_ref=purchase.gateway_ref, amount=purchase.total)
        # Inline SVG: WeasyPrint draws it without fetching anything (the PDF fetcher refuses data: URLs).
        info["qr_svg"] = segno.make(qris, error="m").svg_inline(scale=2, border=2)
    return info


def review_queue() -> QuerySet[Purchase]:
    """Purchases staff must decide on, oldest first."""
    return (
        Purchase.objects.filter(status=Purchase.Status.NEEDS_REVIEW, reviewed_at__isnull=True)
        .select_related("organization", "invoice")
        .order_by("created_at")
    )
