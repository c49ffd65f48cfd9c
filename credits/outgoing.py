"""Outgoing events about credits (events app), one call from each service, inside its transaction.

- ``credits.low``: the spendable balance crossed ``Organization.low_balance_threshold`` downward. Derived from the
  balance before and after a debit under the balance row lock (no extra query on a charge that crosses nothing),
  so 100 concurrent charges through the threshold fire once. ``credits.depleted``: it reached 0, or a charge was
  refused. Both are written once per "epoch" (dedupe key: the organization's latest lot): the balance can only rise
  above the threshold again with a new lot, so a second event needs a new crossing.
- ``credits.expiring`` once per lot (the reminders job claims each lot once), ``credits.expired`` per lot written
  down by the expiry job.
Payloads use the API's shapes (``GET /api/v1/credits/balance``).

The single charge runs in autocommit (one statement, see ``saldo_usage_charge``): a transaction around it would
cost two more round trips on every charge for an event on one charge in thousands. So :data:`CHARGE_SQL` writes
the crossing's events and deliveries (the outbox rows :func:`events.emit` would write) in that same statement, with
the same payload, dedupe key and subscription rule, and returns the deliveries to queue after commit.
"""

from __future__ import annotations

from typing import Any

import events
from events import types

from .models import CreditLot


def lot_json(lot: CreditLot | dict[str, Any]) -> dict:
    """A lot in the API's shape, from the model or from a row of raw SQL (the charge statement's)."""

    def get(name: str) -> Any:
        return lot[name] if isinstance(lot, dict) else getattr(lot, name)

    return {
        "id": str(get("id")),
        "source": get("source"),
        "credits": get("credits"),
        "remaining": get("remaining"),
        "granted_at": get("granted_at").isoformat(),
        "expires_at": get("expires_at").isoformat(),
    }


CHARGE_SQL = """
WITH c AS MATERIALIZED (
    SELECT * FROM saldo_usage_charge(%(org)s, %(mid)s, %(dir)s, %(occ)s, %(now)s, %(day)s, %(window_from)s)
), hit AS (
    SELECT t.type, t.prefix, t.extra, c.charged_balance FROM c CROSS JOIN LATERAL (VALUES
        ('credits.low', 'low:', '{}'::jsonb, c.charged_balance = %(threshold)s::bigint - 1),
        ('credits.depleted', 'depleted:', '{"charge_refused": false}'::jsonb, c.charged_balance = 0)
    ) AS t(type, prefix, extra, hit)
    WHERE t.hit
), ev AS (
    INSERT INTO events_event (id, organization_id, type, created_at, payload, dedupe_key)
    SELECT gen_random_uuid(), %(org)s, hit.type, %(now)s,
        jsonb_build_object('balance', hit.charged_balance, 'threshold', %(threshold)s::bigint) || hit.extra,
        hit.prefix || COALESCE((
            SELECT l.id::text FROM credits_creditlot l WHERE l.organization_id = %(org)s
            ORDER BY l.created_at DESC, l.id DESC LIMIT 1
        ), 'none')
    FROM hit
    ON CONFLICT (organization_id, dedupe_key) WHERE dedupe_key <> '' DO NOTHING
    RETURNING id, type
), dl AS (
    INSERT INTO events_delivery (id, event_id, endpoint_id, status, attempts, next_attempt_at, first_attempt_at, created_at)
    SELECT gen_random_uuid(), ev.id, e.id, 'pending', 0, %(lease_until)s, %(now)s, %(now)s
    FROM ev JOIN events_webhookendpoint e ON e.organization_id = %(org)s AND e.enabled
        AND (e.event_types = '[]'::jsonb OR e.event_types ? ev.type)
    RETURNING id
)
SELECT c.charged_balance, c.e_direction, c.e_occurred_at, c.e_balance, c.expired, ARRAY(SELECT id FROM dl) FROM c
"""


def charge_params(organization, now) -> dict:
    return {"threshold": organization.low_balance_threshold, "lease_until": events.lease_until(now)}


def charge_committed(delivery_ids: list) -> None:
    """After the charge statement: queue the deliveries it wrote (after commit, if a caller's transaction is open)."""
    if delivery_ids:
        events.queue_after_commit(delivery_ids)


def _epoch(organization) -> str:
    latest = CreditLot.objects.filter(organization_id=organization.pk).order_by("-created_at", "-id")
    return str(latest.values_list("pk", flat=True).first() or "none")


def balance_fell(organization, before: int, after: int, *, refused: bool = False) -> None:
    """After a debit (or a refused one) under the balance lock: emit the crossings it made."""
    threshold = organization.low_balance_threshold
    low = after < threshold <= before
    depleted = refused or (after <= 0 < before)
    if not (low or depleted):
        return
    epoch = _epoch(organization)
    data = {"balance": max(after, 0), "threshold": threshold}
    if low:
        events.emit(organization=organization, type=types.CREDITS_LOW, payload=data, dedupe_key=f"low:{epoch}")
    if depleted:
        events.emit(
            organization=organization,
            type=types.CREDITS_DEPLETED,
            payload={**data, "charge_refused": refused},
            dedupe_key=f"depleted:{epoch}",
        )


def lot_expiring(lot) -> None:
    events.emit(
        organization=lot.organization,
        type=types.CREDITS_EXPIRING,
        payload={"lot": lot_json(lot)},
        dedupe_key=f"expiring:{lot.pk}",
    )


def lots_expired(organization, lots: list[dict], balance_after: int) -> None:
    """``lots``: the expired lots as dicts with their credits written down (``expired``)."""
    for lot in lots:
        events.emit(
            organization=organization,
            type=types.CREDITS_EXPIRED,
            payload={"lot": lot_json(lot), "expired_credits": lot["expired"], "balance": balance_after},
            dedupe_key=f"expired:{lot['id']}",
        )
