"""Tasks for payment sessions and gateway notifications. Name tasks explicitly: @shared_task(name="billing.tasks.<fn>")."""

from celery import shared_task

from ..models.purchases import PaymentNotification

# Services are imported inside the tasks: the services queue these tasks (a service <-> task pair).

__all__ = ["process_payment_notification", "expire_payment_sessions"]


@shared_task(name="billing.tasks.process_payment_notification")
def process_payment_notification(notification_id: int) -> str:
    """Apply one stored gateway notification (records its own failure; never raises)."""
    from ..services.purchases import notification_process

    notification = PaymentNotification.objects.filter(pk=notification_id).first()
    if notification is None:
        return "missing"
    return notification_process(notification=notification).status


@shared_task(name="billing.tasks.expire_payment_sessions")
def expire_payment_sessions() -> dict:
    """Every 5 minutes: pending sessions past expiry are re-checked with the gateway, then expired."""
    from ..services.purchases import payment_sessions_expire_due

    return payment_sessions_expire_due()
