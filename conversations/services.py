"""Writes for WhatsApp conversations: storing Meta's deliveries, rating statuses, numbers and monthly statements."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from accounts.models import Organization

from . import db, outgoing, rating
from .models import (
    Category,
    Conversation,
    FreeReason,
    MessageStatus,
    MonthlyStatement,
    PricingModel,
    UnknownNumber,
    WebhookEvent,
    WhatsAppNumber,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


# --- Numbers ----------------------------------------------------------------------------------------


@transaction.atomic
def whatsapp_number_add(
    *, organization: Organization, phone_number_id: str, waba_id: str, display_number: str
) -> WhatsAppNumber:
    """Attach a WhatsApp number to an organization. Traffic already received for it (while it was unknown)
    and not yet on a statement becomes the organization's."""
    phone_number_id = phone_number_id.strip()
    number = WhatsAppNumber.objects.select_for_update().filter(phone_number_id=phone_number_id).first()
    if number is not None and number.organization_id != organization.pk:
        raise ValueError(f"Phone number ID {phone_number_id} already belongs to {number.organization}.")
    if number is None:
        number = WhatsAppNumber.objects.create(
            organization=organization,
            phone_number_id=phone_number_id,
            waba_id=waba_id.strip(),
            display_number=display_number.strip(),
        )
    else:
        number.waba_id, number.display_number = waba_id.strip(), display_number.strip()
        number.save(update_fields=["waba_id", "display_number"])
    MessageStatus.objects.filter(phone_number_id=phone_number_id, organization__isnull=True).update(
        organization=organization
    )
    Conversation.objects.filter(
        phone_number_id=phone_number_id, organization__isnull=True, statement__isnull=True
    ).update(organization=organization)
    UnknownNumber.objects.filter(phone_number_id=phone_number_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    return number


# --- Webhook deliveries -----------------------------------------------------------------------------


_STORE_EVENT_SQL = (
    "INSERT INTO conversations_webhookevent (body_sha256, body, received_at, status, attempts, statuses_count, "
    "messages_count, flags, error, phone_number_ids) VALUES (%s, %s, %s, %s, 0, 0, 0, '[]', '', '') "
    "ON CONFLICT (body_sha256) DO NOTHING RETURNING id"
)


def webhook_event_store(*, body: bytes) -> tuple[int, bool]:
    """Store one verified delivery raw, once, and queue its processing; returns ``(event id, created)``.

    A retry of the same body (Meta retries for days) hits the unique ``body_sha256`` and stores nothing.
    This is the hot path of ingestion: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` statement, committed
    on its own, then the task is queued (the row is committed before any worker can look for it).
    """
    digest = hashlib.sha256(body).hexdigest()
    text = body.decode("utf-8", errors="backslashreplace")
    params = [digest, text, timezone.now(), WebhookEvent.Status.RECEIVED.value]
    # One statement: in autocommit mode it commits by itself, and on_commit then runs at once.
    # A server-side prepared statement: PostgreSQL parses and plans it once per connection.
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_STORE_EVENT_SQL, params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.values_list("pk", flat=True).get(body_sha256=digest), False
    event_id = row[0]
    transaction.on_commit(lambda: _schedule_processing(event_id))
    return event_id, True


# While a processing task is queued or running, new deliveries need no task of their own: the task drains
# everything waiting (see ``events_drain``). Under a flood this turns thousands of tasks into a few batches.
DRAIN_FLAG = "conversations:webhook-drain-scheduled"
DRAIN_FLAG_TTL = 60  # a lost task only delays processing this long (the 5-minute sweep is the backstop)


def _schedule_processing(event_id: int) -> None:
    from .tasks import process_webhook_event

    client = _flag_client()
    if client is None:
        process_webhook_event.delay(event_id)
        return
    try:
        scheduled = not client.set(DRAIN_FLAG, event_id, nx=True, ex=DRAIN_FLAG_TTL)
    except Exception:  # noqa: BLE001 - Redis down: one task per delivery is still correct
        logger.warning("Redis unavailable; queueing one task per WhatsApp delivery", exc_info=True)
        scheduled = False
    if not scheduled:
        process_webhook_event.delay(event_id)


_flag_clients: dict = {}


def _flag_client():
    """A Redis client for the flag, when the cache is Redis (shared by web processes and workers, as in
    production); ``None`` otherwise (tests, ``make run``): then every delivery queues its own task.
    Built once per process: Django's cache makes a new client object on every call, which costs more CPU
    than the rest of the request."""
    from django.conf import settings

    cache = settings.CACHES.get("default", {})
    if not cache.get("BACKEND", "").endswith("RedisCache"):
        return None
    location = cache.get("LOCATION")
    location = location[0] if isinstance(location, (list, tuple)) else location
    if location not in _flag_clients:
        import redis

        _flag_clients[location] = redis.Redis.from_url(location, socket_timeout=2)
    return _flag_clients[location]


def events_drain(*, first_event_id: int | None = None, max_batches: int = 200) -> int:
    """The processing task: clear the "scheduled" flag, then process until nothing waits. Clearing first
    means a delivery stored after our last look finds the flag gone and queues a new task."""
    total = 0
    if first_event_id is not None:
        total += events_process(event_ids=[first_event_id])
    client = _flag_client()
    for _ in range(max_batches):
        try:
            if client is not None:
                client.delete(DRAIN_FLAG)
        except Exception:  # noqa: BLE001
            logger.warning("cache unavailable while draining WhatsApp deliveries", exc_info=True)
        done = events_process()
        total += done
        if done == 0:
            break
    return total


def events_process(*, event_ids: list[int] | None = None, limit: int = BATCH_SIZE, retry: bool = False) -> int:
    """Rate the statuses of stored deliveries, in one set-based batch.

    Takes the given events (or the oldest waiting ones) with ``SKIP LOCKED`` so workers share the queue.
    ``retry`` also takes events already processed or failed: reprocessing is idempotent.
    If the batch fails, each event is retried alone so one bad delivery cannot hold up the others.
    """
    try:
        with transaction.atomic():
            events = _lock_events(event_ids=event_ids, limit=limit, retry=retry)
            if not events:
                return 0
            _process_locked(events)
            return len(events)
    except Exception:
        logger.exception("WhatsApp webhook batch failed; retrying events one by one")
    done = 0
    ids = event_ids or list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for event_id in ids:
        try:
            with transaction.atomic():
                events = _lock_events(event_ids=[event_id], limit=1, retry=retry)
                if events:
                    _process_locked(events)
                    done += 1
        except Exception as exc:  # noqa: BLE001 - recorded on the event for staff
            logger.exception("WhatsApp webhook event %s failed", event_id)
            WebhookEvent.objects.filter(pk=event_id).update(
                status=WebhookEvent.Status.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                processed_at=timezone.now(),
            )
    return done


def events_process_pending(*, max_batches: int = 200, limit: int = BATCH_SIZE) -> int:
    """Drain the waiting deliveries, batch by batch (bounded, so a flood cannot pin a worker forever)."""
    total = 0
    for _ in range(max_batches):
        done = events_process(limit=limit)
        total += done
        if done < limit:
            break
    return total


def webhook_events_reprocess(*, events) -> int:
    """Staff action: process stored deliveries again (idempotent: counted charges stay counted once)."""
    ids = [e.pk for e in events]
    WebhookEvent.objects.filter(pk__in=ids).update(status=WebhookEvent.Status.RECEIVED, error="")
    total = 0
    for start in range(0, len(ids), BATCH_SIZE):
        total += events_process(event_ids=ids[start : start + BATCH_SIZE], limit=BATCH_SIZE, retry=True)
    return total


def _lock_events(*, event_ids, limit, retry) -> list[WebhookEvent]:
    qs = WebhookEvent.objects.select_for_update(skip_locked=True).order_by("id")
    if event_ids is not None:
        qs = qs.filter(pk__in=event_ids)
        if not retry:
            qs = qs.filter(status=WebhookEvent.Status.RECEIVED)
    else:
        qs = qs.filter(status=WebhookEvent.Status.RECEIVED)
    return list(qs[:limit])


def _process_locked(events: list[WebhookEvent]) -> None:
    now = timezone.now()
    updates: list[rating.StatusUpdate] = []
    seen_numbers: dict[str, tuple[str, str]] = {}
    per_event = []
    for event in events:
        parsed = rating.parse_delivery(event.body, event_id=event.pk)
        updates.extend(parsed.statuses)
        for pnid, info in parsed.numbers.items():
            seen_numbers.setdefault(pnid, info)
        per_event.append((event, parsed))

    known = {n.phone_number_id: n for n in WhatsAppNumber.objects.filter(phone_number_id__in=list(seen_numbers))}
    unknown = {pnid: info for pnid, info in seen_numbers.items() if pnid not in known}
    if unknown:
        _record_unknown_numbers(unknown, updates, now)
    result = statuses_apply(updates=updates, numbers=known)

    for event, parsed in per_event:
        flags = list(parsed.flags)
        pnids = {s.phone_number_id for s in parsed.statuses} | set(parsed.numbers)
        for pnid in sorted(pnids & set(unknown)):
            flags.append(f"unknown number: {pnid}")
        for wamid in result.unrated.get(event.pk, ()):
            flags.append(f"delivered but cannot be rated: {wamid[:80]}")
        event.flags = flags
        event.status = WebhookEvent.Status.FLAGGED if flags else WebhookEvent.Status.PROCESSED
        event.error = ""
        event.processed_at = now
        event.attempts += 1
        event.statuses_count = len(parsed.statuses)
        event.messages_count = parsed.inbound_messages
        event.phone_number_ids = ",".join(sorted(pnids))[:255]
    db.bulk_update(
        WebhookEvent,
        events,
        [
            "flags",
            "status",
            "error",
            "processed_at",
            "attempts",
            "statuses_count",
            "messages_count",
            "phone_number_ids",
        ],
    )


def _record_unknown_numbers(unknown: dict[str, tuple[str, str]], updates, now) -> None:
    counts: dict[str, int] = defaultdict(int)
    for update in updates:
        if update.phone_number_id in unknown:
            counts[update.phone_number_id] += 1
    UnknownNumber.objects.bulk_create(
        [
            UnknownNumber(phone_number_id=pnid[:64], waba_id=waba[:64], display_number=display[:32])
            for pnid, (waba, display) in unknown.items()
        ],
        ignore_conflicts=True,
    )
    for pnid in unknown:
        UnknownNumber.objects.filter(phone_number_id=pnid[:64]).update(
            last_seen_at=now, statuses_seen=F("statuses_seen") + counts[pnid]
        )


# --- Rating -----------------------------------------------------------------------------------------


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


# --- Monthly statements -----------------------------------------------------------------------------


def rupiah(amount: Decimal) -> int:
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def statement_close(*, organization: Organization, month: date) -> MonthlyStatement:
    """Freeze one organization's month of conversations into a statement and bill it on one invoice.

    Idempotent: the statement is unique per organization and month, and its invoice is made once, under
    the statement's row lock.
    """
    from . import selectors

    month = month.replace(day=1)
    with transaction.atomic():
        try:
            with transaction.atomic():
                statement, _created = MonthlyStatement.objects.get_or_create(organization=organization, month=month)
        except IntegrityError:
            statement = MonthlyStatement.objects.get(organization=organization, month=month)
        statement = MonthlyStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.invoice_id is not None or statement.summary:
            return statement

        Conversation.objects.filter(organization=organization, month=month, statement__isnull=True).update(
            statement=statement
        )
        # Reported after their own month was closed (Meta retries for days): billed now, never dropped.
        late = Conversation.objects.filter(organization=organization, month__lt=month, statement__isnull=True).filter(
            Exists(MonthlyStatement.objects.filter(organization=organization, month=OuterRef("month")))
        )
        late_count = late.update(statement=statement)
        summary = selectors.month_summary(organization=organization, month=month)
        billed = Conversation.objects.filter(statement=statement).aggregate(n=Count("pk"), amount=Sum("price"))
        late_amount = rupiah(billed["amount"] or 0) - summary["total_amount"]
        statement.summary = {**summary, "late": {"count": late_count, "amount": late_amount}}
        statement.total_amount = summary["total_amount"] + late_amount
        statement.conversations_count = billed["n"]
        statement.closed_at = timezone.now()
        lines = selectors.statement_lines(statement=statement)
        if lines:
            from invoices.services import invoice_create

            invoice = invoice_create(
                organization=organization,
                lines=lines,
                kind="statement",
                reference=f"whatsapp-statement:{statement.pk}",
            )
            statement.invoice_id = invoice.pk
        statement.save()
        outgoing.statement_issued(statement)
        return statement


def month_close(*, month: date) -> list[MonthlyStatement]:
    """The monthly job: close ``month`` for every organization with conversations not yet on a statement
    in it or before it. A month the job missed (outage) is closed first, on its own statement; conversations
    reported late for an already closed month go on ``month``'s statement."""
    month = month.replace(day=1)
    pending = (
        Conversation.objects.filter(organization__isnull=False, statement__isnull=True, month__lte=month)
        .values_list("organization_id", "month")
        .distinct()
    )
    closed = set(
        MonthlyStatement.objects.filter(month__lte=month).exclude(summary={}).values_list("organization_id", "month")
    )
    work: dict = defaultdict(set)
    for org_id, conv_month in pending:
        # A closed month's stragglers are billed with ``month``; an unclosed month gets its own statement.
        work[org_id].add(month if (org_id, conv_month) in closed else conv_month)
    statements = []
    organizations = Organization.objects.in_bulk(list(work))
    for org_id in sorted(work, key=str):
        for target in sorted(work[org_id]):
            statements.append(statement_close(organization=organizations[org_id], month=target))
    return statements


def previous_month(now: datetime | None = None) -> date:
    local = (now or timezone.now()).astimezone(rating.BILLING_TZ)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return date(year, month, 1)


def conversations_rerate(*, conversations, actor=None, reason: str = "rate card corrected") -> int:
    """Staff action: rate conversations again with the cards now on file (the card in force when each
    opened). Conversations already on a statement are never touched: a closed month stays as billed."""
    from accounts.services import audit_record

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
