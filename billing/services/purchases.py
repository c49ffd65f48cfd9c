"""Purchases, payment sessions and payments.

Rules enforced here (DESIGN.md "Top-up and payment", invariant 4):

- Credits are bought in positive multiples of 1,000. Pay Now creates the purchase, its unnumbered payment
  request (pro-forma) and its payment session in one transaction; the request gets its ``INV`` number only
  when the payment is confirmed, in the transaction that grants the lot, and an expired or cancelled
  checkout closes its request unnumbered (no void invoice, no number used); the idempotency key (unique per organization) makes a double
  click, a second tab or an API retry return the first purchase instead of making another.
- Every gateway's word on a payment goes through :func:`payment_apply`, under a row lock on the purchase:
  a payment grants at most one lot and pays at most one invoice, whatever the duplicates, concurrency or
  order of notifications. A paid purchase never goes back to pending or expired (paid wins).
- Every unpaid invoice (a monthly statement) can be paid from its page: :func:`invoice_payment_start` opens
  a payment session for it (reusing the open one), as a purchase with ``purpose="invoice"`` that grants no
  credits; its payment marks the invoice paid under the same rules. Money for an invoice already paid (two
  sessions both paid), void or credited is held for staff review, never applied twice nor lost.
- Money received is never lost: paid after expiry or cancel → credited and flagged for review; an amount
  that does not match → held for review, nothing granted; paid then reversed → flagged, the unspent
  credits clawed back, the rest recorded as owed.
- Notifications are verified, stored raw under a unique key, then processed (confirmed with the
  gateway's status API where it has one). Processing records its outcome and never raises.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Organization, User
from accounts.services import audit_record
from core.money import format_thousands
from core.months import JAKARTA
from credits.services import lot_clawback, lot_grant
from invoices.models import Invoice
from invoices.services import (
    invoice_credit_note,
    invoice_mark_paid,
    invoice_request_close,
    invoice_request_create,
    invoice_settle,
    invoice_void,
)

from .. import notifications, outgoing
from ..gateways import Gateway, GatewayError, PaymentEvent, get_gateway
from ..gateways import base as events
from ..models.purchases import PaymentMethod, PaymentNotification, PaymentSession, Purchase
from ..selectors.purchases import CREDIT_STEP, MAX_CREDITS, price_quote

__all__ = [
    "PurchaseError",
    "validate_credits",
    "credit_limits",
    "purchase_create",
    "invoice_payment_start",
    "purchase_cancel",
    "payment_apply",
    "purchase_expire_if_due",
    "payment_sessions_expire_due",
    "notification_receive",
    "notification_process",
    "purchase_review_approve",
    "purchase_review_refund",
    "purchase_review_dismiss",
]

logger = logging.getLogger(__name__)

# Headers never stored with a notification: they are credentials, not news.
SECRET_HEADERS = {"x-callback-token", "authorization", "cookie", "proxy-authorization"}
BILLING_KEYS = ("name", "legal_name", "npwp", "address", "email", "document_type", "document_number", "nitku")


class PurchaseError(ValueError):
    """A purchase action the rules do not allow. ``code`` is the API error code."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def credit_limits() -> dict[str, object]:
    """The limits validate_credits enforces and the words it uses, for forms that state them up front and
    check as the customer types: the page and the server say the same thing."""
    return {
        "min": CREDIT_STEP,
        "max": MAX_CREDITS,
        "step": CREDIT_STEP,
        "help": _("From %(min)s to %(max)s credits, in multiples of %(step)s.")
        % {
            "min": format_thousands(CREDIT_STEP),
            "max": format_thousands(MAX_CREDITS),
            "step": format_thousands(CREDIT_STEP),
        },
        "step_message": _step_message(),
        "max_message": _max_message(),
    }


def _step_message() -> str:
    return _("Credits must be a positive multiple of 1,000.")


def _max_message() -> str:
    return _("At most %(max)s credits per purchase.") % {"max": format_thousands(MAX_CREDITS)}


def validate_credits(credits: Any) -> int:
    """Credits are a positive whole multiple of 1,000 (and not absurdly large)."""
    if isinstance(credits, bool):
        raise PurchaseError(_step_message(), code="invalid_credits")
    try:
        value = int(credits)
    except (TypeError, ValueError):
        raise PurchaseError(_step_message(), code="invalid_credits") from None
    if isinstance(credits, float) and credits != value or isinstance(credits, str) and credits.strip() != str(value):
        raise PurchaseError(_step_message(), code="invalid_credits")
    if value <= 0 or value % CREDIT_STEP:
        raise PurchaseError(_step_message(), code="invalid_credits")
    if value > MAX_CREDITS:
        raise PurchaseError(_max_message(), code="invalid_credits")
    return value


