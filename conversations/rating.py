"""Meta's rules, as pure functions: reading webhook payloads, naming categories, markets and free reasons.

Nothing here touches the database; ``conversations.services`` applies the results under constraints.

Pricing eras (Meta, WhatsApp Business Platform pricing), each switch at midnight in the WhatsApp Business
Account's time zone (``WhatsAppNumber.time_zone``), as Meta applies them:
- conversation-based pricing (CBP) until 2025-06-30: a 24-hour conversation per customer and category,
  charged when its first business message is delivered; free entry point (``referral_conversion``) windows
  last 72 hours and are free; 1,000 service conversations per WABA per month were free from 2023-06-01, and
  every service conversation is free from 2024-11-01.
- per-message pricing (PMP) from 2025-07-01: each delivered template message is charged by its category;
  ``pricing.type`` ``free_customer_service`` and ``free_entry_point`` are free; utility and authentication
  rates fall with the business's monthly volume (volume tiers, per market and category).

The moment that decides a charge is the **delivered** status's timestamp (read's when no delivered status ever
arrives), never the order webhooks arrive in and never ``expiration_timestamp`` (Meta rounds it to the minute).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

from .markets import market_group
from .models import Category, FreeReason, PricingModel, RateCard, RateCategory

# Wall-clock moments in the business's time zone (naive): Meta switches at local midnight.
PMP_START = datetime(2025, 7, 1)
FREE_TIER_START = datetime(2023, 6, 1)
FREE_SERVICE_START = datetime(2024, 11, 1)
FREE_TIER_SIZE = 1000
CONVERSATION_WINDOW = timedelta(hours=24)
FREE_ENTRY_POINT_WINDOW = timedelta(hours=72)
BILLING_TZ = ZoneInfo("Asia/Jakarta")

FREE_ENTRY_POINT = "referral_conversion"

# Every spelling Meta has used for a category, old and new: the category Saldo reports it under (the four of
# the month summary) and the rate it is charged at (authentication-international has its own, higher rate).
CATEGORY_ALIASES: dict[str, tuple[str, str]] = {
    "marketing": (Category.MARKETING, RateCategory.MARKETING),
    # MM Lite API marketing messages are charged at the marketing rate.
    "marketing_lite": (Category.MARKETING, RateCategory.MARKETING),
    # Before June 2023 every business-initiated conversation was one category.
    "business_initiated": (Category.MARKETING, RateCategory.MARKETING),
    "utility": (Category.UTILITY, RateCategory.UTILITY),
    "authentication": (Category.AUTHENTICATION, RateCategory.AUTHENTICATION),
    "authentication_international": (Category.AUTHENTICATION, RateCategory.AUTHENTICATION_INTERNATIONAL),
    "authentication-international": (Category.AUTHENTICATION, RateCategory.AUTHENTICATION_INTERNATIONAL),
    "service": (Category.SERVICE, RateCategory.SERVICE),
    "user_initiated": (Category.SERVICE, RateCategory.SERVICE),
    # Free entry point conversations are reported with the service category, always free.
    FREE_ENTRY_POINT: (Category.SERVICE, RateCategory.SERVICE),
}
# Meta's volume tiers lower these rates with the month's volume (per-message pricing only).
TIERED_CATEGORIES = {RateCategory.UTILITY, RateCategory.AUTHENTICATION, RateCategory.AUTHENTICATION_INTERNATIONAL}
TIER_UPDATE_EVENT = "VOLUME_BASED_PRICING_TIER_UPDATE"
STATUS_RANK = {"sent": 1, "read": 2, "delivered": 3}
KNOWN_STATUSES = {"sent", "delivered", "read", "failed"}
IGNORED_STATUSES = {"deleted", "warning", "played"}
KNOWN_FIELDS = {"messages", "account_update"}
PMP_FREE_TYPES = {
    "free_customer_service": FreeReason.FREE_CUSTOMER_SERVICE,
    "free_entry_point": FreeReason.FREE_ENTRY_POINT,
}
PMP_TYPES = {"regular", *PMP_FREE_TYPES}


def normalize_category(raw: str) -> str | None:
    """The reporting category (one of the four) of a category as Meta spells it; ``None`` when unknown."""
    found = CATEGORY_ALIASES.get((raw or "").strip().lower())
    return found[0] if found else None


def rate_category_for(raw: str) -> str | None:
    """The rate a category as Meta spells it is charged at; ``None`` when unknown."""
    found = CATEGORY_ALIASES.get((raw or "").strip().lower())
    return found[1] if found else None


def local_wall_clock(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` as a naive wall-clock time in ``tz``: what Meta's local-midnight switches compare with."""
    return moment.astimezone(tz).replace(tzinfo=None)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else BILLING_TZ
    except (KeyError, ValueError):
        return BILLING_TZ


