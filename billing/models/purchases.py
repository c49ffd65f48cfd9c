"""Prices, purchases, payment sessions and gateway notifications."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import format_thousands

from ..gateways import methods

__all__ = [
    "PriceList",
    "PriceTier",
    "Purchase",
    "PaymentSession",
    "PaymentNotification",
    "PurchaseReview",
    "PaymentMethod",
]


class PriceList(models.Model):
    """A price list in force from ``effective_from`` until the next list takes over. Staff edit it in the
    admin; a purchase copies the unit price it was sold at, so later edits never change old purchases."""

    name = models.CharField(_("name"), max_length=100)
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now, db_index=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["-effective_from"]
        constraints = [models.UniqueConstraint(fields=["effective_from"], name="pricelist_unique_effective_from")]

    def __str__(self) -> str:
        return f"{self.name} (from {timezone.localtime(self.effective_from):%Y-%m-%d %H:%M})"


class PriceTier(models.Model):
    """A volume tier: purchases of at least ``min_credits`` pay ``unit_price`` rupiah per credit before tax."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="tiers")
    min_credits = models.PositiveIntegerField(_("from credits"), default=1000)
    unit_price = models.PositiveIntegerField(_("price per credit (Rp, before tax)"))

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["price_list", "min_credits"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "min_credits"], name="pricetier_unique_min_credits"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="pricetier_unit_price_positive"),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_credits} credits: Rp {self.unit_price}"


