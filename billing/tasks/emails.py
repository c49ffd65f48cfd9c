"""Outbound e-mail delivery. Tasks take ids and call services."""

from celery import shared_task

__all__ = ["deliver_outbound_email", "retry_outbound_emails"]


@shared_task(name="billing.tasks.deliver_outbound_email")
def deliver_outbound_email(email_id: int) -> bool:
    """Send one logged e-mail; a failure is recorded on the row and retried by ``retry_outbound_emails``."""
    from ..services.emails import email_deliver

    return email_deliver(email_id=email_id)


@shared_task(name="billing.tasks.retry_outbound_emails")
def retry_outbound_emails() -> int:
    """Every minute: failed e-mails past their back-off (1, 2, 4 … 60 min), and stuck sends, go again."""
    from ..services.emails import emails_retry_failed

    return emails_retry_failed()
