"""WhatsApp numbers, raw Meta webhook deliveries, message statuses, rated conversations, rate cards and
monthly statements.

A "conversation" here is the unit Meta charges: a 24-hour conversation under conversation-based pricing
(CBP, until 30 June 2025) or one delivered template message under per-message pricing (PMP, from 1 July 2025).
"""

import uuid
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    UTILITY = "utility", _("Utility")
    AUTHENTICATION = "authentication", _("Authentication")
    SERVICE = "service", _("Service")


class RateCategory(models.TextChoices):
    """What a message is charged at: the four categories, and authentication-international (Meta's separate,
    higher rate for authentication sent to some markets by businesses based elsewhere)."""

    MARKETING = "marketing", _("Marketing")
    UTILITY = "utility", _("Utility")
    AUTHENTICATION = "authentication", _("Authentication")
    AUTHENTICATION_INTERNATIONAL = "authentication_international", _("Authentication-international")
    SERVICE = "service", _("Service")


class PricingModel(models.TextChoices):
    CBP = "CBP", _("Conversation-based")
    PMP = "PMP", _("Per-message")


class FreeReason(models.TextChoices):
    NONE = "", _("—")
    FREE_TIER = "free_tier", _("Free tier (1,000 service conversations a month)")
    FREE_SERVICE = "free_service", _("Service conversations are free")
    FREE_ENTRY_POINT = "free_entry_point", _("Free entry point")
    FREE_CUSTOMER_SERVICE = "free_customer_service", _("Inside the customer service window")
    NO_RATE = "no_rate", _("No rate card")


def validate_time_zone(value: str) -> None:
    """An IANA time zone name (``Asia/Jakarta``), as Meta shows a WhatsApp Business Account's time zone."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(value)s is not a time zone name such as Asia/Jakarta."), params={"value": value})


class WhatsAppNumber(models.Model):
    """A WhatsApp Business phone number an organization sends from. Meta identifies it by ``phone_number_id``."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="whatsapp_numbers",
        verbose_name=_("organization"),
    )
    phone_number_id = models.CharField(_("phone number ID"), max_length=64, unique=True)
    waba_id = models.CharField(_("WhatsApp Business Account ID"), max_length=64, db_index=True)
    display_number = models.CharField(_("display number"), max_length=32)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Asia/Jakarta",
        validators=[validate_time_zone],
        help_text=_("The WhatsApp Business Account's time zone: Meta's pricing switches and monthly tiers follow it"),
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("WhatsApp number")
        verbose_name_plural = _("WhatsApp numbers")
        ordering = ["display_number"]

    def __str__(self) -> str:
        return f"{self.display_number} ({self.phone_number_id})"


class UnknownNumber(models.Model):
    """A ``phone_number_id`` Meta sent us that belongs to no organization yet. Kept so staff can assign it."""

    phone_number_id = models.CharField(_("phone number ID"), max_length=64, unique=True)
    waba_id = models.CharField(_("WhatsApp Business Account ID"), max_length=64, blank=True)
    display_number = models.CharField(_("display number"), max_length=32, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    statuses_seen = models.PositiveIntegerField(_("statuses seen"), default=0)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("unknown WhatsApp number")
        verbose_name_plural = _("unknown WhatsApp numbers")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.display_number or '?'} ({self.phone_number_id})"


