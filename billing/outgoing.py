"""Outgoing events about purchases (events app): ``purchase.paid``, ``purchase.expired``, ``purchase.failed``,
``purchase.needs_review``, written in the transaction that changed the purchase's status, with the purchase as
``GET /api/v1/purchases/<id>`` shows it."""

from __future__ import annotations

import events
from events import types

from .models.purchases import Purchase
from .serializers import PurchaseSerializer

_TYPES: dict[str, str] = {
    Purchase.Status.PAID: types.PURCHASE_PAID,
    Purchase.Status.EXPIRED: types.PURCHASE_EXPIRED,
    Purchase.Status.FAILED: types.PURCHASE_FAILED,
    Purchase.Status.NEEDS_REVIEW: types.PURCHASE_NEEDS_REVIEW,
}


def purchase_status_changed(purchase: Purchase, before: str) -> None:
    event_type = _TYPES.get(purchase.status)
    if purchase.status == before or event_type is None:
        return
    events.emit(organization=purchase.organization, type=event_type, payload=PurchaseSerializer(purchase).data)