class Purchase(models.Model):
    """One payment through one gateway: a top-up (credits bought at a price, ``purpose="credits"``) or the
    payment of an existing invoice from its Pay button (``purpose="invoice"``: a monthly statement; no credits
    granted, the invoice is marked paid). All money is integer rupiah."""

    class Purpose(models.TextChoices):
        CREDITS = "credits", _("Credit top-up")
        INVOICE = "invoice", _("Invoice payment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        NEEDS_REVIEW = "needs_review", _("Needs review")

    class ReviewReason(models.TextChoices):
        PAID_AFTER_CLOSE = "paid_after_close", _("Paid after the session closed")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount does not match")
        REVERSED = "reversed", _("Payment reversed or refunded")
        INVOICE_SETTLED = "invoice_settled", _("Invoice already paid or closed")

    class ReviewOutcome(models.TextChoices):
        APPROVED = "approved", _("Approved and credited")
        REFUNDED = "refunded", _("Refunded to the payer")
        DISMISSED = "dismissed", _("Dismissed")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Top-up")
        AUTO_TOPUP = "auto_topup", _("Auto top-up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="purchases", verbose_name=_("organization")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credits = models.PositiveIntegerField(_("credits"))
    unit_price = models.PositiveIntegerField(_("unit price"))
    subtotal = models.PositiveBigIntegerField(_("subtotal"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4)
    tax = models.PositiveBigIntegerField(_("tax"))
    total = models.PositiveBigIntegerField(_("total"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    gateway = models.CharField(_("gateway"), max_length=16)
    # Our order id, sent to the gateway (Midtrans order_id, Xendit external_id).
    order_id = models.CharField(_("order id"), max_length=64, unique=True)
    # What the gateway calls this payment (Midtrans/sandbox: the order id; Xendit: its invoice id).
    gateway_ref = models.CharField(_("gateway reference"), max_length=100, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    billing_snapshot = models.JSONField(_("billing details"), default=dict, blank=True)
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="purchases"
    )
    # Not a column: ``purchase_create`` sets it, False when an idempotent replay returned an existing purchase.
    created: bool = False
    lot = models.OneToOneField(
        "credits.CreditLot", null=True, blank=True, on_delete=models.PROTECT, related_name="purchase"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_amount = models.PositiveBigIntegerField(_("amount received"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Review: why staff must look, what they decided, who and when.
    review_reason = models.CharField(_("review reason"), max_length=20, choices=ReviewReason.choices, blank=True)
    review_outcome = models.CharField(_("review outcome"), max_length=12, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(_("reversed"), null=True, blank=True)
    clawed_back_credits = models.PositiveIntegerField(_("credits clawed back"), default=0)
    owed_credits = models.PositiveIntegerField(_("credits owed"), default=0)
    origin = models.CharField(_("origin"), max_length=12, choices=Origin.choices, default=Origin.MANUAL)
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose.choices, default=Purpose.CREDITS)
    # How it was paid (a billing.gateways.methods code, e.g. "qris", "bca_va"), from the gateway's notification.
    payment_method = models.CharField(_("payment method"), max_length=20, blank=True)
    payment_method_detail = models.CharField(_("payment method detail"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="purchase_unique_idempotency_key"),
            # A top-up buys credits; an invoice payment buys none (it pays the invoice).
            models.CheckConstraint(
                condition=Q(purpose="credits", credits__gt=0) | Q(purpose="invoice", credits=0),
                name="purchase_credits_positive",
            ),
            models.CheckConstraint(
                condition=Q(purpose="credits") | Q(invoice__isnull=False), name="purchase_invoice_payment_has_invoice"
            ),
            models.CheckConstraint(condition=Q(total=models.F("subtotal") + models.F("tax")), name="purchase_total"),
            # Auto top-up prepares one purchase at a time: a second open one cannot exist.
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(origin="auto_topup", status="pending"),
                name="purchase_one_open_auto_topup",
            ),
            # An invoice's Pay button reuses the open payment: one pending invoice payment per invoice.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(purpose="invoice", status="pending"),
                name="purchase_one_open_invoice_payment",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="purchase_org_created_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} · {format_thousands(self.credits)} credits"

    @property
    def pays_invoice(self) -> bool:
        return self.purpose == self.Purpose.INVOICE

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def needs_review(self) -> bool:
        return self.status == self.Status.NEEDS_REVIEW and self.reviewed_at is None

    @property
    def payment_method_label(self) -> str:
        return methods.label(self.payment_method) if self.payment_method else ""


class PaymentSession(models.Model):
    """The gateway's payment page for one purchase, open until ``expires_at``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="sessions")
    gateway = models.CharField(_("gateway"), max_length=16)
    gateway_ref = models.CharField(_("gateway reference"), max_length=100, db_index=True)
    redirect_url = models.URLField(_("payment page"), max_length=1000)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment session")
        verbose_name_plural = _("payment sessions")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="paysession_status_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.gateway_ref} ({self.status})"

    @property
    def is_due(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()


class PaymentNotification(models.Model):
    """A gateway notification exactly as received (after its signature or token was verified), stored
    under a unique key so that a redelivery is recognised. Processing writes the outcome here."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        IGNORED = "ignored", _("Ignored")

    gateway = models.CharField(_("gateway"), max_length=16)
    key = models.CharField(_("key"), max_length=255, unique=True)
    gateway_ref = models.CharField(_("gateway reference"), max_length=100, blank=True, db_index=True)
    raw_status = models.CharField(_("gateway status"), max_length=40, blank=True)
    event_status = models.CharField(_("normalized status"), max_length=16, blank=True)
    body = models.TextField(_("raw body"))
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    purchase = models.ForeignKey(
        Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(_("error"), blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.gateway_ref} {self.raw_status}"


class PurchaseReview(Purchase):
    """The staff queue: purchases waiting for a review decision (an admin view of Purchase)."""

    class Meta:
        proxy = True
        verbose_name = _("purchase needing review")
        verbose_name_plural = _("needs review queue")


class PaymentMethod(models.Model):
    """A way to pay that staff offer (or not) at checkout. The codes are Saldo's (billing.gateways.methods);
    each gateway adapter translates the enabled ones into its own list. Seeded by a data migration."""

    code = models.CharField(
        _("method"), max_length=20, unique=True, choices=[(m.code, m.label) for m in methods.CATALOGUE]
    )
    enabled = models.BooleanField(_("offered to customers"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def method(self):
        return methods.BY_CODE.get(self.code)

    @property
    def label(self) -> str:
        return self.method.label if self.method else self.code

    @property
    def kind(self) -> str:
        return self.method.kind if self.method else ""
