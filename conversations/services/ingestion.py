"""Meta's webhook deliveries: stored raw once, then processed in set-based batches shared by the workers."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from datetime import datetime

import psycopg
import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record

from .. import db, rating
from ..markets import market_key_for_region
from ..models import UnknownNumber, VolumeTierUpdate, WebhookEvent, WhatsAppNumber
from ..tasks import process_webhook_event
from .charging import statuses_apply

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


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
    # Parameters are bound client-side and nothing is prepared (Django opens psycopg connections with
    # prepare_threshold=None, so PgBouncer in transaction mode can run each statement on any server connection;
    # preparing this INSERT measured no gain: ~1.1 ms per store either way, the commit dominates).
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_STORE_EVENT_SQL, params)
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
# A web process that has just found the flag set (or set it) does not ask Redis again for this long: under a flood
# that is one Redis round trip per process every 50 ms instead of one per delivery. It is safe because the drain
# stops only after a look that began at least this long after it last cleared the flag: a delivery stored within
# the window of a flag that existed is committed before that look (see ``events_drain``).
FLAG_SEEN_WINDOW = 0.05  # seconds, on each process's monotonic clock
_flag_seen_at = float("-inf")  # when this process last sent a SET that found or made the flag


def _schedule_processing(event_id: int) -> None:
    global _flag_seen_at
    client = _flag_client()
    if client is None:
        process_webhook_event.delay(event_id)
        return
    asked = time.monotonic()
    if asked - _flag_seen_at < FLAG_SEEN_WINDOW:
        return  # a drain is scheduled and will look after this delivery's commit
    try:
        scheduled = not client.set(DRAIN_FLAG, event_id, nx=True, ex=DRAIN_FLAG_TTL)
    except Exception:  # noqa: BLE001 - Redis down: one task per delivery is still correct
        logger.warning("Redis unavailable; queueing one task per WhatsApp delivery", exc_info=True)
        process_webhook_event.delay(event_id)
        return
    # The flag existed when Redis answered, which is after ``asked``: measured from the send, the window is safe.
    _flag_seen_at = asked
    if not scheduled:
        process_webhook_event.delay(event_id)


_flag_clients: dict[str, redis.Redis] = {}


def _flag_client() -> redis.Redis | None:
    """A Redis client for the flag, when the cache is Redis (shared by web processes and workers, as in
    production); ``None`` otherwise (tests, ``make run``): then every delivery queues its own task.
    Built once per process: Django's cache makes a new client object on every call, which costs more CPU
    than the rest of the request."""
    cache = settings.CACHES.get("default", {})
    if not cache.get("BACKEND", "").endswith("RedisCache"):
        return None
    location = cache.get("LOCATION")
    location = location[0] if isinstance(location, (list, tuple)) else location
    if not isinstance(location, str):
        return None
    if location not in _flag_clients:
        _flag_clients[location] = redis.Redis.from_url(location, socket_timeout=2)
    return _flag_clients[location]


def events_drain(*, first_event_id: int | None = None, max_batches: int = 200) -> int:
    """The processing task: clear the "scheduled" flag, then process until nothing waits. Clearing first
    means a delivery stored after our last look finds the flag gone and queues a new task.

    With the shared flag, the drain stops only after a look that began at least ``FLAG_SEEN_WINDOW`` after it last
    cleared the flag: a web process that saw the flag within that window queued nothing for its delivery, and the
    delivery was committed before that look, so it is taken here."""
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
        cleared = time.monotonic()
        done = events_process()
        if done == 0 and client is not None:
            wait = FLAG_SEEN_WINDOW - (time.monotonic() - cleared)
            if wait > 0:
                time.sleep(wait)
            done = events_process()  # the late look: deliveries stored in the window of the flag just cleared
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


def webhook_events_reprocess(*, events: list[WebhookEvent], actor: User | None = None, reason: str = "") -> int:
    """Staff action: process stored deliveries again (idempotent: counted charges stay counted once).

    Each retried delivery gets an audit entry (who, and how it stood before), written with the reset of its
    status, before processing: a batch that fails is retried event by event and its failure is recorded."""
    ids = [e.pk for e in events]
    with transaction.atomic():
        for event in WebhookEvent.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            audit_record(
                action="whatsapp_event.reprocess",
                actor=actor,
                target=event,
                before={"status": event.status, "error": event.error[:500]},
                reason=reason,
            )
        WebhookEvent.objects.filter(pk__in=ids).update(status=WebhookEvent.Status.RECEIVED, error="")
    total = 0
    for start in range(0, len(ids), BATCH_SIZE):
        total += events_process(event_ids=ids[start : start + BATCH_SIZE], limit=BATCH_SIZE, retry=True)
    return total


def _lock_events(*, event_ids: list[int] | None, limit: int, retry: bool) -> list[WebhookEvent]:
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
    tier_updates = [(event, update) for event, parsed in per_event for update in parsed.tier_updates]
    if tier_updates:
        _record_tier_updates(tier_updates, now)

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


def _record_tier_updates(tier_updates: list, now: datetime) -> None:
    """Meta's volume tier announcements, stored once each (a retry or a duplicate stores nothing) for staff."""
    VolumeTierUpdate.objects.bulk_create(
        [
            VolumeTierUpdate(
                waba_id=update.waba_id,
                event_id=event.pk,
                effective_month=update.effective_month,
                pricing_category=update.pricing_category,
                region=update.region,
                market=market_key_for_region(update.region),
                tier=update.tier,
                tier_update_time=update.tier_update_time,
                received_at=now,
            )
            for event, update in tier_updates
        ],
        ignore_conflicts=True,
    )


def _record_unknown_numbers(
    unknown: dict[str, tuple[str, str]], updates: list[rating.StatusUpdate], now: datetime
) -> None:
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