def enabled_method_codes() -> list[str]:
    """The payment methods staff offer, in their order (passed to the gateway at Pay Now)."""
    return list(PaymentMethod.objects.filter(enabled=True).values_list("code", flat=True))


def _new_order_id(now: datetime) -> str:
    """``SLD-YYMMDD-XXXXXXXXXX``, dated by the Asia/Jakarta calendar (the customer's and the invoice's day)."""
    return "SLD-" + timezone.localtime(now, JAKARTA).strftime("%y%m%d") + "-" + secrets.token_hex(5).upper()


def _billing_snapshot(organization: Organization, billing: dict | None) -> dict:
    billing = billing or {}
    defaults = {
        "name": organization.name,
        "legal_name": organization.legal_name,
        "npwp": organization.npwp,
        "address": organization.address,
        "email": organization.invoice_email,
        "document_type": organization.tax_document_type,
        "document_number": organization.tax_document_number,
        "nitku": organization.nitku,
    }
    snapshot = {}
    for key in BILLING_KEYS:
        value = billing.get(key)
        snapshot[key] = (defaults[key] if value is None else str(value)).strip()
    snapshot["name"] = snapshot["name"] or organization.name
    return snapshot


def purchase_create(
    *,
    organization: Organization,
    credits: int,
    idempotency_key: str = "",
    created_by: User | None = None,
    billing: dict | None = None,
    gateway: Gateway | None = None,
    now: datetime | None = None,
    origin: str = Purchase.Origin.MANUAL,
    on_created: Callable[[Purchase], object] | None = None,
) -> Purchase:
    """Pay Now: price the credits, open a payment session at the gateway, then create the purchase, its
    unnumbered payment request and the session in one transaction. The same idempotency key returns the first
    purchase (``purchase.created`` is False then); a losing race cancels its spare gateway session.
    An auto top-up (``origin``) that finds one already open returns that one (``purchase_one_open_auto_topup``).
    ``on_created(purchase)`` runs inside the transaction (the auto top-up's audit entry)."""
    credits = validate_credits(credits)
    key = (idempotency_key or "").strip()[:100] or uuid.uuid4().hex
    existing = Purchase.objects.filter(organization=organization, idempotency_key=key).first()
    if existing is not None:
        existing.created = False
        return existing

    gateway = gateway or get_gateway()
    now = now or timezone.now()
    quote = price_quote(credits=credits, at=now)
    snapshot = _billing_snapshot(organization, billing)
    purchase_id = uuid.uuid4()
    order_id = _new_order_id(now)
    expires_at = now + timedelta(hours=settings.PAYMENT_SESSION_HOURS)
    session = gateway.create_session(
        order_id=order_id,
        amount=quote.total,
        description=f"Saldo {format_thousands(credits)} credits",
        customer={"first_name": snapshot["legal_name"] or snapshot["name"], "email": snapshot["email"]},
        items=[
            {
                "id": "credits",
                "name": f"{format_thousands(credits)} message credits",
                "quantity": 1,
                "price": quote.total,
            },
        ],
        start=now,
        expires_at=expires_at,
        return_url=settings.SITE_URL + reverse("billing:purchase_status", args=[purchase_id]),
        enabled_methods=enabled_method_codes(),
    )
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                id=purchase_id,
                organization=organization,
                created_by=created_by if created_by is not None and created_by.pk else None,
                credits=credits,
                unit_price=quote.unit_price,
                subtotal=quote.subtotal,
                tax_rate=quote.tax_rate,
                tax=quote.tax,
                total=quote.total,
                gateway=gateway.name,
                order_id=order_id,
                gateway_ref=session.gateway_ref,
                idempotency_key=key,
                billing_snapshot=snapshot,
                created_at=now,
                origin=origin,
            )

            invoice = invoice_request_create(
                organization=organization,
                lines=[
                    {
                        "code": "credits",
                        "params": {"days": settings.CREDIT_VALIDITY_DAYS},
                        "quantity": credits,
                        "unit_price": quote.unit_price,
                        "tax_rate": quote.tax_rate,
                    },
                ],
                buyer=snapshot,
                kind=Invoice.Kind.PURCHASE,
                reference=order_id,
                tax_date=now,  # the day the quote's tax rule was taken for
                due_at=session.expires_at,
            )
            if invoice.total != purchase.total:  # both round the same line half-up; a difference is a bug
                raise PurchaseError(f"Invoice total {invoice.total} differs from purchase total {purchase.total}")
            purchase.invoice = invoice
            purchase.save(update_fields=["invoice"])
            PaymentSession.objects.create(
                purchase=purchase,
                gateway=gateway.name,
                gateway_ref=session.gateway_ref,
                redirect_url=session.redirect_url,
                created_at=now,
                expires_at=session.expires_at,
            )
            if on_created is not None:
                on_created(purchase)
            notifications.purchase_created(purchase)
    except IntegrityError:
        existing = Purchase.objects.filter(organization=organization, idempotency_key=key).first()
        if existing is None and origin == Purchase.Origin.AUTO_TOPUP:
            existing = Purchase.objects.filter(
                organization=organization, origin=origin, status=Purchase.Status.PENDING
            ).first()
        if existing is None:
            raise
        _cancel_quietly(gateway, session.gateway_ref)
        existing.created = False
        return existing
    purchase.created = True
    return purchase


