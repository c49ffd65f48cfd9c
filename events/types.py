"""The event types Saldo sends (DESIGN.md, "Outgoing events")."""

from django.utils.translation import gettext_lazy as _

CREDITS_LOW = "credits.low"
CREDITS_DEPLETED = "credits.depleted"
CREDITS_EXPIRING = "credits.expiring"
CREDITS_EXPIRED = "credits.expired"
PURCHASE_PAID = "purchase.paid"
PURCHASE_EXPIRED = "purchase.expired"
PURCHASE_FAILED = "purchase.failed"
PURCHASE_NEEDS_REVIEW = "purchase.needs_review"
INVOICE_ISSUED = "invoice.issued"
INVOICE_PAID = "invoice.paid"
INVOICE_OVERDUE = "invoice.overdue"
INVOICE_VOIDED = "invoice.voided"
STATEMENT_ISSUED = "statement.issued"
API_SUSPENDED = "api.suspended"
API_RESTORED = "api.restored"
# Sent on request from Settings to one endpoint only; never part of a subscription.
WEBHOOK_TEST = "webhook.test"

EVENT_TYPES = {
    CREDITS_LOW: _("The balance fell below the low-balance threshold"),
    CREDITS_DEPLETED: _("The balance reached zero or a charge was refused"),
    CREDITS_EXPIRING: _("A lot of credits expires within 3 days"),
    CREDITS_EXPIRED: _("A lot of credits expired"),
    PURCHASE_PAID: _("A top-up was paid"),
    PURCHASE_EXPIRED: _("A top-up's payment session expired"),
    PURCHASE_FAILED: _("A top-up's payment failed"),
    PURCHASE_NEEDS_REVIEW: _("A payment is held for review"),
    INVOICE_ISSUED: _("An invoice was issued"),
    INVOICE_PAID: _("An invoice was paid"),
    INVOICE_OVERDUE: _("An invoice is past its due date"),
    INVOICE_VOIDED: _("An invoice was voided"),
    STATEMENT_ISSUED: _("A monthly WhatsApp statement was issued"),
    API_SUSPENDED: _("API access was suspended"),
    API_RESTORED: _("API access was restored"),
}
EVENT_TYPE_CHOICES = list(EVENT_TYPES.items())
ALL_TYPES = [*EVENT_TYPES, WEBHOOK_TEST]
