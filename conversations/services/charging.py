"""Rating and charging: merging status webhooks into messages and counting each charge unit once.

Rules (``../shared/DESIGN.md``, "WhatsApp conversations"):
- a charge unit (a CBP conversation, a PMP message) is dated by the **delivered** status's timestamp (read's
  when no delivered status ever arrives); a CBP conversation opens at its earliest delivered message;
- whatever order or number of times statuses arrive, the merged message rows are the same, and every charge
  is recomputed from them: a late delivered status *corrects* the charge (a ``ChargeCorrection`` row), it
  never adds a second one (the unique key of ``Conversation``);
- the free tier (CBP service, June 2023 – October 2024) and Meta's volume tiers (PMP utility and
  authentication) are positions in the month, settled from the month's charges in the order they happened.
  The free tier counts per WABA; volume tiers count per business portfolio, which in Saldo is the
  organization: every WABA of one organization adds to the same monthly volume per market and category.

Locking: every write for a WhatsApp Business Account runs under that WABA's transaction-level advisory lock
and its organization's (the business portfolio: its volume tiers span all its WABAs), all taken in one sorted
order before any row lock (``waba_locks``). Two workers touching the same WABA, or two WABAs of one
organization, queue on the lock; two workers on different organizations never share a row. So no lock cycle,
and no deadlock, is possible between batches, settlements, re-rating and statement closing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record

from .. import db, rating
from ..models import (
    Category,
    ChargeCorrection,
    Conversation,
    FreeReason,
    MessageStatus,
    PricingModel,
    WhatsAppNumber,
)


class ApplyResult:
    def __init__(self) -> None:
        self.charged = 0
        self.corrected = 0
        self.unrated: dict[int | None, list[str]] = defaultdict(list)


_MERGE_FIELDS = [
    "organization",
    "recipient",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "conversation_id",
    "conversation_expires_at",
    "origin_type",
    "pricing_model",
    "pricing_category",
    "pricing_type",
    "billable",
    "pricing_rank",
    "errors",
    "charge_key",
    "updated_at",
]


def waba_locks(waba_ids: Iterable[str], *, organization_ids: Iterable[object] = ()) -> None:
    """Take the transaction-level advisory locks of the WABAs written and of their organizations, all in one
    sorted order (the one lock order of the app).

    The organization's lock is there because Meta's volume tiers count per business portfolio (Saldo's
    organization): settling one WABA's month writes the positions of every WABA of its organization, so any
    two transactions on WABAs of one organization must queue. ``organization_ids`` adds organizations known to
    the caller (the conversations' own) to those of the WABAs' registered numbers. Released at commit or
    rollback. Called first in every transaction that writes conversations."""
    wabas = {w or "" for w in waba_ids}
    organizations = {str(o) for o in organization_ids if o}
    known = sorted(w for w in wabas if w)
    if known:
        organizations.update(
            str(o)
            for o in WhatsAppNumber.objects.filter(waba_id__in=known)
            .values_list("organization_id", flat=True)
            .distinct()
        )
    keys = sorted([f"wa-org:{o}" for o in organizations] + [f"wa-waba:{w}" for w in wabas])
    if not keys:
        return
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _zones(numbers: dict[str, WhatsAppNumber]) -> dict[str, ZoneInfo]:
    return {pnid: rating.zone(n.time_zone) for pnid, n in numbers.items()}


def waba_zone(waba_id: str) -> ZoneInfo:
    """The WABA's time zone, as stored on its WhatsApp numbers (Asia/Jakarta when none is known)."""
    name = WhatsAppNumber.objects.filter(waba_id=waba_id).values_list("time_zone", flat=True).first()
    return rating.zone(name)


def statuses_apply(*, updates: list[rating.StatusUpdate], numbers: dict[str, WhatsAppNumber]) -> ApplyResult:
    """Merge status webhooks into their messages and count every delivered message exactly once.

    Set-based: one insert, one locked select, one update for the messages, then the charges of the messages
    whose charge-deciding facts changed are recomputed from the merged rows (insert what is new, correct what
    moved) and the month positions (free tier, volume tiers) of the groups touched are settled.
    """
    result = ApplyResult()
    if not updates:
        return result
    by_key: dict[tuple[str, str], list[rating.StatusUpdate]] = defaultdict(list)
    waba_for: dict[str, str] = {}
    for update in updates:
        by_key[(update.phone_number_id[:64], update.wamid)].append(update)
        waba_for.setdefault(update.phone_number_id[:64], update.waba_id[:64])
    for pnid, number in numbers.items():
        waba_for[pnid] = number.waba_id

    with transaction.atomic():
        waba_locks(waba_for.values(), organization_ids=[n.organization_id for n in numbers.values()])
        now = timezone.now()
        db.bulk_insert_ignore_conflicts(
            MessageStatus,
            [
                MessageStatus(
                    phone_number_id=pnid,
                    wamid=wamid,
                    organization_id=numbers[pnid].organization_id if pnid in numbers else None,
                    updated_at=now,
                )
                for pnid, wamid in sorted(by_key, key=lambda k: (k[1], k[0]))
            ],
        )
        wamids_by_number: dict[str, list[str]] = defaultdict(list)
        for pnid, wamid in by_key:
            wamids_by_number[pnid].append(wamid)
        where = Q()
        for pnid, wamids in wamids_by_number.items():
            where |= Q(phone_number_id=pnid, wamid__in=wamids)
        rows = list(MessageStatus.objects.select_for_update().filter(where).order_by("pk"))

        changed = {}
        to_rate = []
        for row in rows:
            before = _charge_facts(row)
            dirty = False
            for update in by_key.get((row.phone_number_id, row.wamid), ()):
                dirty |= _merge(row, update)
            if row.organization_id is None and row.phone_number_id in numbers:
                row.organization_id = numbers[row.phone_number_id].organization_id
                dirty = True
            if dirty:
                row.updated_at = now
                changed[row.pk] = row
            # Only a message whose charge-deciding facts moved (or that was never counted) can change a charge.
            if row.delivered and (not row.charge_key or _charge_facts(row) != before):
                to_rate.append(row)

        event_for = {(u.phone_number_id[:64], u.wamid): u.event_id for u in updates}
        zones = _zones(numbers)
        ratings: list[tuple[rating.Rating, MessageStatus]] = []
        for row in to_rate:
            rated = rating.rate_message(row, zones.get(row.phone_number_id, rating.BILLING_TZ))
            if rated is None:
                if row.pricing_category or row.conversation_id or row.pricing_model:
                    result.unrated[event_for.get((row.phone_number_id, row.wamid))].append(row.wamid)
                continue
            if row.charge_key != rated.key[:255]:
                row.charge_key = rated.key[:255]
                row.updated_at = now
                changed[row.pk] = row
            ratings.append((rated, row))
        db.bulk_update(MessageStatus, list(changed.values()), _MERGE_FIELDS)
        if ratings:
            _charge(ratings, numbers, waba_for, zones, result)
    return result


def _charge_facts(row: MessageStatus) -> tuple:
    return (
        rating.charge_moment(row), row.pricing_model, row.pricing_category, row.pricing_type, row.conversation_id,
        row.origin_type, row.recipient, row.organization_id,
    )  # fmt: skip


def _merge(row: MessageStatus, update: rating.StatusUpdate) -> bool:
    before = (
        row.recipient, row.sent_at, row.delivered_at, row.read_at, row.failed_at, row.conversation_id,
        row.conversation_expires_at, row.origin_type, row.pricing_model, row.pricing_category, row.pricing_type,
        row.billable, row.pricing_rank, len(row.errors),
    )  # fmt: skip
    stamp = f"{update.status}_at"
    current = getattr(row, stamp)
    if current is None or update.timestamp < current:
        setattr(row, stamp, update.timestamp)
    row.recipient = row.recipient or update.recipient
    # The smallest value wins, not the first arrival: any order gives the same row.
    if update.conversation_id and (not row.conversation_id or update.conversation_id < row.conversation_id):
        row.conversation_id = update.conversation_id
    if update.conversation_expires_at and (
        not row.conversation_expires_at or update.conversation_expires_at < row.conversation_expires_at
    ):
        row.conversation_expires_at = update.conversation_expires_at
    if update.origin_type and (not row.origin_type or update.origin_type < row.origin_type):
        row.origin_type = update.origin_type
    rank = rating.STATUS_RANK.get(update.status, 0)
    # Pricing on delivered/read is what Meta bills; a sent webhook's pricing is only a preview.
    pricing = (update.pricing_model, update.pricing_category, update.pricing_type, update.billable)
    current_pricing = (row.pricing_model, row.pricing_category, row.pricing_type, row.billable)
    if update.has_pricing and (
        rank > row.pricing_rank or (rank == row.pricing_rank and _order(pricing) < _order(current_pricing))
    ):
        row.pricing_model, row.pricing_category, row.pricing_type, row.billable = pricing
        row.pricing_rank = rank
    if update.errors and len(row.errors) < 10:
        row.errors = [*row.errors, *update.errors][:10]
    after = (
        row.recipient, row.sent_at, row.delivered_at, row.read_at, row.failed_at, row.conversation_id,
        row.conversation_expires_at, row.origin_type, row.pricing_model, row.pricing_category, row.pricing_type,
        row.billable, row.pricing_rank, len(row.errors),
    )  # fmt: skip
    return before != after


def _order(pricing: tuple) -> tuple:
    return tuple("" if v is None else str(v) for v in pricing)


@dataclass
class _Wanted:
    """A charge unit as the merged messages say it should be (before the month positions)."""

    rated: rating.Rating
    row: MessageStatus  # the message that opened it (CBP: the earliest delivered)
    pnid: str
    waba: str
    tz: ZoneInfo


_RATED_FIELDS = [
    "opened_at", "month", "message_id", "customer", "country", "calling_code", "market", "category",
    "rate_category", "meta_category", "rate_card", "rated_price", "price", "free_reason", "meta_billable",
    "organization", "waba_id",
]  # fmt: skip


def _charge(
    ratings: list[tuple[rating.Rating, MessageStatus]],
    numbers: dict[str, WhatsAppNumber],
    waba_for: dict[str, str],
    zones: dict[str, ZoneInfo],
    result: ApplyResult,
) -> None:
    wanted: dict[tuple[str, str, str], _Wanted] = {}
    cbp_keys: set[tuple[str, str]] = set()
    for rated, row in ratings:
        key = (row.phone_number_id, rated.pricing_model, rated.key[:255])
        tz = zones.get(row.phone_number_id, rating.BILLING_TZ)
        item = _Wanted(rated, row, row.phone_number_id, waba_for.get(row.phone_number_id, "")[:64], tz)
        found = wanted.get(key)
        if found is None or (rated.opened_at, row.wamid) < (found.rated.opened_at, found.row.wamid):
            wanted[key] = item
        if rated.pricing_model == PricingModel.CBP:
            cbp_keys.add((row.phone_number_id, rated.key[:255]))
    if cbp_keys:
        _cbp_opening(wanted, cbp_keys, zones)

    book = rating.RateBook()
    desired = {key: _conversation(item, key[2], numbers.get(item.pnid), book) for key, item in sorted(wanted.items())}
    # Inserted in key order, like every other worker (the unique index is taken in one order).
    new_ids = set(db.bulk_insert_ignore_conflicts(Conversation, list(desired.values()), returning=True))
    result.charged += len(new_ids)

    # Each month group this batch touches, with the earliest moment in its order where something changed: the
    # volume tier positions before that moment cannot have moved (see ``volume_tier_settle``).
    groups: dict[tuple, datetime | None] = {}
    for conv in desired.values():
        if conv.pk in new_ids:
            _touch(groups, conv)
    existing_keys = [k for k, conv in desired.items() if conv.pk not in new_ids]
    if existing_keys:
        where = Q()
        for pnid, pricing_model, conversation_key in existing_keys:
            where |= Q(phone_number_id=pnid, pricing_model=pricing_model, key=conversation_key)
        corrections = []
        corrected = []
        # Copied by column (``organization_id``, not ``organization``): the targets carry ids, not loaded rows.
        attnames = [db.column(Conversation._meta, name).attname for name in _RATED_FIELDS]
        for current in Conversation.objects.filter(where).order_by("key", "pricing_model", "phone_number_id"):
            target = desired[(current.phone_number_id, current.pricing_model, current.key)]
            if current.statement_id is not None:
                continue  # a closed month stays as billed
            before = _snapshot(current)
            if before == _snapshot(target):
                continue
            before["price"] = str(current.price)
            _touch(groups, current)  # the month it leaves, from where it was
            for name in attnames:
                setattr(current, name, getattr(target, name))
            current.tier_position = None
            corrected.append(current)
            _touch(groups, current)  # the month it joins, from where it is now
            corrections.append(
                ChargeCorrection(
                    conversation=current,
                    before=before,
                    after={**_snapshot(current), "price": str(current.price)},
                    reason="late delivered status",
                )
            )
        db.bulk_update(Conversation, corrected, [*_RATED_FIELDS, "tier_position"])
        ChargeCorrection.objects.bulk_create(corrections)
        result.corrected += len(corrections)
    _settle_groups(groups, book)


def _snapshot(conv: Conversation) -> dict:
    """What the merged messages decide about a charge. Its price within the month (free tier, volume tier)
    is the settlement's, so it is left out; the rate card is a function of these (market, category, moment)."""
    return {
        "opened_at": conv.opened_at.isoformat(),
        "month": conv.month.isoformat(),
        "message_id": conv.message_id,
        "customer": conv.customer,
        "market": conv.market,
        "category": conv.category,
        "rate_category": conv.rate_category,
        "free_reason": "" if conv.free_reason == FreeReason.FREE_TIER else conv.free_reason,
        "organization": str(conv.organization_id) if conv.organization_id else None,
    }


def _cbp_opening(wanted: dict, cbp_keys: set[tuple[str, str]], zones: dict[str, ZoneInfo]) -> None:
    """A CBP conversation opens at the earliest charge moment of all its delivered messages, whichever
    arrived first: read from every merged message of the conversation, not only this batch's."""
    where = Q()
    by_number: dict[str, list[str]] = defaultdict(list)
    for pnid, conv_id in cbp_keys:
        by_number[pnid].append(conv_id)
    for pnid, conv_ids in by_number.items():
        where |= Q(phone_number_id=pnid, conversation_id__in=conv_ids)
    earliest: dict[tuple[str, str], MessageStatus] = {}
    for message in MessageStatus.objects.filter(where).filter(Q(delivered_at__isnull=False) | Q(read_at__isnull=False)):
        moment = rating.charge_moment(message)
        slot = (message.phone_number_id, message.conversation_id)
        found = earliest.get(slot)
        if found is None or (moment, message.wamid) < (rating.charge_moment(found), found.wamid):
            earliest[slot] = message
    for (pnid, model, key), item in wanted.items():
        if model != PricingModel.CBP:
            continue
        first = earliest.get((pnid, key))
        if first is None:
            continue
        moment = rating.charge_moment(first)
        if (moment, first.wamid) < (item.rated.opened_at, item.row.wamid):
            item.row = first
            item.rated.opened_at = moment
        item.rated.free_reason = rating.cbp_free_reason(
            category=item.rated.category,
            entry_point=item.rated.free_reason == FreeReason.FREE_ENTRY_POINT,
            opened_at=item.rated.opened_at,
            tz=item.tz,
        )


def _conversation(item: _Wanted, key: str, number: WhatsAppNumber | None, book: rating.RateBook) -> Conversation:
    rated, row = item.rated, item.row
    market = rating.market_for(row.recipient)
    market_key = book.market_key(market.country)
    card = book.card_for(market=market_key, category=rated.rate_category, at=rated.opened_at, tz=item.tz)
    rated_price = card.price if card else Decimal(0)
    free_reason = rated.free_reason
    if not free_reason and card is None:
        free_reason = FreeReason.NO_RATE
    return Conversation(
        organization_id=number.organization_id if number else row.organization_id,
        phone_number_id=item.pnid,
        waba_id=item.waba,
        pricing_model=rated.pricing_model,
        key=key,
        message_id=row.wamid,
        customer=row.recipient,
        country=market.country,
        calling_code=market.calling_code,
        market=card.market if card else market_key,
        category=rated.category,
        rate_category=rated.rate_category,
        meta_category=rated.meta_category[:64],
        opened_at=rated.opened_at,
        month=rating.month_of(rated.opened_at, item.tz),
        rate_card=card,
        rated_price=rated_price,
        price=Decimal(0) if free_reason else rated_price,
        free_reason=free_reason,
        meta_billable=row.billable,
    )


def _groups(conv: Conversation) -> set[tuple]:
    """The month positions a charge takes part in: ("free", waba, month) and
    ("tier", organization, waba, market, rate, month), where a tier group is the organization's (its business
    portfolio) and names the WABA only for traffic of a number that belongs to no organization yet."""
    found: set[tuple] = set()
    if conv.pricing_model == PricingModel.CBP and conv.category == Category.SERVICE:
        found.add(("free", conv.waba_id, conv.month))
    if conv.pricing_model == PricingModel.PMP and conv.rate_category in rating.TIERED_CATEGORIES:
        organization = str(conv.organization_id) if conv.organization_id else ""
        waba = "" if organization else conv.waba_id
        found.add(("tier", organization, waba, conv.market, conv.rate_category, conv.month))
    return found


def _touch(groups: dict[tuple, datetime | None], conv: Conversation) -> None:
    place = conv.opened_at
    for group in _groups(conv):
        earlier = groups.get(group, place)
        groups[group] = place if earlier is None or place <= earlier else earlier


def _settle_groups(groups: set[tuple] | dict[tuple, datetime | None], book: rating.RateBook) -> None:
    since = groups if isinstance(groups, dict) else {}
    for group in sorted(groups, key=lambda g: tuple(str(part) for part in g)):
        if group[0] == "free":
            _free_tier_settle(waba_id=group[1], month=group[2])
        else:
            _, organization, waba_id, market, rate_category, month = group
            volume_tier_settle(
                organization_id=organization or None,
                waba_id=waba_id,
                market=market,
                rate_category=rate_category,
                month=month,
                book=book,
                since=since.get(group),
            )


def free_tier_settle(*, waba_id: str, month: date) -> int:
    """June 2023 – October 2024: the first 1,000 service conversations of a WABA in a month are free.

    Settled from the month's conversations in the order they opened, so arrival order never matters.
    Months already on a statement are left alone."""
    with transaction.atomic():
        waba_locks([waba_id])
        return _free_tier_settle(waba_id=waba_id, month=month)


def _free_tier_settle(*, waba_id: str, month: date) -> int:
    tz = waba_zone(waba_id)
    rows = list(
        Conversation.objects.filter(
            waba_id=waba_id, month=month, pricing_model=PricingModel.CBP, category=Category.SERVICE
        )
        .exclude(free_reason__in=[FreeReason.FREE_ENTRY_POINT, FreeReason.FREE_SERVICE])
        .order_by("opened_at", "key")
    )
    changed = []
    for position, conv in enumerate(rows):
        if conv.statement_id is not None or not rating.in_free_tier_era(conv.opened_at, tz):
            continue
        reason: str
        if position < rating.FREE_TIER_SIZE:
            reason, price = FreeReason.FREE_TIER, Decimal(0)
        elif conv.rate_card_id is None:
            reason, price = FreeReason.NO_RATE, Decimal(0)
        else:
            reason, price = "", conv.rated_price
        if (conv.free_reason, conv.price) != (reason, price):
            conv.free_reason, conv.price = reason, price
            changed.append(conv)
    db.bulk_update(Conversation, changed, ["free_reason", "price"])
    return len(changed)


def volume_tier_settle(
    *,
    organization_id: object | None,
    waba_id: str = "",
    market: str,
    rate_category: str,
    month: date,
    book: rating.RateBook | None = None,
    since: datetime | None = None,
) -> int:
    """Meta's volume tiers (per-message pricing): the Nth charged utility or authentication message of a
    month, per business portfolio, market and category, is priced by the tier N falls in ("rates are
    tier-specific").

    Meta counts a business portfolio's volume across all its WhatsApp Business Accounts; Saldo's organization
    is that portfolio, so the count runs over every WABA of the organization (``waba_id`` is used only for
    traffic of a number that belongs to no organization yet). The month is each message's ``month``, in its
    WABA's time zone. Positions follow the order messages were delivered (then their id and number), never
    the order webhooks arrived, so the month's total is the same whatever the order. Free messages do not
    count toward the volume. Only months with tiered cards need it; a month already on a statement is never
    changed. The caller holds ``waba_locks`` for the organization.

    Every open conversation of the month keeps its position in ``tier_position`` (None when no tiered card
    counts it), so with ``since`` (the earliest ``opened_at`` that changed) only the conversations from then
    on are read, counting on from the stored position of the last one before it.
    That keeps a batch's cost to what it changed instead of the whole month. Without ``since``, or when the
    one before it is on a statement (a late conversation in a closed month), the whole month is settled."""
    book = book or rating.RateBook()
    scope = Q(organization_id=organization_id) if organization_id else Q(organization__isnull=True, waba_id=waba_id)
    month_rows = Conversation.objects.filter(
        scope,
        market=market,
        rate_category=rate_category,
        month=month,
        pricing_model=PricingModel.PMP,
    ).exclude(free_reason__in=[c for c in FreeReason.values if c not in ("", FreeReason.NO_RATE)])
    position = 0
    if since is not None:
        # Before = opened strictly earlier: timestamps compare the same in Python and PostgreSQL, which keys,
        # under the database's collation, need not.
        before = Q(opened_at__lt=since)
        last = (
            month_rows.filter(before, tier_position__isnull=False)
            .order_by("-opened_at", "-key", "-phone_number_id")
            .values_list("tier_position", "statement_id")
            .first()
        )
        if last is not None and last[1] is not None:
            since = None  # counted from a closed month's row: settle the whole month
        else:
            position = last[0] if last is not None else 0
            month_rows = month_rows.exclude(before)
    rows = list(
        month_rows.order_by("opened_at", "key", "phone_number_id")
        .only("id", "opened_at", "key", "phone_number_id", "waba_id", "rate_card", "rated_price", "price",
              "free_reason", "tier_position", "statement", "market", "rate_category")
    )  # fmt: skip
    zones: dict[str, ZoneInfo] = {}
    changed = []
    for conv in rows:
        if conv.waba_id not in zones:
            zones[conv.waba_id] = waba_zone(conv.waba_id)
        tz = zones[conv.waba_id]
        tiers = book.tiers_for(market=market, category=rate_category, at=conv.opened_at, tz=tz)
        if not tiers:
            if conv.tier_position is not None and conv.statement_id is None:
                conv.tier_position = None  # not counted: nothing later counts on from it
                changed.append(conv)
            continue
        position += 1
        if conv.statement_id is not None:
            continue
        card = book.card_for(market=market, category=rate_category, at=conv.opened_at, tz=tz, position=position)
        if card is None:
            if conv.tier_position != position:
                conv.tier_position = position  # counted, though no card prices it yet
                changed.append(conv)
            continue
        wanted = (position, card.pk, card.price, card.price, "")
        if (conv.tier_position, conv.rate_card_id, conv.rated_price, conv.price, conv.free_reason) != wanted:
            conv.tier_position, conv.rate_card, conv.rated_price, conv.price, conv.free_reason = (
                position, card, card.price, card.price, "",
            )  # fmt: skip
            changed.append(conv)
    db.bulk_update(Conversation, changed, ["tier_position", "rate_card", "rated_price", "price", "free_reason"])
    return len(changed)


def conversations_rerate(
    *, conversations: Iterable[Conversation], actor: User | None = None, reason: str = "rate card corrected"
) -> int:
    """Staff action: rate conversations again with the cards now on file (the card in force when each
    opened, in its business's time zone). Conversations already on a statement are never touched: a closed
    month stays as billed. Each change is audited; month positions are settled again."""
    book = rating.RateBook()
    ids = [c.pk for c in conversations]
    changed = []
    with transaction.atomic():
        owners = set(Conversation.objects.filter(pk__in=ids).values_list("waba_id", "organization_id").distinct())
        waba_locks([w for w, _ in owners], organization_ids=[o for _, o in owners])
        rows = list(
            Conversation.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, statement__isnull=True)
            .select_related("organization")
            .order_by("pk")
        )
        zones: dict[str, ZoneInfo] = {}
        groups: set[tuple] = set()
        for conv in rows:
            tz = zones.setdefault(conv.waba_id, waba_zone(conv.waba_id))
            category = conv.rate_category or conv.category
            card = book.card_for(
                market=book.market_key(conv.country),
                category=category,
                at=conv.opened_at,
                tz=tz,
                position=conv.tier_position or 1,
            )
            rated_price = card.price if card else Decimal(0)
            free_reason = conv.free_reason
            if free_reason == FreeReason.NO_RATE and card is not None:
                free_reason = ""
            elif not free_reason and card is None:
                free_reason = FreeReason.NO_RATE
            price = Decimal(0) if free_reason else rated_price
            if (conv.rate_card_id, conv.rated_price, conv.price, conv.free_reason) == (
                card.pk if card else None,
                rated_price,
                price,
                free_reason,
            ):
                continue
            before = {"price": str(conv.price), "rate_card": conv.rate_card_id}
            conv.rate_card, conv.rated_price, conv.price, conv.free_reason = card, rated_price, price, free_reason
            conv.market = card.market if card else conv.market
            conv.save(update_fields=["rate_card", "rated_price", "price", "free_reason", "market"])
            audit_record(
                action="conversation.rerate",
                actor=actor,
                organization=conv.organization,
                target=conv,
                before=before,
                after={"price": str(conv.price), "rate_card": conv.rate_card_id},
                reason=reason,
            )
            changed.append(conv)
            groups.update(_groups(conv))
        _settle_groups(groups, book)
    return len(changed)