def _open_invoice_payment(invoice: Invoice, now: datetime) -> Purchase | None:
    """The invoice's pending payment whose session is still open, if any."""
    purchase = (
        Purchase.objects.filter(invoice=invoice, purpose=Purchase.Purpose.INVOICE, status=Purchase.Status.PENDING)
        .select_related("invoice")
        .first()
    )
    if purchase is None:
        return None
    if purchase.sessions.filter(status=PaymentSession.Status.PENDING, expires_at__gt=now).exists():
        return purchase
    # Its session is past expiry but the job has not run yet: expire it now (paid wins), then start afresh.
    purchase_expire_if_due(purchase_id=purchase.pk, now=now)
    purchase.refresh_from_db()
    return purchase if purchase.status == Purchase.Status.PENDING else None


def invoice_payment_start(
    *,
    invoice: Invoice,
    created_by: User | None = None,
    gateway: Gateway | None = None,
    now: datetime | None = None,
) -> Purchase:
    """The Pay button of an unpaid invoice (a monthly statement, or an issued invoice): a payment session of
    ``PAYMENT_SESSION_HOURS`` on the configured gateway for the invoice's total, as a purchase with
    ``purpose="invoice"`` that grants no credits. An open one is reused (one pending invoice payment per
    invoice, a unique constraint: two clicks at once find the same). A payment request of a top-up is paid
    through its own purchase, which is returned. Raises :class:`PurchaseError` when nothing is left to pay."""
    now = now or timezone.now()
    if invoice.is_request:
        own = Purchase.objects.filter(invoice=invoice, purpose=Purchase.Purpose.CREDITS).first()
        if own is not None and own.status == Purchase.Status.PENDING:
            own.created = False
            return own
    if invoice.status != Invoice.Status.ISSUED or invoice.is_credit_note:
        raise PurchaseError(_("This invoice is not waiting for payment."), code="not_payable")
    existing = _open_invoice_payment(invoice, now)
    if existing is not None:
        existing.created = False
        return existing

    gateway = gateway or get_gateway()
    purchase_id = uuid.uuid4()
    order_id = _new_order_id(now)
    expires_at = now + timedelta(hours=settings.PAYMENT_SESSION_HOURS)
    label = _("Invoice %(number)s") % {"number": invoice.number}
    session = gateway.create_session(
        order_id=order_id,
        amount=invoice.total,
        description=f"Saldo {invoice.number}",
        customer={"first_name": invoice.buyer_display_name, "email": invoice.buyer_email},
        items=[{"id": "invoice", "name": label[:50], "quantity": 1, "price": invoice.total}],
        start=now,
        expires_at=expires_at,
        return_url=settings.SITE_URL + reverse("billing:purchase_status", args=[purchase_id]),
        enabled_methods=enabled_method_codes(),
    )
    rates = {line.tax_rate for line in invoice.lines.all()}
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                id=purchase_id,
                organization=invoice.organization,
                created_by=created_by if created_by is not None and created_by.pk else None,
                purpose=Purchase.Purpose.INVOICE,
                invoice=invoice,
                credits=0,
                unit_price=0,
                subtotal=invoice.subtotal,
                tax_rate=next(iter(rates)) if len(rates) == 1 else 0,
                tax=invoice.tax,
                total=invoice.total,
                gateway=gateway.name,
                order_id=order_id,
                gateway_ref=session.gateway_ref,
                idempotency_key=f"invoice:{invoice.pk}:{order_id}",
                billing_snapshot={"name": invoice.buyer_name, "email": invoice.buyer_email},
                created_at=now,
            )
            PaymentSession.objects.create(
                purchase=purchase,
                gateway=gateway.name,
                gateway_ref=session.gateway_ref,
                redirect_url=session.redirect_url,
                created_at=now,
                expires_at=session.expires_at,
            )
    except IntegrityError:
        # Another click opened one first: use it, and close the spare session at the gateway.
        existing = Purchase.objects.filter(
            invoice=invoice, purpose=Purchase.Purpose.INVOICE, status=Purchase.Status.PENDING
        ).first()
        if existing is None:
            raise
        _cancel_quietly(gateway, session.gateway_ref)
        existing.created = False
        return existing
    purchase.created = True
    return purchase


