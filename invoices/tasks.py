"""Tasks for invoice PDFs and e-mails. Tasks take ids, look the rows up again and call a service."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import Invoice
from .outgoing import overdue_invoices_emit
from .reminders import invoice_reminders_send

# Services are imported inside the tasks: the services queue these tasks (a service <-> task pair).

__all__ = ["render_invoice_pdf", "email_invoice", "email_unsent_invoices", "send_invoice_reminders"]

logger = logging.getLogger(__name__)


@shared_task(name="invoices.tasks.render_invoice_pdf", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def render_invoice_pdf(invoice_id: str) -> None:
    from .services import invoice_render_pdf

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or (invoice.pdf_status == invoice.status and invoice.pdf):
        return
    invoice_render_pdf(invoice=invoice)


@shared_task(
    name="invoices.tasks.email_invoice",
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def email_invoice(invoice_id: str, force: bool = False) -> bool:
    """Send the paid invoice's PDF. A failure raises and Celery retries with back-off; if every retry
    fails, ``email_unsent_invoices`` picks the invoice up again (``emailed_at`` is still empty)."""
    from .services import invoice_send_email

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return False
    return invoice_send_email(invoice=invoice, force=force)


@shared_task(name="invoices.tasks.email_unsent_invoices")
def email_unsent_invoices(limit: int = 200) -> int:
    """Safety net: paid invoices whose e-mail has not gone out 10 minutes after payment are queued again.
    Idempotent: the send itself locks the row and checks ``emailed_at``."""
    cutoff = timezone.now() - timedelta(minutes=10)
    ids = list(
        Invoice.objects.filter(status=Invoice.Status.PAID, emailed_at__isnull=True, paid_at__lt=cutoff)
        .exclude(buyer_email="")
        .filter(email_attempts__lt=50)
        .order_by("paid_at")
        .values_list("pk", flat=True)[:limit]
    )
    queued = 0
    for invoice_id in ids:
        try:
            email_invoice.delay(str(invoice_id))
            queued += 1
        except Exception:  # noqa: BLE001 - one bad send must not stop the sweep
            logger.exception("Could not e-mail invoice %s", invoice_id)
    return queued


@shared_task(name="invoices.tasks.send_invoice_reminders")
def send_invoice_reminders() -> dict:
    """Daily: unpaid statements due soon (3 days before), due today and overdue get their reminder, once."""
    return invoice_reminders_send()


@shared_task(name="invoices.tasks.emit_overdue_invoice_events")
def emit_overdue_invoice_events() -> int:
    """Daily: ``invoice.overdue`` once per statement invoice past its due date (events app)."""
    return overdue_invoices_emit()
