"""The outbound e-mail log (``OutboundEmail``): queue after commit, deliver with retries, never mark a failed
send as sent.

- :func:`email_queue` stores the rendered e-mail (one row per recipient, unique ``dedupe_key``) and queues its
  delivery with ``transaction.on_commit``: nothing is sent for a change that rolled back.
- :func:`email_deliver` claims the row with one conditional UPDATE (queued/failed → sending, attempts + 1),
  commits, then talks to SMTP outside any transaction; the outcome is written afterwards: ``sent`` only when
  the server accepted the message, otherwise ``failed`` with the error.
- :func:`emails_retry_failed` (every minute) re-queues failed rows with back-off, and rows stuck in
  ``sending`` (a worker died mid-send), up to ``MAX_ATTEMPTS``; staff can retry any row from the admin.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from core.emails import RenderedEmail
from invoices.models import Invoice
from invoices.services import invoice_pdf_bytes

from ..models.emails import OutboundEmail

__all__ = ["MAX_ATTEMPTS", "email_queue", "email_deliver", "emails_retry_failed", "email_retry"]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=15)


def _queue_delivery(email_id: int) -> None:
    from ..tasks.emails import deliver_outbound_email

    transaction.on_commit(lambda: deliver_outbound_email.delay(email_id))


def email_queue(
    *,
    kind: str,
    to_email: str,
    language: str,
    rendered: RenderedEmail,
    organization: Organization | None = None,
    attachments: list[dict] | None = None,
    dedupe_key: str | None = None,
) -> OutboundEmail:
    """Store a rendered e-mail and deliver it after commit. The same ``dedupe_key`` returns the first row."""
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                kind=kind,
                to_email=to_email,
                language=language,
                subject=rendered.subject[:255],
                body_text=rendered.text,
                body_html=rendered.html,
                attachments=attachments or [],
                organization=organization,
                dedupe_key=dedupe_key or None,
            )
    except IntegrityError:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        return existing
    _queue_delivery(email.pk)
    return email


def _attachments(email: OutboundEmail) -> list[tuple[str, bytes, str]]:
    files = []
    for spec in email.attachments or []:
        invoice_id = spec.get("invoice_pdf") if isinstance(spec, dict) else None
        if invoice_id:
            invoice = Invoice.objects.get(pk=invoice_id)
            files.append((invoice.pdf_filename, invoice_pdf_bytes(invoice=invoice), "application/pdf"))
    return files


def email_deliver(*, email_id: int, now: datetime | None = None) -> bool:
    """Send one logged e-mail if it is waiting. Returns True when the SMTP server accepted it."""
    now = now or timezone.now()
    claimable = Q(status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED]) | Q(
        status=OutboundEmail.Status.SENDING, last_attempt_at__lt=now - STUCK_AFTER
    )
    claimed = (
        OutboundEmail.objects.filter(claimable, pk=email_id)
        .filter(attempts__lt=MAX_ATTEMPTS)
        .update(status=OutboundEmail.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return False  # sent already, being sent by another worker, or out of attempts
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        message = EmailMultiAlternatives(subject=email.subject, body=email.body_text, to=[email.to_email])
        message.attach_alternative(email.body_html, "text/html")
        for name, content, mimetype in _attachments(email):
            message.attach(name, content, mimetype)
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never reported as sent
        logger.warning("e-mail %s to %s failed", email.pk, email.to_email, exc_info=True)
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.FAILED, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return False
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def emails_retry_failed(*, now: datetime | None = None, limit: int = 200) -> int:
    """The sweep: failed e-mails whose back-off has passed, and stuck sends, are queued for delivery again."""
    from ..tasks.emails import deliver_outbound_email

    now = now or timezone.now()
    candidates = OutboundEmail.objects.filter(
        Q(status=OutboundEmail.Status.FAILED)
        | Q(status=OutboundEmail.Status.SENDING, last_attempt_at__lt=now - STUCK_AFTER)
        | Q(status=OutboundEmail.Status.QUEUED, created_at__lt=now - timedelta(minutes=5)),
        attempts__lt=MAX_ATTEMPTS,
    ).order_by("last_attempt_at")[:limit]
    queued = 0
    for email in candidates:
        if email.status == OutboundEmail.Status.FAILED and email.last_attempt_at:
            if email.last_attempt_at + _backoff(email.attempts) > now:
                continue
        deliver_outbound_email.delay(email.pk)
        queued += 1
    return queued


def email_retry(*, email: OutboundEmail) -> bool:
    """Staff: try a failed (or exhausted) e-mail again now, with a fresh set of attempts."""
    if email.status == OutboundEmail.Status.SENT:
        return False
    OutboundEmail.objects.filter(pk=email.pk).exclude(status=OutboundEmail.Status.SENT).update(
        status=OutboundEmail.Status.FAILED, attempts=0
    )
    return email_deliver(email_id=email.pk)