def _cancel_quietly(gateway: Gateway, gateway_ref: str) -> None:
    try:
        gateway.cancel(gateway_ref)
    except GatewayError:
        logger.warning("could not cancel %s session %s at the gateway", gateway.name, gateway_ref, exc_info=True)


def _lock(purchase: Purchase) -> Purchase:
    return Purchase.objects.select_for_update(of=("self",)).select_related("invoice", "lot").get(pk=purchase.pk)


def _close_sessions(purchase: Purchase, status: str, now: datetime) -> None:
    purchase.sessions.filter(status=PaymentSession.Status.PENDING).update(status=status, closed_at=now)


def _void_invoice(purchase: Purchase, reason: str) -> None:
    """A closed checkout: its payment request is closed unnumbered. An invoice paid from its Pay button is
    never touched (the statement stays due). A numbered unpaid purchase invoice (made before payment
    requests existed) is voided as it was then."""
    invoice = purchase.invoice
    if invoice is None or purchase.pays_invoice:
        return
    if invoice.status == Invoice.Status.REQUEST:
        purchase.invoice = invoice_request_close(invoice=invoice, reason=reason)
    elif invoice.status in (Invoice.Status.DRAFT, Invoice.Status.ISSUED):
        purchase.invoice = invoice_void(invoice=invoice, reason=reason)


def _settle_invoice(purchase: Purchase, *, now: datetime, payment_reference: str) -> bool:
    """An invoice payment: mark the invoice paid if it still waits for payment. False when it was already
    paid (another session), void or credited: the money is then held for review."""
    if purchase.invoice is None:
        return False
    purchase.invoice, settled = invoice_settle(
        invoice=purchase.invoice, paid_at=now, payment_reference=payment_reference
    )
    return settled


def _grant_and_pay(
    purchase: Purchase, *, now: datetime, payment_reference: str, created_by: User | None = None
) -> None:
    """Grant the purchase's one lot and mark its invoice paid: the payment request is numbered now, in this
    transaction (a void one is replaced by a paid copy)."""
    if purchase.pays_invoice:
        _settle_invoice(purchase, now=now, payment_reference=payment_reference)
        return
    if purchase.lot_id is None:
        purchase.lot = lot_grant(
            organization=purchase.organization,
            credits=purchase.credits,
            source="purchase",
            description_code="purchase",
            description_params={"order_id": purchase.order_id},
            created_by=created_by,
            reference=f"purchase:{purchase.pk}",
            granted_at=now,
        )
    if purchase.invoice is not None:
        purchase.invoice = invoice_mark_paid(invoice=purchase.invoice, paid_at=now, payment_reference=payment_reference)