def parse_timestamp(raw) -> datetime | None:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    if value <= 0 or value > 10_000_000_000:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def month_of(moment: datetime, tz: ZoneInfo = BILLING_TZ) -> date:
    """The billing month (first day) a moment belongs to, in the business's time zone (Asia/Jakarta unless
    the WhatsApp number says otherwise)."""
    local = moment.astimezone(tz)
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
    tier_updates: list = field(default_factory=list)  # TierUpdate

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
            if field_name == "account_update":
                _parse_account_update(parsed, value, waba_id=waba_id, entry_time=entry.get("time"))
                continue
            _parse_value(parsed, value, waba_id=waba_id, event_id=event_id)
    return parsed


@dataclass(frozen=True)
class TierUpdate:
    """An ``account_update`` webhook with ``VOLUME_BASED_PRICING_TIER_UPDATE``: a WABA reached a volume tier."""

    waba_id: str
    effective_month: date | None
    pricing_category: str
    region: str
    tier: str
    tier_update_time: datetime | None


def _parse_account_update(parsed: ParsedDelivery, value: dict, *, waba_id: str, entry_time) -> None:
    event = _str(value.get("event"))
    if event != TIER_UPDATE_EVENT:
        # Verification, restrictions, ...: not about pricing. Shown to staff; the raw body stays stored.
        parsed.flag(f"account_update not used for billing: {event[:60]}")
        return
    info = value.get("volume_tier_info")
    if not isinstance(info, dict):
        parsed.flag("volume tier update without volume_tier_info")
        return
    month = None
    raw_month = _str(info.get("effective_month"))
    try:
        year, month_number = raw_month.split("-")
        month = date(int(year), int(month_number), 1)
    except ValueError:
        parsed.flag(f"bad effective_month in volume tier update: {raw_month[:20]}")
    parsed.tier_updates.append(
        TierUpdate(
            waba_id=waba_id[:64],
            effective_month=month,
            pricing_category=_str(info.get("pricing_category")).lower()[:64],
            region=_str(info.get("region"))[:64],
            tier=_str(info.get("tier"))[:64],
            tier_update_time=parse_timestamp(info.get("tier_update_time")) or parse_timestamp(entry_time),
        )
    )


def _parse_value(parsed: ParsedDelivery, value: dict, *, waba_id: str, event_id: int | None) -> None:
    metadata = value["metadata"] if isinstance(value.get("metadata"), dict) else {}
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
    """What one delivered message counts as, before the free tier and volume tiers (which depend on the
    month's other charges)."""

    pricing_model: str
    key: str  # CBP: Meta's conversation id; PMP: the message id
    category: str  # reported under (one of the four)
    rate_category: str  # charged at (adds authentication_international)
    meta_category: str
    opened_at: datetime  # this message's delivery: a CBP conversation opens at its earliest
    free_reason: str  # "" or a FreeReason; the free tier is settled later


def charge_moment(row) -> datetime | None:
    """The moment that decides a message's charge: its delivered status, or its read status when no
    delivered status has arrived (read implies delivered). Never the arrival order, never the expiry."""
    return row.delivered_at or row.read_at


def pricing_model_for(*, pricing_model: str, moment: datetime, tz: ZoneInfo = BILLING_TZ) -> str:
    if pricing_model in PricingModel.values:
        return pricing_model
    return PricingModel.PMP if local_wall_clock(moment, tz) >= PMP_START else PricingModel.CBP


