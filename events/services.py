"""Every write on outgoing events: the outbox, endpoints, deliveries (DESIGN.md "Outgoing events", invariant 10).

Rules enforced here:
- :func:`event_emit` joins the caller's transaction: the event and one delivery per subscribed, enabled endpoint
  commit or roll back with their cause; delivery is queued with ``transaction.on_commit``, so nothing is sent for
  a change that rolled back and no HTTP runs inside the cause's transaction (a charge never waits for a receiver).
- An event with a ``dedupe_key`` is written once per organization and key (unique constraint), whatever retries.
- A delivery is leased (``next_attempt_at`` pushed forward, when it is written or swept, or under its row lock), sent
  with no transaction open, then its attempt is recorded. Failures are retried with exponential back-off and
  jitter until ``EVENTS_RETRY_DAYS`` (3) after the first attempt; an endpoint failing for
  ``EVENTS_DISABLE_AFTER_DAYS`` (3) is disabled and its owners are e-mailed.
- Endpoint changes by customers and staff are audited in their transaction; a secret is returned only by
  :func:`endpoint_create` and :func:`endpoint_roll_secret` (shown once), the previous one signs for 24 hours more.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.services import audit_record
from core.emails import Recipient, email_send

from . import sending, targets
from .models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from .types import ALL_TYPES, EVENT_TYPES, WEBHOOK_TEST

__all__ = [
    "EndpointError",
    "event_emit",
    "endpoint_create",
    "endpoint_update",
    "endpoint_delete",
    "endpoint_roll_secret",
    "endpoint_send_test",
    "delivery_attempt",
    "delivery_resend",
    "deliveries_retry_due",
]

logger = logging.getLogger(__name__)

PREVIOUS_SECRET_HOURS = 24
MAX_BACKOFF = timedelta(hours=6)


class EndpointError(ValueError):
    """An endpoint change the rules refuse; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "url"):
        super().__init__(message)
        self.field = field


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _lease() -> timedelta:
    return timedelta(seconds=_setting("EVENTS_DELIVERY_LEASE_SECONDS", 120))


def lease_until(now: datetime) -> datetime:
    return now + _lease()


def _jsonable(payload: dict) -> dict:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


# --- the outbox ------------------------------------------------------------------------------------------------


def _queue(delivery_ids: list) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(str(delivery_id), leased=True)
        except Exception:  # noqa: BLE001 - the broker being down must not fail the committed cause: the sweep sends it
            logger.exception("could not queue delivery %s; the retry sweep will send it", delivery_id)


def event_emit(
    *,
    organization: Organization,
    type: str,  # noqa: A002 - the public name of the field (DESIGN.md)
    payload: dict,
    dedupe_key: str = "",
    endpoint: WebhookEndpoint | None = None,
) -> Event | None:
    """Write one event and its deliveries inside the caller's transaction (the outbox) and queue the deliveries
    after commit. With ``dedupe_key`` the event is written once per organization and key: a repeat returns None.
    With ``endpoint`` (the test event) it is delivered there only. Call it inside the transaction of the change
    it reports, so the two commit or roll back together."""
    if type not in ALL_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        event = Event(
            organization_id=organization.pk,
            type=type,
            payload=_jsonable(payload),
            dedupe_key=dedupe_key,
            created_at=now,
        )
        if dedupe_key:
            if Event.objects.filter(organization_id=organization.pk, dedupe_key=dedupe_key).exists():
                return None
            try:
                with transaction.atomic():
                    event.save(force_insert=True)
            except IntegrityError:
                return None  # written by a concurrent transaction meanwhile
        else:
            event.save(force_insert=True)
        if endpoint is not None:
            endpoints = [endpoint]
        else:
            candidates = WebhookEndpoint.objects.filter(organization_id=organization.pk, enabled=True).only(
                "id", "event_types"
            )
            endpoints = [e for e in candidates if e.subscribes_to(type)]
        if endpoints:
            # Created already leased: the after-commit task sends them; the sweep only if that task was lost.
            lease_until = now + _lease()
            deliveries = Delivery.objects.bulk_create(
                [
                    Delivery(
                        event=event, endpoint_id=e.pk, next_attempt_at=lease_until, first_attempt_at=now, created_at=now
                    )
                    for e in endpoints
                ]
            )
            ids = [d.pk for d in deliveries]
            transaction.on_commit(lambda: _queue(ids), robust=True)
    return event