def _apply_paid(purchase: Purchase, event: PaymentEvent, now: datetime) -> None:
    if purchase.paid_at is not None or purchase.reversed_at is not None:
        return  # this payment is already recorded: a duplicate or reordered notification
    was_open = purchase.status == Purchase.Status.PENDING
    purchase.paid_at = now
    purchase.paid_amount = event.amount
    purchase.payment_method = event.method[:20] or purchase.payment_method
    purchase.payment_method_detail = event.method_detail[:40] or purchase.payment_method_detail
    purchase.closed_at = purchase.closed_at or now
    _close_sessions(purchase, PaymentSession.Status.PAID, now)
    if event.amount != purchase.total:
        # Hold the money for staff: granting the wrong amount of credits is worse than waiting.
        purchase.status = Purchase.Status.NEEDS_REVIEW
        purchase.review_reason = Purchase.ReviewReason.AMOUNT_MISMATCH
        return
    if purchase.pays_invoice:
        # The invoice is what was bought: paid while it still waits for payment (even through a session that
        # closed meanwhile); otherwise the money is held for staff, never applied twice.
        reference = event.transaction_id or purchase.gateway_ref or ""
        if _settle_invoice(purchase, now=now, payment_reference=reference):
            purchase.status = Purchase.Status.PAID
        else:
            purchase.status = Purchase.Status.NEEDS_REVIEW
            purchase.review_reason = Purchase.ReviewReason.INVOICE_SETTLED
        return
    _grant_and_pay(purchase, now=now, payment_reference=event.transaction_id or purchase.gateway_ref or "")
    if was_open:
        purchase.status = Purchase.Status.PAID
    else:
        purchase.status = Purchase.Status.NEEDS_REVIEW
        purchase.review_reason = Purchase.ReviewReason.PAID_AFTER_CLOSE


def _apply_closed(purchase: Purchase, status: str, now: datetime, reason: str) -> bool:
    if purchase.status != Purchase.Status.PENDING:
        return False  # paid wins; a closed purchase stays as it is
    purchase.status = status
    purchase.closed_at = now
    _close_sessions(purchase, status, now)
    _void_invoice(purchase, reason)
    return True


def _clawback(purchase: Purchase, *, code: str, params: dict, reference: str, created_by: User | None = None) -> None:
    if purchase.lot is None:
        return
    taken = lot_clawback(
        lot=purchase.lot,
        description_code=code,
        description_params=params,
        reference=reference,
        created_by=created_by,
    )
    purchase.clawed_back_credits = taken
    purchase.owed_credits = max(purchase.credits - taken, 0)


def _apply_reversed(purchase: Purchase, event: PaymentEvent, now: datetime) -> None:
    if purchase.reversed_at is not None:
        return
    purchase.reversed_at = now
    _clawback(
        purchase,
        code="payment_reversed",
        params={"status": event.raw_status or "reversed", "order_id": purchase.order_id},
        reference=f"reversal:{purchase.pk}",
    )
    if purchase.status == Purchase.Status.PENDING:
        _close_sessions(purchase, PaymentSession.Status.FAILED, now)
        _void_invoice(purchase, gettext_noop("Payment reversed"))
    purchase.status = Purchase.Status.NEEDS_REVIEW
    purchase.review_reason = Purchase.ReviewReason.REVERSED
    purchase.review_outcome = ""
    purchase.reviewed_at = None
    purchase.reviewed_by = None


_CLOSING = {
    events.EXPIRED: (Purchase.Status.EXPIRED, gettext_noop("Payment session expired")),
    events.CANCELLED: (Purchase.Status.CANCELLED, gettext_noop("Payment cancelled")),
    events.FAILED: (Purchase.Status.FAILED, gettext_noop("Payment failed")),
}


def _apply_locked(purchase: Purchase, event: PaymentEvent, now: datetime) -> Purchase:
    before = purchase.status
    if event.status == events.PAID:
        _apply_paid(purchase, event, now)
    elif event.status in _CLOSING:
        status, reason = _CLOSING[event.status]
        _apply_closed(purchase, status, now, reason)
    elif event.status == events.REVERSED:
        _apply_reversed(purchase, event, now)
    # pending and unknown statuses change nothing: a late "pending" never undoes a payment.
    purchase.save()
    notifications.purchase_status_changed(purchase, before)
    return purchase


def payment_apply(*, purchase: Purchase, event: PaymentEvent, now: datetime | None = None) -> Purchase:
    """Apply the gateway's (verified, confirmed) word on a payment, under a row lock on the purchase.
    Idempotent: the same event twice, or events in any order, grant at most one lot and pay at most one
    invoice."""
    with transaction.atomic():
        locked = _lock(purchase)
        return _apply_locked(locked, event, now or timezone.now())


