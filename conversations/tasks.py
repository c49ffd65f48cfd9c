"""Celery tasks for WhatsApp conversations. They take ids, call services and never raise on bad data."""

from celery import shared_task

from .selectors import parse_month

# Services are imported inside the tasks: the services queue these tasks (a service <-> task pair).


@shared_task(name="conversations.tasks.process_webhook_event")
def process_webhook_event(event_id: int) -> int:
    """Rate one stored delivery, together with whatever else is waiting (one set-based batch).

    Under load most of these find their event already taken by an earlier batch and return at once.
    """
    from .services import events_drain

    return events_drain(first_event_id=event_id)


@shared_task(name="conversations.tasks.process_pending_webhook_events")
def process_pending_webhook_events() -> int:
    """Every few minutes: deliveries whose task was lost (worker restart, broker outage) are rated here."""
    from .services import events_process_pending

    return events_process_pending()


@shared_task(name="conversations.tasks.close_conversation_month")
def close_conversation_month(month: str | None = None) -> int:
    """1st of the month (Asia/Jakarta): the previous month's statement and invoice per organization.
    Idempotent: a second run, or two workers at once, find the statements already made."""
    from .services import month_close, previous_month

    target = parse_month(month) if month else previous_month()
    if target is None:
        raise ValueError(f"Bad month {month!r}; expected YYYY-MM")
    return len(month_close(month=target))
