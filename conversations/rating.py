"""Meta's rules, as pure functions: reading webhook payloads, naming categories, markets and free reasons.

Nothing here touches the database; ``conversations.services`` applies the results under constraints.

Pricing eras (Meta, WhatsApp Business Platform pricing):
- conversation-based pricing (CBP) until 2025-06-30: a 24-hour conversation per customer and category,
  charged when its first business message is delivered; free entry point (``referral_conversion``) windows
  last 72 hours and are free; 1,000 service conversations per WABA per month were free from 2023-06-01, and
  every service conversation is free from 2024-11-01.
- per-message pricing (PMP) from 2025-07-01: each delivered template message is charged by its category;
  ``pricing.type`` ``free_customer_service`` and ``free_entry_point`` are free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

from .models import Category, FreeReason, PricingModel, RateCard

PMP_START = datetime(2025, 7, 1, tzinfo=UTC)
FREE_TIER_START = datetime(2023, 6, 1, tzinfo=UTC)
FREE_SERVICE_START = datetime(2024, 11, 1, tzinfo=UTC)
FREE_TIER_SIZE = 1000
CONVERSATION_WINDOW = timedelta(hours=24)
FREE_ENTRY_POINT_WINDOW = timedelta(hours=72)
BILLING_TZ = ZoneInfo("Asia/Jakarta")

FREE_ENTRY_POINT = "referral_conversion"

# Every spelling Meta has used for a category, old and new, mapped to the four Saldo reports.
CATEGORY_ALIASES: dict[str, str] = {
    "marketing": Category.MARKETING,
    "marketing_lite": Category.MARKETING,
    # Before June 2023 every business-initiated conversation was one category.
    "business_initiated": Category.MARKETING,
    "utility": Category.UTILITY,
    "authentication": Category.AUTHENTICATION,
    "authentication_international": Category.AUTHENTICATION,
    "authentication-international": Category.AUTHENTICATION,
    "service": Category.SERVICE,
    "user_initiated": Category.SERVICE,
    # Free entry point conversations are reported with the service category, always free.
    FREE_ENTRY_POINT: Category.SERVICE,
}
STATUS_RANK = {"sent": 1, "read": 2, "delivered": 3}
KNOWN_STATUSES = {"sent", "delivered", "read", "failed"}
IGNORED_STATUSES = {"deleted", "warning", "played"}
KNOWN_FIELDS = {"messages"}
PMP_FREE_TYPES = {
    "free_customer_service": FreeReason.FREE_CUSTOMER_SERVICE,
    "free_entry_point": FreeReason.FREE_ENTRY_POINT,
}
PMP_TYPES = {"regular", *PMP_FREE_TYPES}


def normalize_category(raw: str) -> str | None:
    return CATEGORY_ALIASES.get((raw or "").strip().lower())


def parse_timestamp(raw) -> datetime | None:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    if value <= 0 or value > 10_000_000_000:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def month_of(moment: datetime) -> date:
    """The billing month (first day, Asia/Jakarta) a moment belongs to."""
    local = moment.astimezone(BILLING_TZ)
    return date(local.year, local.month, 1)


@dataclass(frozen=True)
class Market:
    country: str  # ISO 3166 region of the recipient, "" when the number cannot be read
    calling_code: int | None


def market_for(recipient: str) -> Market:
    digits = "".join(ch for ch in recipient or "" if ch.isdigit())
    if not digits:
        return Market("", None)
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return Market("", None)
    region = phonenumbers.region_code_for_number(number) or ""
    if region in ("ZZ", "001"):
        region = ""
    return Market(region, number.country_code)


@dataclass
class StatusUpdate:
    """One entry of ``value.statuses`` in a Meta webhook, normalised."""

    event_id: int | None
    waba_id: str
    phone_number_id: str
    display_number: str
    wamid: str
    status: str
    timestamp: datetime
    recipient: str = ""
    conversation_id: str = ""
    conversation_expires_at: datetime | None = None
    origin_type: str = ""
    pricing_model: str = ""
    pricing_category: str = ""
    pricing_type: str = ""
    billable: bool | None = None
    errors: list = field(default_factory=list)

    @property
    def has_pricing(self) -> bool:
        return bool(self.pricing_category or self.pricing_model)


@dataclass
class ParsedDelivery:
    statuses: list[StatusUpdate] = field(default_factory=list)
    inbound_messages: int = 0
    flags: list[str] = field(default_factory=list)
    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)  # phone_number_id -> (waba, display)

    def flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)


def _str(value) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def parse_delivery(body: str | bytes, *, event_id: int | None = None) -> ParsedDelivery:
    """Read one webhook body. Anything unexpected is flagged, never raised: the raw body stays stored."""
    parsed = ParsedDelivery()
    try:
        payload = json.loads(body)
    except (ValueError, TypeError):
        parsed.flag("body is not JSON")
        return parsed
    if not isinstance(payload, dict):
        parsed.flag("body is not a JSON object")
        return parsed
    if payload.get("object") not in (None, "whatsapp_business_account"):
        parsed.flag(f"unknown object: {_str(payload.get('object'))[:60]}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        parsed.flag("no entry list")
        return parsed
    for entry in entries:
        if not isinstance(entry, dict):
            parsed.flag("entry is not an object")
            continue
        waba_id = _str(entry.get("id"))
        for change in entry.get("changes") or []:
            if not isinstance(change, dict):
                parsed.flag("change is not an object")
                continue
            field_name = _str(change.get("field"))
            if field_name not in KNOWN_FIELDS:
                parsed.flag(f"unknown field: {field_name[:60]}")
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                parsed.flag("change without value")
                continue
            _parse_value(parsed, value, waba_id=waba_id, event_id=event_id)
    return parsed


def _parse_value(parsed: ParsedDelivery, value: dict, *, waba_id: str, event_id: int | None) -> None:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    phone_number_id = _str(metadata.get("phone_number_id"))
    display_number = _str(metadata.get("display_phone_number"))
    if phone_number_id:
        parsed.numbers.setdefault(phone_number_id, (waba_id, display_number))
    messages = value.get("messages")
    if isinstance(messages, list):
        parsed.inbound_messages += len(messages)
    for key in value:
        if key not in {"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"}:
            parsed.flag(f"unknown value key: {key[:60]}")
    statuses = value.get("statuses")
    if statuses is None:
        return
    if not isinstance(statuses, list):
        parsed.flag("statuses is not a list")
        return
    if not phone_number_id:
        parsed.flag("statuses without metadata.phone_number_id")
        return
    for raw in statuses:
        update = _parse_status(
            parsed,
            raw,
            waba_id=waba_id,
            phone_number_id=phone_number_id,
            display_number=display_number,
            event_id=event_id,
        )
        if update is not None:
            parsed.statuses.append(update)


def _parse_status(parsed: ParsedDelivery, raw, **where) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        parsed.flag("status is not an object")
        return None
    status = _str(raw.get("status")).lower()
    wamid = _str(raw.get("id"))
    if status in IGNORED_STATUSES:
        return None
    if status not in KNOWN_STATUSES:
        parsed.flag(f"unknown status: {status[:40]}")
        return None
    if not wamid:
        parsed.flag("status without message id")
        return None
    moment = parse_timestamp(raw.get("timestamp"))
    if moment is None:
        parsed.flag(f"bad timestamp on {wamid[:80]}")
        return None
    update = StatusUpdate(
        wamid=wamid[:255], status=status, timestamp=moment, recipient=_str(raw.get("recipient_id"))[:64], **where
    )
    conversation = raw.get("conversation")
    if isinstance(conversation, dict):
        update.conversation_id = _str(conversation.get("id"))[:255]
        update.conversation_expires_at = parse_timestamp(conversation.get("expiration_timestamp"))
        origin = conversation.get("origin")
        if isinstance(origin, dict):
            update.origin_type = _str(origin.get("type"))[:64]
    pricing = raw.get("pricing")
    if isinstance(pricing, dict):
        update.pricing_model = _str(pricing.get("pricing_model")).upper()[:16]
        update.pricing_category = _str(pricing.get("category"))[:64]
        update.pricing_type = _str(pricing.get("type"))[:64]
        billable = pricing.get("billable")
        update.billable = billable if isinstance(billable, bool) else None
        if update.pricing_model and update.pricing_model not in PricingModel.values:
            parsed.flag(f"unknown pricing model: {update.pricing_model}")
        if update.pricing_type and update.pricing_type not in PMP_TYPES:
            parsed.flag(f"unknown pricing type: {update.pricing_type}")
    category = update.pricing_category or update.origin_type
    if category and normalize_category(category) is None:
        parsed.flag(f"unknown category: {category[:60]}")
    errors = raw.get("errors")
    if isinstance(errors, list):
        update.errors = errors[:5]
    return update


# --- Rating -----------------------------------------------------------------------------------------


@dataclass
class Rating:
    """What one charge unit is, before the free tier (which depends on the month's other conversations)."""

    pricing_model: str
    key: str
    category: str
    meta_category: str
    opened_at: datetime
    free_reason: str  # "" or a FreeReason; the free tier is settled later


def pricing_model_for(*, pricing_model: str, moment: datetime) -> str:
    if pricing_model in PricingModel.values:
        return pricing_model
    return PricingModel.PMP if moment >= PMP_START else PricingModel.CBP


def rate_message(row) -> Rating | None:
    """How a delivered message counts, from its merged status row; ``None`` when it cannot be rated (yet).

    ``row`` has the fields of ``MessageStatus``.
    """
    # Read implies delivered; a read stamp only stands in when the delivered webhook has not come (yet).
    delivered_at = row.delivered_at or row.read_at
    model = pricing_model_for(pricing_model=row.pricing_model, moment=delivered_at)
    meta_category = row.pricing_category or row.origin_type
    if model == PricingModel.PMP:
        if not row.pricing_category:
            return None  # pricing comes on delivered or read; wait for it
        category = normalize_category(row.pricing_category)
        if category is None:
            return None
        if row.pricing_type and row.pricing_type not in PMP_TYPES:
            return None
        free = PMP_FREE_TYPES.get(row.pricing_type, "")
        if not free and category == Category.SERVICE:
            free = FreeReason.FREE_CUSTOMER_SERVICE
        if not free and row.pricing_category == FREE_ENTRY_POINT:
            free = FreeReason.FREE_ENTRY_POINT
        return Rating(model, row.wamid, category, meta_category, delivered_at, free)

    if not row.conversation_id or not meta_category:
        return None
    category = normalize_category(meta_category)
    if category is None:
        return None
    entry_point = FREE_ENTRY_POINT in (row.origin_type, row.pricing_category)
    opened_at = delivered_at
    if row.conversation_expires_at is not None:
        # Meta's window is fixed from the first message: the expiry says exactly when it opened.
        window = FREE_ENTRY_POINT_WINDOW if entry_point else CONVERSATION_WINDOW
        opened_at = row.conversation_expires_at - window
    free = ""
    if entry_point:
        free = FreeReason.FREE_ENTRY_POINT
    elif category == Category.SERVICE and opened_at >= FREE_SERVICE_START:
        free = FreeReason.FREE_SERVICE
    return Rating(model, row.conversation_id, category, meta_category, opened_at, free)


def in_free_tier_era(opened_at: datetime) -> bool:
    return FREE_TIER_START <= opened_at < FREE_SERVICE_START


class RateBook:
    """The rate cards, loaded once per batch: the card in force at a moment for a market and category."""

    def __init__(self, cards=None):
        if cards is None:
            cards = RateCard.objects.all()
        self._cards: dict[tuple[str, str], list[RateCard]] = {}
        for card in sorted(cards, key=lambda c: c.effective_from, reverse=True):
            self._cards.setdefault((card.market, card.category), []).append(card)
        self.markets = {market for market, _category in self._cards}

    def market_key(self, country: str) -> str:
        return country if country in self.markets else RateCard.OTHER_MARKET

    def card_for(self, *, market: str, category: str, at: datetime) -> RateCard | None:
        for card in self._cards.get((market, category), ()):
            if card.effective_from <= at:
                return card
        if market != RateCard.OTHER_MARKET:
            return self.card_for(market=RateCard.OTHER_MARKET, category=category, at=at)
        return None