def purchase_cancel(*, purchase: Purchase, actor: User | None = None, now: datetime | None = None) -> Purchase:
    """The buyer gives up a pending purchase: close the gateway session, void the invoice. A payment that
    still arrives later is credited and flagged for review."""
    if purchase.status != Purchase.Status.PENDING:
        raise PurchaseError(_("Only a pending purchase can be cancelled."), code="not_pending")
    gateway = get_gateway(purchase.gateway)
    if purchase.gateway_ref:
        _cancel_quietly(gateway, purchase.gateway_ref)
    with transaction.atomic():
        locked = _lock(purchase)
        _apply_closed(locked, Purchase.Status.CANCELLED, now or timezone.now(), gettext_noop("Cancelled by the buyer"))
        locked.save()
    return locked


def purchase_expire_if_due(*, purchase_id: uuid.UUID | str, now: datetime | None = None) -> str:
    """One pending purchase whose session is past ``expires_at``: ask the gateway first (paid wins), else
    expire it and void its invoice. Returns what happened: "paid", "expired", "skipped". Locks with
    SKIP LOCKED so two workers never handle the same purchase."""
    now = now or timezone.now()
    with transaction.atomic():
        purchase = (
            Purchase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invoice", "lot")
            .filter(pk=purchase_id, status=Purchase.Status.PENDING)
            .first()
        )
        if purchase is None:
            return "skipped"
        if not purchase.sessions.filter(status=PaymentSession.Status.PENDING, expires_at__lte=now).exists():
            return "skipped"
        gateway = get_gateway(purchase.gateway)
        try:
            event = gateway.fetch_status(purchase.gateway_ref) if purchase.gateway_ref else None
        except GatewayError:
            logger.warning("status check failed for %s; will retry", purchase.order_id, exc_info=True)
            return "skipped"
        if event is not None and event.status == events.PAID:
            _apply_locked(purchase, event, now)
            return purchase.status
        if event is not None and event.status == events.REVERSED:
            _apply_locked(purchase, event, now)
            return purchase.status
        _apply_closed(purchase, Purchase.Status.EXPIRED, now, gettext_noop("Payment session expired"))
        purchase.save()
        notifications.purchase_status_changed(purchase, Purchase.Status.PENDING)
        ref = purchase.gateway_ref
    if ref and (event is None or event.status == events.PENDING):
        _cancel_quietly(gateway, ref)  # make sure the gateway stops taking money for it
    return "expired"


def payment_sessions_expire_due(*, now: datetime | None = None, limit: int = 500) -> dict:
    """The periodic job: every pending purchase with a session past ``expires_at``. Idempotent."""
    now = now or timezone.now()
    purchase_ids = list(
        PaymentSession.objects.filter(
            status=PaymentSession.Status.PENDING, expires_at__lte=now, purchase__status=Purchase.Status.PENDING
        )
        .order_by("expires_at")
        .values_list("purchase_id", flat=True)
        .distinct()[:limit]
    )
    outcome: dict[str, int] = {}
    for purchase_id in purchase_ids:
        result = purchase_expire_if_due(purchase_id=purchase_id, now=now)
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


# --- Notifications -------------------------------------------------------------------------------


def _safe_headers(headers: Mapping[str, str]) -> dict:
    return {str(k).lower(): str(v) for k, v in dict(headers).items() if str(k).lower() not in SECRET_HEADERS}


def notification_receive(
    *, gateway_name: str, headers: Mapping[str, str], body: bytes
) -> tuple[PaymentNotification, bool]:
    """Verify a notification and store it raw under its unique key. Returns (notification, needs_processing).
    Raises :class:`InvalidNotification` (nothing is stored) when verification fails."""
    gateway = get_gateway(gateway_name)
    event = gateway.verify_notification(headers, body)
    key = event.key or f"{gateway.name}:{hashlib.sha256(body).hexdigest()}"
    try:
        with transaction.atomic():
            notification = PaymentNotification.objects.create(
                gateway=gateway.name,
                key=key[:255],
                gateway_ref=event.gateway_ref[:100],
                raw_status=event.raw_status[:40],
                event_status=event.status,
                body=body.decode("utf-8", errors="replace"),
                headers=_safe_headers(headers),
            )
        return notification, True
    except IntegrityError:
        PaymentNotification.objects.filter(key=key[:255]).update(deliveries=F("deliveries") + 1)
        notification = PaymentNotification.objects.get(key=key[:255])
        # A redelivery of something not yet applied (failed, or still waiting) is worth another try.
        return notification, notification.status in (
            PaymentNotification.Status.RECEIVED,
            PaymentNotification.Status.FAILED,
        )


