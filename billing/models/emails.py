"""Outbound e-mail log: every notification Saldo sends, rendered in the recipient's language, with its
delivery status. A row is ``sent`` only after the SMTP server accepted it; a failure stays ``failed`` with
its attempts and last error, visible to staff and retried (by Celery with back-off, the sweep, or the admin
action)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["OutboundEmail"]


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    to_email = models.EmailField(_("to"))
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("plain text"))
    body_html = models.TextField(_("HTML"))
    # What to attach at send time, e.g. [{"invoice_pdf": "<invoice uuid>"}]: rendered then, not stored twice.
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One e-mail per business fact and recipient: a re-run of the cause finds the row instead of a second mail.
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "last_attempt_at"], name="outboundemail_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email} ({self.status})"