def rate_message(row, tz: ZoneInfo = BILLING_TZ) -> Rating | None:
    """How a delivered message counts, from its merged status row; ``None`` when it cannot be rated (yet):
    no pricing yet, or a category Meta has not told us the rate of (stored and flagged, never charged at
    another category's price).

    ``row`` has the fields of ``MessageStatus``; ``tz`` is the WhatsApp Business Account's time zone.
    """
    delivered_at = charge_moment(row)
    if delivered_at is None:
        return None  # sent only (or failed): never charged
    model = pricing_model_for(pricing_model=row.pricing_model, moment=delivered_at, tz=tz)
    meta_category = row.pricing_category or row.origin_type
    if model == PricingModel.PMP:
        if not row.pricing_category:
            return None  # pricing comes on delivered or read; wait for it
        category, rate_category = normalize_category(row.pricing_category), rate_category_for(row.pricing_category)
        if category is None or rate_category is None:
            return None
        if row.pricing_type and row.pricing_type not in PMP_TYPES:
            return None
        free = PMP_FREE_TYPES.get(row.pricing_type, "")
        if not free and category == Category.SERVICE:
            free = FreeReason.FREE_CUSTOMER_SERVICE
        if not free and row.pricing_category == FREE_ENTRY_POINT:
            free = FreeReason.FREE_ENTRY_POINT
        return Rating(model, row.wamid, category, rate_category, meta_category, delivered_at, free)

    if not row.conversation_id or not meta_category:
        return None
    category, rate_category = normalize_category(meta_category), rate_category_for(meta_category)
    if category is None or rate_category is None:
        return None
    entry_point = FREE_ENTRY_POINT in (row.origin_type, row.pricing_category)
    free = ""
    if entry_point:
        free = FreeReason.FREE_ENTRY_POINT
    elif category == Category.SERVICE and local_wall_clock(delivered_at, tz) >= FREE_SERVICE_START:
        free = FreeReason.FREE_SERVICE
    return Rating(model, row.conversation_id, category, rate_category, meta_category, delivered_at, free)


def cbp_free_reason(*, category: str, entry_point: bool, opened_at: datetime, tz: ZoneInfo) -> str:
    if entry_point:
        return FreeReason.FREE_ENTRY_POINT
    if category == Category.SERVICE and local_wall_clock(opened_at, tz) >= FREE_SERVICE_START:
        return FreeReason.FREE_SERVICE
    return ""


def in_free_tier_era(opened_at: datetime, tz: ZoneInfo = BILLING_TZ) -> bool:
    return FREE_TIER_START <= local_wall_clock(opened_at, tz) < FREE_SERVICE_START


class RateBook:
    """The rate cards, loaded once per batch: the card in force at a moment for a market, category and
    monthly volume position.

    A card's ``effective_from`` is a wall-clock time in the business's time zone (Meta's rate changes, like
    its pricing switches, take effect at local midnight). Markets resolve from the recipient's country: its
    own cards when Meta prices it alone, else its Meta region ("Rest of Asia Pacific", ...), else "other".
    """

    def __init__(self, cards=None):
        if cards is None:
            cards = RateCard.objects.all()
        # (market, category) -> [(effective_from naive, [cards by tier_from])] newest first
        by_key: dict[tuple[str, str], dict[datetime, list[RateCard]]] = {}
        for card in cards:
            moment = card.effective_from.astimezone(UTC).replace(tzinfo=None)
            by_key.setdefault((card.market, card.category), {}).setdefault(moment, []).append(card)
        self._cards = {
            key: sorted(((moment, sorted(tiers, key=lambda c: c.tier_from)) for moment, tiers in dated.items()),
                        key=lambda item: item[0], reverse=True)
            for key, dated in by_key.items()
        }  # fmt: skip
        self.markets = {market for market, _category in self._cards}

    def market_key(self, country: str) -> str:
        if country in self.markets:
            return country
        group = market_group(country)
        if group and group in self.markets:
            return group
        return RateCard.OTHER_MARKET

    def tiers_for(self, *, market: str, category: str, at: datetime, tz: ZoneInfo = BILLING_TZ) -> list[RateCard]:
        """The cards (one per volume tier, lowest first) in force; falls back to the "other" market."""
        local = local_wall_clock(at, tz)
        for moment, tiers in self._cards.get((market, category), ()):
            if moment <= local:
                return tiers
        if market != RateCard.OTHER_MARKET:
            return self.tiers_for(market=RateCard.OTHER_MARKET, category=category, at=at, tz=tz)
        return []

    def card_for(
        self, *, market: str, category: str, at: datetime, tz: ZoneInfo = BILLING_TZ, position: int = 1
    ) -> RateCard | None:
        """The card for the ``position``-th charged message of the month (volume tiers); position 1 is the
        list rate."""
        found = None
        for card in self.tiers_for(market=market, category=category, at=at, tz=tz):
            if card.tier_from <= position:
                found = card
        return found

    def is_tiered(self, *, market: str, category: str, at: datetime, tz: ZoneInfo = BILLING_TZ) -> bool:
        return len(self.tiers_for(market=market, category=category, at=at, tz=tz)) > 1