def _finish(
    notification: PaymentNotification, status: str, error: str = "", purchase: Purchase | None = None
) -> PaymentNotification:
    notification.status = status
    notification.error = error
    notification.processed_at = timezone.now()
    if purchase is not None:
        notification.purchase = purchase
    notification.save(update_fields=["status", "error", "processed_at", "purchase"])
    return notification


def notification_process(*, notification: PaymentNotification) -> PaymentNotification:
    """Apply a stored notification: find the purchase, confirm with the gateway's status API (Midtrans,
    Xendit), then :func:`payment_apply`. Records processed / ignored / failed with the error; never raises."""
    try:
        gateway = get_gateway(notification.gateway)
        event = gateway.parse(json.loads(notification.body))
        purchase = None
        for candidate in (event.gateway_ref, str(event.raw.get("external_id") or "")):
            purchase = purchase or _purchase_for_ref(notification.gateway, candidate)
        if purchase is None:
            return _finish(notification, PaymentNotification.Status.IGNORED, f"no purchase for {event.gateway_ref!r}")
        if not event.is_known:
            return _finish(
                notification, PaymentNotification.Status.IGNORED, f"unknown status {event.raw_status!r}", purchase
            )
        if gateway.confirms_with_status_api:
            confirmed = gateway.fetch_status(purchase.gateway_ref or "")
            if confirmed is None:
                return _finish(notification, PaymentNotification.Status.FAILED, "status API has no record", purchase)
            if not confirmed.is_known:
                return _finish(
                    notification,
                    PaymentNotification.Status.IGNORED,
                    f"status API says unknown status {confirmed.raw_status!r}",
                    purchase,
                )
            event = confirmed
        payment_apply(purchase=purchase, event=event)
        return _finish(notification, PaymentNotification.Status.PROCESSED, "", purchase)
    except Exception as exc:  # a notification must never turn into a 500 or a lost message
        logger.exception("payment notification %s failed", notification.pk)
        return _finish(notification, PaymentNotification.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000])


def _purchase_for_ref(gateway: str, ref: str) -> Purchase | None:
    if not ref:
        return None
    return (
        Purchase.objects.filter(gateway=gateway, gateway_ref=ref).first()
        or Purchase.objects.filter(gateway=gateway, order_id=ref).first()
    )


# --- Staff review --------------------------------------------------------------------------------


def _review_lock(purchase: Purchase) -> Purchase:
    locked = _lock(purchase)
    if locked.status != Purchase.Status.NEEDS_REVIEW or locked.reviewed_at is not None:
        raise PurchaseError(_("This purchase is not waiting for review."), code="not_in_review")
    return locked


def _review_state(purchase: Purchase) -> dict:
    return {
        "status": purchase.status,
        "review_reason": purchase.review_reason,
        "lot": str(purchase.lot_id or ""),
        "invoice_status": purchase.invoice.status if purchase.invoice is not None else "",
        "owed_credits": purchase.owed_credits,
    }


def _require_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise PurchaseError(_("A note is required for a review decision."), code="note_required")
    return note


def _review_close(
    purchase: Purchase,
    *,
    action: str,
    outcome: str,
    actor: User,
    note: str,
    before: dict,
    now: datetime | None = None,
) -> Purchase:
    """Close a review: record the outcome, who and why, save, and write the audit entry in this transaction."""
    purchase.review_outcome = outcome
    purchase.review_note = note
    purchase.reviewed_at = now or timezone.now()
    purchase.reviewed_by = actor
    purchase.save()
    outgoing.purchase_status_changed(purchase, before["status"])
    audit_record(
        action=f"purchase.review_{action}",
        actor=actor,
        organization=purchase.organization,
        target=purchase,
        before=before,
        after=_review_state(purchase),
        reason=note,
    )
    return purchase