class WebhookEvent(models.Model):
    """One delivery of Meta's webhook, stored raw once its signature is verified.

    ``body_sha256`` is unique: Meta retries a delivery for days, a retry is the same body and is stored once.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FLAGGED = "flagged", _("Processed with warnings")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, unique=True)
    body = models.TextField(_("raw body"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    statuses_count = models.PositiveIntegerField(_("statuses"), default=0)
    messages_count = models.PositiveIntegerField(_("inbound messages"), default=0)
    flags = models.JSONField(_("warnings"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    phone_number_ids = models.CharField(_("phone number IDs"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("WhatsApp webhook event")
        verbose_name_plural = _("WhatsApp webhook events")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(status="received"), name="wa_event_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class MessageStatus(models.Model):
    """Everything Meta told us about one outbound message (``wamid``), merged across its status webhooks.

    Statuses arrive duplicated and in any order; the merge keeps the earliest time of each status and the
    pricing of the delivered/read webhook (``v24+`` carries pricing on only one of them).
    """

    phone_number_id = models.CharField(_("phone number ID"), max_length=64)
    wamid = models.CharField(_("message ID"), max_length=255)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.CharField(_("recipient"), max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    conversation_id = models.CharField(max_length=255, blank=True)
    conversation_expires_at = models.DateTimeField(null=True, blank=True)
    origin_type = models.CharField(max_length=64, blank=True)
    pricing_model = models.CharField(max_length=16, blank=True)
    pricing_category = models.CharField(max_length=64, blank=True)
    pricing_type = models.CharField(max_length=64, blank=True)
    billable = models.BooleanField(null=True)
    pricing_rank = models.PositiveSmallIntegerField(default=0, help_text="Which status the pricing came from")
    errors = models.JSONField(default=list, blank=True)
    charge_key = models.CharField(max_length=255, blank=True, help_text="The conversation this message was counted in")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message status")
        verbose_name_plural = _("message statuses")
        constraints = [
            models.UniqueConstraint(fields=["wamid", "phone_number_id"], name="wa_status_unique_message"),
        ]
        indexes = [
            # A CBP conversation opens at its earliest delivered message: found by conversation id.
            models.Index(
                fields=["phone_number_id", "conversation_id"],
                condition=~Q(conversation_id=""),
                name="wa_status_conversation_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.wamid

    @property
    def delivered(self) -> bool:
        # A read message was delivered, whatever order the webhooks came in.
        return self.delivered_at is not None or self.read_at is not None


class RateCardImport(models.Model):
    """One of Meta's published rate card files, uploaded by staff: parsed and previewed, then applied once.

    Applying creates the file's cards (markets × categories × volume tiers) from its effective date; a file
    is applied at most once (its SHA-256 is unique)."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Previewed")
        APPLIED = "applied", _("Applied")

    file_name = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    currency = models.CharField(_("currency"), max_length=3)
    effective_from = models.DateTimeField(_("effective from"))
    rows = models.JSONField(_("rates read"), default=list)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEW)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rate card import")
        verbose_name_plural = _("rate card imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.currency}, from {self.effective_from:%Y-%m-%d})"


class RateCard(models.Model):
    """Meta's price for one market, category and volume tier from ``effective_from`` on.

    ``effective_from`` is a wall-clock time in the business's time zone (stored as that time in UTC): Meta's
    rate changes take effect at local midnight. ``tier_from`` is the first message of the month (per
    organization, i.e. Meta's business portfolio across its WABAs, market and category) the price applies to: 1 for the list rate, higher for Meta's volume tiers.
    A card is frozen once it has rated traffic, so history keeps the price it was billed at.
    """

    OTHER_MARKET = "other"

    market = models.CharField(
        _("market"),
        max_length=40,
        help_text=_("ISO country code of the recipient (e.g. ID), a Meta region key, or 'other'"),
    )
    category = models.CharField(_("category"), max_length=32, choices=RateCategory.choices)
    price = models.DecimalField(_("price (IDR)"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="IDR", editable=False)
    effective_from = models.DateTimeField(_("effective from"))
    tier_from = models.PositiveBigIntegerField(
        _("from message"), default=1, help_text=_("Volume tier: the month's Nth charged message on (1 = list rate)")
    )
    tier_to = models.PositiveBigIntegerField(_("to message"), null=True, blank=True)
    imported_from = models.ForeignKey(
        RateCardImport, on_delete=models.PROTECT, null=True, blank=True, related_name="cards", editable=False
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("rate card")
        verbose_name_plural = _("rate cards")
        ordering = ["market", "category", "-effective_from", "tier_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "category", "effective_from", "tier_from"], name="wa_rate_unique_from_tier"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="wa_rate_price_not_negative"),
            models.CheckConstraint(condition=Q(tier_from__gte=1), name="wa_rate_tier_from_positive"),
        ]

    def __str__(self) -> str:
        tier = f" from message {self.tier_from:,}" if self.tier_from > 1 else ""
        return f"{self.market} {self.category} Rp {self.price} from {self.effective_from:%Y-%m-%d}{tier}"


class MonthlyStatement(models.Model):
    """The conversation charges of one organization for one calendar month (Asia/Jakarta), and its invoice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="conversation_statements"
    )
    month = models.DateField(_("month"), help_text=_("First day of the month"))
    summary = models.JSONField(_("summary"), default=dict)
    total_amount = models.PositiveBigIntegerField(_("total (IDR, before tax)"), default=0)
    conversations_count = models.PositiveIntegerField(_("conversations"), default=0)
    invoice_id = models.UUIDField(_("invoice"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)

    class Meta:
        verbose_name = _("monthly statement")
        verbose_name_plural = _("monthly statements")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="wa_statement_unique_month"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.month:%Y-%m}"


class Conversation(models.Model):
    """One charge unit: a CBP conversation (keyed by Meta's conversation id) or a PMP message (keyed by its
    wamid). The unique constraint on the key is what makes duplicate and reordered webhooks count once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    phone_number_id = models.CharField(_("phone number ID"), max_length=64)
    waba_id = models.CharField(_("WABA ID"), max_length=64, blank=True)
    pricing_model = models.CharField(_("pricing model"), max_length=3, choices=PricingModel.choices)
    key = models.CharField(_("conversation or message ID"), max_length=255)
    message_id = models.CharField(_("first message ID"), max_length=255, blank=True)
    customer = models.CharField(_("customer number"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=8, blank=True)
    calling_code = models.PositiveSmallIntegerField(_("calling code"), null=True, blank=True)
    market = models.CharField(_("market"), max_length=40)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    rate_category = models.CharField(_("charged as"), max_length=32, choices=RateCategory.choices, blank=True)
    meta_category = models.CharField(_("category as Meta sent it"), max_length=64, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    month = models.DateField(_("month"))
    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    rated_price = models.DecimalField(_("rate"), max_digits=12, decimal_places=2, default=0)
    price = models.DecimalField(_("price (IDR)"), max_digits=12, decimal_places=2, default=0)
    free_reason = models.CharField(_("free because"), max_length=32, choices=FreeReason.choices, blank=True)
    tier_position = models.PositiveBigIntegerField(
        _("month volume position"), null=True, blank=True, help_text=_("PMP: its place in the month's volume tier")
    )
    meta_billable = models.BooleanField(_("billable according to Meta"), null=True)
    statement = models.ForeignKey(
        MonthlyStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["key", "pricing_model", "phone_number_id"], name="wa_conversation_once"),
            models.CheckConstraint(condition=Q(price__gte=0), name="wa_conversation_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["organization", "month", "opened_at"], name="wa_conv_org_month_idx"),
            models.Index(fields=["waba_id", "month", "category"], name="wa_conv_waba_month_idx"),
            models.Index(fields=["-opened_at"], name="wa_conv_opened_idx"),
            models.Index(fields=["month", "organization"], name="wa_conv_month_org_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.key}"

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def masked_customer(self) -> str:
        return mask_number(self.customer, self.calling_code)


class ChargeCorrection(models.Model):
    """A charge corrected after it was first rated: a late delivered status moved the moment that decides it
    (its month, its rate), or a volume tier or the free tier moved its price. Never a second charge."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="corrections")
    before = models.JSONField(_("before"), default=dict)
    after = models.JSONField(_("after"), default=dict)
    reason = models.CharField(_("reason"), max_length=64)
    created_at = models.DateTimeField(_("corrected at"), default=timezone.now)

    class Meta:
        verbose_name = _("charge correction")
        verbose_name_plural = _("charge corrections")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reason}: {self.conversation_id}"


class VolumeTierUpdate(models.Model):
    """Meta's ``account_update`` webhook ``VOLUME_BASED_PRICING_TIER_UPDATE``: a WABA reached a volume tier
    for a market and category in a month. Kept for staff to compare with the tiers Saldo computes."""

    id = models.BigAutoField(primary_key=True)
    waba_id = models.CharField(_("WABA ID"), max_length=64, db_index=True)
    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    effective_month = models.DateField(_("effective month"), null=True, blank=True)
    pricing_category = models.CharField(_("category"), max_length=64)
    region = models.CharField(_("region as Meta sent it"), max_length=64)
    market = models.CharField(_("market"), max_length=40, blank=True)
    tier = models.CharField(_("tier"), max_length=64, help_text=_("As Meta sent it, e.g. 25000001:50000000"))
    tier_update_time = models.DateTimeField(_("tier reached at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("volume tier update")
        verbose_name_plural = _("volume tier updates")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["waba_id", "effective_month", "pricing_category", "region", "tier"],
                name="wa_tier_update_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.waba_id} {self.region} {self.pricing_category} {self.tier}"


def mask_number(number: str, calling_code: int | None = None) -> str:
    """``6281234567890`` → ``+62 812•••••890``: enough to recognise a customer, not enough to call them."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 7:
        return "•" * len(digits)
    code = str(calling_code) if calling_code and digits.startswith(str(calling_code)) else digits[:2]
    national = digits[len(code) :]
    return f"+{code} {national[:3]}{'•' * max(len(national) - 6, 2)}{national[-3:]}"
