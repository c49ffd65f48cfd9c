"""Outgoing events: webhook endpoints, the event outbox and deliveries (DESIGN.md, "Outgoing events").

Emitters call ``events.emit(organization=..., type=..., payload=...)`` inside the transaction of their cause."""


def emit(*, organization, type: str, payload: dict, dedupe_key: str = "", endpoint=None):
    """Write an event and its deliveries in the caller's transaction; see :func:`events.services.event_emit`."""
    # Imported here, not at the top: this package is imported while Django loads its apps, before models exist.
    from .services import event_emit

    return event_emit(organization=organization, type=type, payload=payload, dedupe_key=dedupe_key, endpoint=endpoint)


def lease_until(now):
    """When a delivery written now is due for the retry sweep if its after-commit task was lost."""
    from .services import lease_until as _lease_until

    return _lease_until(now)


def queue_after_commit(delivery_ids: list) -> None:
    """Queue deliveries written outside :func:`emit` (the charge statement) once the transaction commits."""
    from django.db import transaction

    from .services import _queue

    transaction.on_commit(lambda: _queue(delivery_ids), robust=True)