@transaction.atomic(durable=True)
def purchase_review_approve(*, purchase: Purchase, actor: User, note: str) -> Purchase:
    """Staff accept the payment as it is: credit it if not yet credited (an amount mismatch staff judged
    acceptable), mark the invoice paid, and close the review. Not for reversed payments."""
    note = _require_note(note)
    purchase = _review_lock(purchase)
    if purchase.review_reason == Purchase.ReviewReason.REVERSED:
        raise PurchaseError(_("A reversed payment cannot be approved: record a refund note or dismiss."))
    if purchase.review_reason == Purchase.ReviewReason.INVOICE_SETTLED:
        raise PurchaseError(_("The invoice was already settled: refund this payment or dismiss."))
    before = _review_state(purchase)
    now = timezone.now()
    _grant_and_pay(purchase, now=now, payment_reference=purchase.gateway_ref or "", created_by=actor)
    purchase.status = Purchase.Status.PAID
    purchase.paid_at = purchase.paid_at or now
    return _review_close(
        purchase,
        action="approve",
        outcome=Purchase.ReviewOutcome.APPROVED,
        actor=actor,
        note=note,
        before=before,
        now=now,
    )


@transaction.atomic(durable=True)
def purchase_review_refund(*, purchase: Purchase, actor: User, note: str) -> Purchase:
    """Staff returned the money to the payer outside Saldo: take back what is unspent of the lot (the
    rest stays owed), void an unpaid invoice or issue a credit note for a paid one, and close as cancelled."""

    note = _require_note(note)
    purchase = _review_lock(purchase)
    before = _review_state(purchase)
    now = timezone.now()
    if purchase.lot_id and purchase.reversed_at is None:
        _clawback(purchase, code="refund", params={"note": note}, reference=f"refund:{purchase.pk}", created_by=actor)
    if purchase.invoice is not None and not purchase.pays_invoice:  # one paid by another payment stays as is
        if purchase.invoice.status == Invoice.Status.PAID:
            invoice_credit_note(invoice=purchase.invoice, reason=f"Refunded: {note}", actor=actor)
        else:
            _void_invoice(purchase, f"Refunded: {note}")
    purchase.status = Purchase.Status.CANCELLED
    return _review_close(
        purchase,
        action="refund",
        outcome=Purchase.ReviewOutcome.REFUNDED,
        actor=actor,
        note=note,
        before=before,
        now=now,
    )


@transaction.atomic(durable=True)
def purchase_review_dismiss(*, purchase: Purchase, actor: User, note: str) -> Purchase:
    """Staff looked and nothing needs changing (e.g. a late payment that was rightly credited, or a
    reversal whose owed credits are being collected elsewhere). The purchase leaves the queue; a credited
    late payment becomes paid."""
    note = _require_note(note)
    purchase = _review_lock(purchase)
    before = _review_state(purchase)
    if purchase.review_reason == Purchase.ReviewReason.PAID_AFTER_CLOSE and purchase.lot_id:
        purchase.status = Purchase.Status.PAID
    return _review_close(
        purchase, action="dismiss", outcome=Purchase.ReviewOutcome.DISMISSED, actor=actor, note=note, before=before
    )


def webhook_handle(*, gateway_name: str, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
    """What ``/webhooks/payments/<gateway>`` does, shared with the sandbox page so that its notifications
    take exactly the real path: verify, store, queue processing. Raises ``InvalidNotification`` when the
    notification fails verification (nothing is stored then); the view maps that to its HTTP answer."""
    from ..tasks.purchases import process_payment_notification

    notification, needs_processing = notification_receive(gateway_name=gateway_name, headers=headers, body=body)
    if needs_processing:
        # The notification row is already committed (its own atomic block; webhooks run outside any
        # request transaction), so the worker can read it: queue now rather than on_commit.
        try:
            process_payment_notification.delay(notification.pk)
        except Exception:  # broker down: do the work here rather than leave a stored payment unapplied
            logger.warning("could not queue notification %s; processing inline", notification.pk, exc_info=True)
            notification_process(notification=notification)
    return notification


def notification_reprocess(*, notification: PaymentNotification, actor: User) -> PaymentNotification:
    """Staff reprocess a stored notification: confirm with the gateway again and apply (idempotent, so a
    notification already applied changes nothing). The gateway call runs outside any transaction; the audit
    entry (who, and the notification's state before and after) is written once the outcome is known."""
    before = {"status": notification.status, "error": notification.error}
    done = notification_process(notification=notification)
    with transaction.atomic(durable=True):
        audit_record(
            action="payment_notification.reprocess",
            actor=actor,
            organization=done.purchase.organization if done.purchase is not None else None,
            target=done,
            before=before,
            after={"status": done.status, "error": done.error},
            reason=_("Reprocessed from the admin"),
        )
    return done