# --- endpoints -------------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _clean_types(event_types: object) -> list[str]:
    if event_types is None:
        return []
    if not isinstance(event_types, (list, tuple)) or not all(isinstance(t, str) for t in event_types):
        raise EndpointError(_("Event types must be a list of names."), field="event_types")
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise EndpointError(_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}, field="event_types")
    return sorted(set(event_types), key=list(EVENT_TYPES).index)


def _clean_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise EndpointError(_("A URL is required."))
    url = url.strip()
    if len(url) > 500:
        raise EndpointError(_("The URL is too long (at most 500 characters)."))
    try:
        targets.validate_url(url)
    except targets.UnsafeTarget as exc:
        raise EndpointError(str(exc)) from exc
    return url


def _state(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
    actor: User | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with its signing secret; returns (endpoint, secret): the only time the secret is shown
    besides a roll. The URL must be a safe target (events.targets)."""
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=_clean_url(url),
        description=(description or "").strip()[:200],
        event_types=_clean_types(event_types),
        enabled=bool(enabled),
        secret=new_secret(),
    )
    audit_record(
        action="webhook_endpoint.create",
        actor=actor,
        organization=organization,
        target=endpoint,
        after=_state(endpoint),
    )
    return endpoint, endpoint.secret


_UNSET = object()


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: User | None = None,
    url: Any = _UNSET,
    description: Any = _UNSET,
    event_types: Any = _UNSET,
    enabled: Any = _UNSET,
) -> WebhookEndpoint:
    """Change an endpoint's URL, description, event types or enabled flag. Enabling a disabled endpoint clears
    its failure record (its missed deliveries can be resent from the log)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _state(endpoint)
    if url is not _UNSET:
        endpoint.url = _clean_url(url)
    if description is not _UNSET:
        endpoint.description = (description or "").strip()[:200]
    if event_types is not _UNSET:
        endpoint.event_types = _clean_types(event_types)
    if enabled is not _UNSET:
        enabled = bool(enabled)
        if enabled and not endpoint.enabled:
            endpoint.disabled_reason, endpoint.disabled_at = "", None
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
        elif not enabled and endpoint.enabled:
            endpoint.disabled_reason, endpoint.disabled_at = _("Disabled by a user"), timezone.now()
        endpoint.enabled = enabled
    endpoint.updated_at = timezone.now()
    endpoint.save()
    after = _state(endpoint)
    if after != before:
        audit_record(
            action="webhook_endpoint.update",
            actor=actor,
            organization=endpoint.organization,
            target=endpoint,
            before=before,
            after=after,
        )
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User | None = None) -> None:
    """Remove an endpoint and its delivery log; the organization's events stay."""
    audit_record(
        action="webhook_endpoint.delete",
        actor=actor,
        organization=endpoint.organization,
        target=endpoint,
        before=_state(endpoint),
    )
    endpoint.delete()


@transaction.atomic
def endpoint_roll_secret(*, endpoint: WebhookEndpoint, actor: User | None = None) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (returned once); the current one keeps signing alongside for 24 hours, so receivers
    can switch without missing an event."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_record(
        action="webhook_endpoint.roll_secret",
        actor=actor,
        organization=endpoint.organization,
        target=endpoint,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    return endpoint, endpoint.secret


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, actor: User | None = None) -> Event:
    """A ``webhook.test`` event delivered to this endpoint only (even when it is disabled: checking a fix)."""
    event = event_emit(
        organization=endpoint.organization,
        type=WEBHOOK_TEST,
        payload={"endpoint_id": str(endpoint.pk), "message": "Test event from Saldo"},
        endpoint=endpoint,
    )
    assert event is not None  # only a dedupe key can make event_emit write nothing
    return event


