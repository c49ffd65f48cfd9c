"""Rating and charging: merging status webhooks into messages and counting each charge unit once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import audit_record

from .. import db, rating
from ..models import Category, Conversation, FreeReason, MessageStatus, PricingModel, WhatsAppNumber


class ApplyResult:
    def __init__(self):
        self.charged = 0
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


def statuses_apply(*, updates: list[rating.StatusUpdate], numbers: dict[str, WhatsAppNumber]) -> ApplyResult:
    """Merge status webhooks into their messages and count every delivered message exactly once.

    Set-based: one insert, one locked select, one update for the messages, one insert for the charges.
    The unique constraints on (number, wamid) and (number, pricing model, conversation or message id) are
    what make duplicates, retries and any arrival order count once; the row locks keep two workers from
    losing each other's merge.
    """
    result = ApplyResult()
    if not updates:
        return result
    by_key: dict[tuple[str, str], list[rating.StatusUpdate]] = defaultdict(list)
    for update in updates:
        by_key[(update.phone_number_id[:64], update.wamid)].append(update)

    with transaction.atomic():
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
        for row in rows:
            dirty = False
            for update in by_key.get((row.phone_number_id, row.wamid), ()):
                dirty |= _merge(row, update)
            if row.organization_id is None and row.phone_number_id in numbers:
                row.organization_id = numbers[row.phone_number_id].organization_id
                dirty = True
            if dirty:
                row.updated_at = now
                changed[row.pk] = row

        # Only messages that learnt something new can change what is charged.
        counted = _charge(list(changed.values()), numbers, updates, result)
        for row in counted:
            row.updated_at = now
            changed[row.pk] = row
        db.bulk_update(MessageStatus, list(changed.values()), _MERGE_FIELDS)
    return result


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
    if update.conversation_id and not row.conversation_id:
        row.conversation_id = update.conversation_id
    if update.conversation_expires_at and not row.conversation_expires_at:
        row.conversation_expires_at = update.conversation_expires_at
    row.origin_type = row.origin_type or update.origin_type
    rank = rating.STATUS_RANK.get(update.status, 0)
    # Pricing on delivered/read is what Meta bills; a sent webhook's pricing is only a preview.
    if update.has_pricing and rank > row.pricing_rank:
        row.pricing_model = update.pricing_model
        row.pricing_category = update.pricing_category
        row.pricing_type = update.pricing_type
        row.billable = update.billable
        row.pricing_rank = rank
    if update.errors and len(row.errors) < 10:
        row.errors = [*row.errors, *update.errors][:10]
    after = (
        row.recipient, row.sent_at, row.delivered_at, row.read_at, row.failed_at, row.conversation_id,
        row.conversation_expires_at, row.origin_type, row.pricing_model, row.pricing_category, row.pricing_type,
        row.billable, row.pricing_rank, len(row.errors),
    )  # fmt: skip
    return before != after


def _charge(rows: list[MessageStatus], numbers, updates, result: ApplyResult) -> list[MessageStatus]:
    """Count the delivered messages among ``rows``; returns the rows whose ``charge_key`` changed."""
    waba_for = {u.phone_number_id[:64]: u.waba_id for u in updates}
    event_for = {(u.phone_number_id[:64], u.wamid): u.event_id for u in updates}
    candidates: dict[tuple[str, str, str], dict] = {}
    counted_rows = []
    for row in rows:
        if not row.delivered:
            continue
        rated = rating.rate_message(row)
        if rated is None:
            if row.pricing_category or row.conversation_id or row.pricing_model:
                result.unrated[event_for.get((row.phone_number_id, row.wamid))].append(row.wamid)
            continue
        key = (row.phone_number_id, rated.pricing_model, rated.key[:255])
        if row.charge_key != rated.key[:255]:
            row.charge_key = rated.key[:255]
            counted_rows.append(row)
        found = candidates.get(key)
        if found is None or rated.opened_at < found["rating"].opened_at:
            candidates[key] = {"rating": rated, "row": row}
    if not candidates:
        return counted_rows

    book = rating.RateBook()
    new = []
    for (pnid, _model, key), item in candidates.items():
        number = numbers.get(pnid)
        waba = number.waba_id if number else waba_for.get(pnid, "")
        new.append(_conversation(item["rating"], item["row"], pnid, key, waba[:64], number, book))
    # Inserted in key order, like every other worker, so concurrent batches wait on each other instead of
    # deadlocking on the unique index.
    new.sort(key=lambda c: (c.key, c.pricing_model, c.phone_number_id))
    db.bulk_insert_ignore_conflicts(Conversation, new)

    # A CBP conversation may have been opened by a message we only hear about now: keep the earliest.
    cbp_keys = [c for c in new if c.pricing_model == PricingModel.CBP]
    if cbp_keys:
        where = Q()
        for conv in cbp_keys:
            where |= Q(phone_number_id=conv.phone_number_id, key=conv.key, opened_at__gt=conv.opened_at)
        wanted = {(c.phone_number_id, c.key): c for c in cbp_keys}
        for existing in (
            Conversation.objects.select_for_update()
            .filter(where, pricing_model=PricingModel.CBP, statement__isnull=True)
            .order_by("pk")
        ):
            better = wanted[(existing.phone_number_id, existing.key)]
            for name in ("opened_at", "month", "rate_card", "rated_price", "price", "free_reason", "message_id"):
                setattr(existing, name, getattr(better, name))
            existing.save()
    result.charged += len(new)

    months = {
        (c.waba_id, c.month)
        for c in new
        if c.pricing_model == PricingModel.CBP
        and c.category == Category.SERVICE
        and rating.in_free_tier_era(c.opened_at)
    }
    for waba_id, month in months:
        free_tier_settle(waba_id=waba_id, month=month)
    return counted_rows


def _conversation(rated: rating.Rating, row: MessageStatus, pnid, key, waba, number, book) -> Conversation:
    market = rating.market_for(row.recipient)
    market_key = book.market_key(market.country)
    card = book.card_for(market=market_key, category=rated.category, at=rated.opened_at)
    rated_price = card.price if card else Decimal(0)
    free_reason = rated.free_reason
    if not free_reason and card is None:
        free_reason = FreeReason.NO_RATE
    return Conversation(
        organization_id=number.organization_id if number else None,
        phone_number_id=pnid,
        waba_id=waba,
        pricing_model=rated.pricing_model,
        key=key,
        message_id=row.wamid,
        customer=row.recipient,
        country=market.country,
        calling_code=market.calling_code,
        market=card.market if card else market_key,
        category=rated.category,
        meta_category=rated.meta_category[:64],
        opened_at=rated.opened_at,
        month=rating.month_of(rated.opened_at),
        rate_card=card,
        rated_price=rated_price,
        price=Decimal(0) if free_reason else rated_price,
        free_reason=free_reason,
        meta_billable=row.billable,
    )


def free_tier_settle(*, waba_id: str, month: date) -> int:
    """June 2023 – October 2024: the first 1,000 service conversations of a WABA in a month are free.

    Settled from the month's conversations in the order they opened, so arrival order never matters.
    Months already on a statement are left alone.
    """
    with transaction.atomic():
        rows = list(
            Conversation.objects.select_for_update()
            .filter(
                waba_id=waba_id,
                month=month,
                pricing_model=PricingModel.CBP,
                category=Category.SERVICE,
            )
            .exclude(free_reason__in=[FreeReason.FREE_ENTRY_POINT, FreeReason.FREE_SERVICE])
            .order_by("opened_at", "key")
        )
        changed = []
        for position, conv in enumerate(rows):
            if conv.statement_id is not None or not rating.in_free_tier_era(conv.opened_at):
                continue
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


def conversations_rerate(*, conversations, actor=None, reason: str = "rate card corrected") -> int:
    """Staff action: rate conversations again with the cards now on file (the card in force when each
    opened). Conversations already on a statement are never touched: a closed month stays as billed."""
    book = rating.RateBook()
    changed = []
    with transaction.atomic():
        rows = list(
            Conversation.objects.select_for_update()
            .filter(pk__in=[c.pk for c in conversations], statement__isnull=True)
            .order_by("pk")
        )
        for conv in rows:
            card = book.card_for(market=book.market_key(conv.country), category=conv.category, at=conv.opened_at)
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
    for waba_id, month in {(c.waba_id, c.month) for c in changed if rating.in_free_tier_era(c.opened_at)}:
        free_tier_settle(waba_id=waba_id, month=month)
    return len(changed)
