"""The e-mails that lead to payment, queued inside the transaction of their cause (delivered after commit):
payment instructions after Pay Now, payment received (with the invoice PDF), payment expired or failed, and
auto top-up prepared. Each goes to the person who clicked Pay Now, or to the owners when nobody did (auto
top-up), each in their own language."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from accounts.models import Membership
from core.emails import email_send, recipient_for_user

from . import outgoing
from .models.purchases import PaymentMethod, Purchase

__all__ = ["purchase_created", "purchase_status_changed"]


def _owners(purchase: Purchase) -> list:
    memberships = Membership.objects.filter(
        organization_id=purchase.organization_id, role=Membership.Role.OWNER, user__is_active=True
    ).select_related("user")
    return [m.user for m in memberships]


def _recipients(purchase: Purchase) -> list:
    user = purchase.created_by
    users = [user] if user is not None and user.is_active else _owners(purchase)
    return [recipient_for_user(u) for u in users]


def _context(purchase: Purchase) -> dict:
    session = purchase.sessions.order_by("-created_at").first()
    return {
        "purchase": purchase,
        "organization": purchase.organization,
        "session": session,
        "pay_url": settings.SITE_URL + reverse("billing:purchase_resume", args=[purchase.pk]),
        "status_url": settings.SITE_URL + reverse("billing:purchase_status", args=[purchase.pk]),
        "topup_url": settings.SITE_URL + reverse("topup:top_up"),
        "methods": [m.label for m in PaymentMethod.objects.filter(enabled=True)],
    }


def _send(purchase: Purchase, kind: str, template: str, **extra) -> None:
    email_send(
        kind=kind,
        template=template,
        context={**_context(purchase), **extra.pop("context", {})},
        recipients=_recipients(purchase),
        organization=purchase.organization,
        dedupe_key=f"{kind}:{purchase.pk}",
        **extra,
    )


def purchase_created(purchase: Purchase) -> None:
    if purchase.origin == Purchase.Origin.AUTO_TOPUP:
        _send(purchase, "auto_topup_prepared", "billing/email/auto_topup_prepared")
    else:
        _send(purchase, "payment_instructions", "billing/email/payment_instructions")


def purchase_status_changed(purchase: Purchase, before: str) -> None:
    """Called by payment_apply after it saved the purchase (same transaction). An invoice payment (a
    statement's Pay button) sends nothing here: the paid invoice's own e-mail carries the news."""
    if purchase.status == before or purchase.pays_invoice:
        return
    outgoing.purchase_status_changed(purchase, before)
    if purchase.status == Purchase.Status.PAID and purchase.lot_id:
        attachments = [{"invoice_pdf": str(purchase.invoice_id)}] if purchase.invoice_id else []
        _send(
            purchase,
            "payment_received",
            "billing/email/payment_received",
            attachments=attachments,
            context={"lot": purchase.lot, "invoice": purchase.invoice},
        )
    elif purchase.status in (Purchase.Status.EXPIRED, Purchase.Status.FAILED):
        _send(purchase, f"payment_{purchase.status}", "billing/email/payment_closed")