@transaction.atomic
def delivery_resend(*, delivery: Delivery, actor: User | None = None) -> Delivery:
    """Send one event to one endpoint again now, with a fresh retry window; the attempts so far stay logged."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    now = timezone.now()
    delivery.status = Delivery.Status.PENDING
    delivery.first_attempt_at = now
    delivery.next_attempt_at = now + _lease()
    delivery.save(update_fields=["status", "first_attempt_at", "next_attempt_at"])
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _queue([delivery_id]), robust=True)
    return delivery


@transaction.atomic
def event_resend(*, event: Event, actor: User | None = None) -> list[Delivery]:
    """Resend an event to every endpoint that has it in its log, and to enabled endpoints subscribed now that
    never had it."""
    have = set(event.deliveries.values_list("endpoint_id", flat=True))
    now = timezone.now()
    missing = [
        e
        for e in WebhookEndpoint.objects.filter(organization_id=event.organization_id, enabled=True)
        if e.pk not in have and e.subscribes_to(event.type)
    ]
    Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=e, next_attempt_at=now, first_attempt_at=now) for e in missing]
    )
    return [delivery_resend(delivery=d, actor=actor) for d in event.deliveries.all()]


# --- delivery --------------------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Exponential from EVENTS_RETRY_BASE_SECONDS (30 s), doubling per attempt, capped at 6 hours, ±25 % jitter so
    a recovering receiver is not hit by every retry at once."""
    base = _setting("EVENTS_RETRY_BASE_SECONDS", 30)
    delay = min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return delay * random.uniform(0.75, 1.25)


def _claim(delivery_id: uuid.UUID | str, now: datetime, leased: bool) -> Delivery | None:
    """A leased delivery (written or swept moments ago with ``next_attempt_at`` pushed forward: no other worker
    takes it before the lease passes) is read without a transaction, saving a commit per delivery; otherwise it is
    locked and leased here. Its attempt is counted when recorded."""
    if leased:
        delivery = (
            Delivery.objects.select_related("endpoint", "event")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        if delivery is None or (not delivery.endpoint.enabled and delivery.event.type != WEBHOOK_TEST):
            return None
        return delivery
    with transaction.atomic():
        qs = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("endpoint", "event")
        qs = qs.filter(pk=delivery_id, status=Delivery.Status.PENDING)
        if not leased:
            qs = qs.filter(next_attempt_at__lte=now)
        delivery = qs.first()
        if delivery is None:
            return None
        if not delivery.endpoint.enabled and delivery.event.type != WEBHOOK_TEST:
            return None  # waits: enabling the endpoint again resumes it
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["next_attempt_at"])
        return delivery


def _body(event: Event) -> str:
    return json.dumps(event.envelope(), separators=(",", ":"), cls=DjangoJSONEncoder)


