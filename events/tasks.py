"""Delivery tasks: take ids, call services. Queued after commit (events.services); the sweep runs every minute."""

from celery import shared_task

from . import services


@shared_task(name="events.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: str, leased: bool = False) -> bool:
    return services.delivery_attempt(delivery_id=delivery_id, leased=leased) is not None


@shared_task(name="events.tasks.retry_webhook_deliveries")
def retry_webhook_deliveries() -> int:
    return services.deliveries_retry_due()
