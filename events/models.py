"""Webhook endpoints, the event outbox and deliveries.

- An :class:`Event` is written in the transaction of its cause (an outbox row) with one :class:`Delivery` per
  subscribed, enabled endpoint; nothing is sent for a change that rolled back (invariant 10).
- ``(organization, dedupe_key)`` is unique when the key is set: a fact that must be told once (a lot about to
  expire, an overdue invoice, one crossing of the low-balance threshold) is one row whatever the retries.
- A delivery is claimed (``next_attempt_at`` moved forward: a lease), sent outside any transaction, and its
  attempt recorded afterwards; every attempt is logged (:class:`DeliveryAttempt`).
"""

from __future__ import annotations

import uuid
from datetime import UTC

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization

from .types import ALL_TYPES, EVENT_TYPES


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Empty: every event type (including types added later).
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Signing secrets (whsec_…): kept to sign; shown to the customer once, on creation and on roll. After a
    # roll the previous one keeps signing alongside until previous_secret_expires_at.
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Failure bookkeeping: failing_since is the first failed attempt after the last success.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["organization", "enabled"], name="events_endpoint_org_enabled")]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        if event_type not in EVENT_TYPES:
            return False  # the test event goes only where it is sent
        return not self.event_types or event_type in self.event_types

    def signing_secrets(self, now=None) -> list[str]:
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=40, choices=[(t, t) for t in ALL_TYPES], db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    # In the API's own shapes (the emitting app's serializers): what GET on the object would answer then.
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="events_event_org_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], condition=~Q(dedupe_key=""), name="events_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The body every endpoint receives (Standard Webhooks' type / timestamp / data)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "timestamp": self.created_at.astimezone(UTC).isoformat(),
            "organization_id": str(self.organization_id),
            "data": self.payload,
        }


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")  # gave up after the retry window

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Due time while pending; moved forward when a worker claims it (a lease, so a crashed worker's delivery is
    # picked up again by the sweep).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Retries stop after EVENTS_RETRY_DAYS from here (a resend starts a new window).
    first_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="events_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="events_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="events_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["attempted_at", "id"]
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="events_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