def delivery_attempt(
    *, delivery_id: uuid.UUID | str, leased: bool = False, now: datetime | None = None
) -> DeliveryAttempt | None:
    """Claim one pending delivery, POST it (no transaction open), record the attempt. Returns the attempt, or
    None when there was nothing to do (delivered already, claimed by another worker, not due, endpoint disabled)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now, leased)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    body = _body(event)
    headers = sending.signature_headers(msg_id=str(event.pk), body=body, secrets=endpoint.signing_secrets(now), at=now)
    result = sending.send(url=endpoint.url, body=body, headers=headers)
    return _record(delivery, result, timezone.now())


def _record(delivery: Delivery, result: sending.SendResult, now: datetime) -> DeliveryAttempt:
    delivery.attempts += 1
    with transaction.atomic():
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=result.excerpt,
            error=result.error,
            succeeded=result.succeeded,
        )
        endpoint = delivery.endpoint
        if result.succeeded:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SUCCEEDED,
                delivered_at=now,
                last_status_code=result.status_code,
                attempts=F("attempts") + 1,
            )
            # The endpoint row is written only when its record changes: deliveries to a healthy endpoint don't
            # queue on its row lock.
            if (
                endpoint.consecutive_failures
                or endpoint.failing_since
                or not endpoint.last_success_at
                or (endpoint.last_success_at < now - timedelta(minutes=1))
            ):
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    consecutive_failures=0, failing_since=None, last_success_at=now
                )
            return attempt
        window = timedelta(days=_setting("EVENTS_RETRY_DAYS", 3))
        if now - delivery.first_attempt_at >= window:
            fields: dict[str, object] = {"status": Delivery.Status.FAILED}
        else:
            fields = {"next_attempt_at": now + backoff(delivery.attempts)}
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            last_status_code=result.status_code, attempts=F("attempts") + 1, **fields
        )
        if delivery.event.type != WEBHOOK_TEST:
            _endpoint_failed(endpoint.pk, now)
        return attempt


def _endpoint_failed(endpoint_id: uuid.UUID, now: datetime) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("organization").get(pk=endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    fields = ["consecutive_failures", "failing_since"]
    disable_after = timedelta(days=_setting("EVENTS_DISABLE_AFTER_DAYS", 3))
    if (
        endpoint.enabled
        and endpoint.failing_since <= now - disable_after
        and endpoint.consecutive_failures >= _setting("EVENTS_DISABLE_MIN_FAILURES", 10)
    ):
        endpoint.enabled = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = _("every delivery failed for %(days)s days") % {"days": disable_after.days}
        fields += ["enabled", "disabled_at", "disabled_reason"]
        audit_record(
            action="webhook_endpoint.auto_disable",
            organization=endpoint.organization,
            target=endpoint,
            after={"enabled": False, "consecutive_failures": endpoint.consecutive_failures},
            reason=endpoint.disabled_reason,
        )
        _email_owners_disabled(endpoint)
    endpoint.save(update_fields=fields)


def _email_owners_disabled(endpoint: WebhookEndpoint) -> None:
    owners = Membership.objects.filter(
        organization_id=endpoint.organization_id, role=Membership.Role.OWNER, user__is_active=True
    ).values_list("user__email", "user__language")
    email_send(
        kind="webhook_endpoint_disabled",
        template="events/email/endpoint_disabled",
        context={
            "organization": endpoint.organization,
            "endpoint": endpoint,
            "url_settings": settings.SITE_URL + reverse("events:endpoints"),
        },
        recipients=[Recipient(email, language) for email, language in owners],
        organization=endpoint.organization,
        dedupe_key=f"webhook_endpoint_disabled:{endpoint.pk}:{endpoint.disabled_at:%Y%m%d%H%M%S}",
    )


_DUE_SQL = """
WITH due AS (
    SELECT id FROM (
        SELECT d.id, d.next_attempt_at,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS n
        FROM events_delivery d JOIN events_webhookendpoint e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND e.enabled
    ) ranked
    WHERE n <= %(per_endpoint)s
    ORDER BY next_attempt_at
    LIMIT %(limit)s
), claimed AS (
    SELECT d.id FROM events_delivery d JOIN due ON due.id = d.id
    WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE events_delivery d SET next_attempt_at = %(lease_until)s FROM claimed WHERE d.id = claimed.id RETURNING d.id
"""


def deliveries_retry_due(*, now: datetime | None = None, limit: int = 1000, per_endpoint: int = 50) -> int:
    """The retry sweep (every minute): pending deliveries that are due, at most ``per_endpoint`` per endpoint so
    one endpoint's backlog never starves another organization's, leased and queued. Idempotent: a leased
    delivery is not due again until its lease passes."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _DUE_SQL, {"now": now, "per_endpoint": per_endpoint, "limit": limit, "lease_until": now + _lease()}
        )
        ids = [row[0] for row in cursor.fetchall()]
        transaction.on_commit(lambda: _queue(ids), robust=True)
    return len(ids)
