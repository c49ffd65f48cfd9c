"""Reads shared by the settings pages and the API, always scoped to an organization."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from accounts.models import Organization

from .models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from .types import ALL_TYPES


def endpoints_for(organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("created_at", "id")


def endpoint_for(organization: Organization, pk: UUID | str) -> WebhookEndpoint:
    """Raises WebhookEndpoint.DoesNotExist (also for another organization's id, or an id that is not a UUID)."""
    return WebhookEndpoint.objects.get(organization=organization, pk=pk)


def deliveries_for(endpoint: WebhookEndpoint, *, limit: int = 50) -> list[Delivery]:
    """The endpoint's delivery log, newest first, each with its attempts."""
    return list(
        endpoint.deliveries.select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("attempted_at", "id")))
        .order_by("-created_at", "-id")[:limit]
    )


def events_for(organization: Organization, *, event_type: str | None = None) -> QuerySet[Event]:
    qs = Event.objects.filter(organization=organization)
    if event_type:
        qs = qs.filter(type=event_type) if event_type in ALL_TYPES else qs.none()
    return qs


def event_for(organization: Organization, pk: UUID | str) -> Event:
    """One event with its deliveries and their attempts. Raises Event.DoesNotExist."""
    return Event.objects.prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("created_at", "id")),
        Prefetch("deliveries__attempt_log", queryset=DeliveryAttempt.objects.order_by("attempted_at", "id")),
    ).get(organization=organization, pk=pk)
