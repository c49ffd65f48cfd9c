"""Invoices, their lines and the per-month number counter.

Money is integer rupiah (invariant 8). An invoice freezes the buyer and seller details at creation, so a
later change of the organization's address never rewrites an old invoice. Numbers ``INV/YYYY/MM/NNNNNN``
are assigned when an invoice is issued, under a row lock on :class:`InvoiceNumberCounter` (invariant 6).
"""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.texts import coded_text

__all__ = ["TaxRule", "EfakturSettings", "Invoice", "InvoiceLine", "InvoiceNumberCounter", "InvoiceReminder"]


def invoice_pdf_path(invoice: "Invoice", filename: str) -> str:
    # Unguessable path (the UUID), grouped by organization; served only through the scoped views.
    return f"invoices/{invoice.organization_id}/{filename}"


class TaxBaseKind(models.TextChoices):
    DPP = "dpp", _("PPN on the price (DPP)")
    DPP_NILAI_LAIN = "dpp_nilai_lain", _("PPN on DPP Nilai Lain (a fraction of the price)")


class TaxRule(models.Model):
    """PPN as data with effective dates (Asia/Jakarta calendar days, both ends inclusive). The rule in force on
    an invoice's tax date is copied onto the invoice when it is created (rate, base kind, factor, transaction
    code), so editing a rule never changes an issued invoice. Seeded by a migration: PPN 11 % on DPP until
    2024-12-31; from 2025-01-01 (PMK 131/2024) PPN 12 % on DPP Nilai Lain = 11/12 × DPP."""

    name = models.CharField(_("name"), max_length=120)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Inclusive; empty = open-ended."))
    rate = models.DecimalField(_("PPN rate"), max_digits=6, decimal_places=4, help_text=_("0.12 for 12 %."))
    base_kind = models.CharField(_("tax base"), max_length=16, choices=TaxBaseKind.choices, default=TaxBaseKind.DPP)
    other_base_numerator = models.PositiveIntegerField(
        _("DPP Nilai Lain numerator"), default=11, help_text=_("DPP Nilai Lain = numerator / denominator × DPP.")
    )
    other_base_denominator = models.PositiveIntegerField(_("DPP Nilai Lain denominator"), default=12)
    trx_code = models.CharField(
        _("Coretax transaction code"), max_length=2, default="04", help_text=_("04: DPP Nilai Lain; 01: to others.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tax rule")
        verbose_name_plural = _("tax rules")
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["valid_from"], name="tax_rule_unique_start"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="tax_rule_period_ordered",
            ),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=1), name="tax_rule_rate_range"),
            models.CheckConstraint(
                condition=Q(other_base_denominator__gt=0)
                & Q(other_base_numerator__gt=0)
                & Q(other_base_numerator__lte=models.F("other_base_denominator")),
                name="tax_rule_factor_range",
            ),
        ]

    def __str__(self) -> str:
        end = self.valid_to.isoformat() if self.valid_to else "…"
        return f"{self.name} ({self.valid_from.isoformat()} – {end})"

    @property
    def factor(self) -> Decimal:
        if self.base_kind != TaxBaseKind.DPP_NILAI_LAIN:
            return Decimal(1)
        return Decimal(self.other_base_numerator) / Decimal(self.other_base_denominator)

    def clean(self):
        super().clean()
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end cannot be before the start.")})
        if not (self.trx_code or "").isdigit() or len(self.trx_code or "") != 2:
            raise ValidationError({"trx_code": _("A transaction code has 2 digits (01 … 10).")})
        if self.valid_from:
            overlapping = TaxRule.objects.exclude(pk=self.pk).filter(
                Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)
            )
            if self.valid_to:
                overlapping = overlapping.filter(valid_from__lte=self.valid_to)
            if overlapping.exists():
                raise ValidationError(
                    _("The period overlaps %(rule)s: one rule is in force on any day.") % {"rule": overlapping.first()}
                )


class EfakturSettings(models.Model):
    """Staff-edited codes of the e-Faktur export (one row). Coretax wants a goods/services code per line
    (``Code``, 6 digits from DJP's list; ``000000`` when no specific code applies) and a unit code
    (``Unit``, e.g. ``UM.0033`` "Lainnya")."""

    service_code = models.CharField(_("service code"), max_length=6, default="000000")
    unit_code = models.CharField(_("unit code"), max_length=16, default="UM.0033")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("e-Faktur settings")
        verbose_name_plural = _("e-Faktur settings")

    def __str__(self) -> str:
        return str(_("e-Faktur settings"))

    def save(self, *args, **kwargs):
        self.pk = 1  # a singleton
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "EfakturSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Invoice(models.Model):
    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Credit purchase")
        STATEMENT = "statement", _("Monthly WhatsApp statement")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        # A payment request (pro-forma): what Pay Now asks for. Unnumbered; it becomes the invoice, numbered,
        # when the payment is confirmed.
        REQUEST = "request", _("Payment request")
        # A payment request whose session expired or was cancelled: unnumbered, never a void invoice.
        CLOSED = "closed", _("Closed request")
        ISSUED = "issued", _("Unpaid")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    # Statuses that carry no number (and are not invoices in the customer's list).
    UNNUMBERED = ("draft", "request", "closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("organization")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PURCHASE)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("number"), max_length=32, unique=True, null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("void reason"), blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=128, blank=True)

    subtotal = models.BigIntegerField(_("subtotal (Rp)"), default=0)
    tax = models.BigIntegerField(_("tax / PPN (Rp)"), default=0)
    total = models.BigIntegerField(_("total (Rp)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="IDR")

    # Tax, frozen from the rule in force on ``tax_date`` (a credit note: the rule of the invoice it corrects).
    tax_date = models.DateField(_("tax date"), null=True, blank=True)
    tax_rule = models.ForeignKey(
        TaxRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("tax rule")
    )
    tax_rate = models.DecimalField(_("PPN rate"), max_digits=6, decimal_places=4, default=Decimal("0"))
    tax_base_kind = models.CharField(_("tax base"), max_length=16, choices=TaxBaseKind.choices, default="dpp")
    tax_base_numerator = models.PositiveIntegerField(_("DPP Nilai Lain numerator"), default=1)
    tax_base_denominator = models.PositiveIntegerField(_("DPP Nilai Lain denominator"), default=1)
    tax_base = models.BigIntegerField(_("DPP (Rp)"), default=0)
    other_tax_base = models.DecimalField(_("DPP Nilai Lain (Rp)"), max_digits=20, decimal_places=2, default=0)
    tax_trx_code = models.CharField(_("Coretax transaction code"), max_length=2, blank=True)
    # The Faktur Pajak number (NSFP) DJP gave this invoice, recorded by staff.
    nsfp = models.CharField(_("Faktur Pajak number (NSFP)"), max_length=32, blank=True, db_index=True)
    nsfp_recorded_at = models.DateTimeField(_("NSFP recorded at"), null=True, blank=True)

    # Buyer, frozen from the billing info at creation.
    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_legal_name = models.CharField(_("buyer legal name"), max_length=200, blank=True)
    buyer_npwp = models.CharField(_("buyer NPWP"), max_length=32, blank=True)
    buyer_document_type = models.CharField(_("buyer document type"), max_length=16, default="TIN")
    buyer_document_number = models.CharField(_("buyer NIK / passport / ID"), max_length=32, blank=True)
    buyer_nitku = models.CharField(_("buyer NITKU"), max_length=22, blank=True)
    buyer_country = models.CharField(_("buyer country"), max_length=3, default="IDN")
    buyer_address = models.TextField(_("buyer address"), blank=True)
    buyer_email = models.EmailField(_("invoice e-mail"), blank=True)
    # Seller, frozen from settings.SELLER at creation.
    seller_name = models.CharField(_("seller name"), max_length=200)
    seller_npwp = models.CharField(_("seller NPWP"), max_length=32, blank=True)
    seller_nitku = models.CharField(_("seller NITKU"), max_length=22, blank=True)
    seller_address = models.TextField(_("seller address"), blank=True)
    seller_email = models.EmailField(_("seller e-mail"), blank=True)

    # What the invoice is for: a purchase id, a statement month ("2025-07"), ...
    reference = models.CharField(_("reference"), max_length=128, blank=True, db_index=True)
    # A credit note points at the paid invoice it cancels; a re-issued invoice at the void one it replaces.
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("corrects"),
    )

    pdf = models.FileField(_("PDF"), upload_to=invoice_pdf_path, blank=True, max_length=255)
    # The status the stored PDF shows (its stamp); a PDF for another status is stale.
    pdf_status = models.CharField(max_length=10, blank=True, editable=False)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True, editable=False)

    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    email_attempts = models.PositiveIntegerField(_("e-mail attempts"), default=0)
    email_error = models.TextField(_("last e-mail error"), blank=True)
    # Set while a worker sends the e-mail (claim, commit, send, record), so a second worker does not send too.
    email_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="invoice_org_created_idx"),
            models.Index(fields=["status", "issued_at"], name="invoice_status_issued_idx"),
            # Revenue per period for the staff console.
            models.Index(fields=["paid_at"], condition=Q(status="paid"), name="invoice_paid_at_idx"),
            # The admin's invoice list, newest first.
            models.Index(fields=["-created_at"], name="invoice_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(tax__gte=0) & Q(total__gte=0), name="invoice_amounts_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "request", "closed"]) | Q(number__isnull=False),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(condition=Q(total=models.F("subtotal") + models.F("tax")), name="invoice_total_sum"),
            # DJP gives each Faktur Pajak number once.
            models.UniqueConstraint(fields=["nsfp"], condition=~Q(nsfp=""), name="invoice_nsfp_unique"),
        ]

    def __str__(self) -> str:
        if self.number:
            return self.number
        prefix = "request" if self.status in (self.Status.REQUEST, self.Status.CLOSED) else "draft"
        return f"{prefix} {str(self.id)[:8]}"

    @property
    def buyer(self) -> dict:
        """The buyer details frozen on the invoice, by the keys a snapshot is taken with (``BUYER_KEYS``)."""
        return {
            "name": self.buyer_name,
            "legal_name": self.buyer_legal_name,
            "npwp": self.buyer_npwp,
            "address": self.buyer_address,
            "email": self.buyer_email,
            "document_type": self.buyer_document_type,
            "document_number": self.buyer_document_number,
            "nitku": self.buyer_nitku,
            "country": self.buyer_country,
        }

    @property
    def is_paid(self) -> bool:
        return self.status == self.Status.PAID

    @property
    def is_request(self) -> bool:
        """A payment request (open or closed): not an invoice yet, no number."""
        return self.status in (self.Status.REQUEST, self.Status.CLOSED)

    @property
    def is_payable(self) -> bool:
        """Unpaid and open to payment: an issued statement or invoice, or an open payment request."""
        return not self.is_credit_note and self.status in (self.Status.ISSUED, self.Status.REQUEST)

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.ISSUED and self.due_at is not None and self.due_at < timezone.now()

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def pdf_filename(self) -> str:
        """``INV/2026/11/000001`` → ``INV-2026-11-000001.pdf``."""
        fallback = "REQUEST" if self.is_request else "DRAFT"
        base = (self.number or f"{fallback}-{str(self.id)[:8]}").replace("/", "-")
        return f"{base}.pdf"

    @property
    def buyer_display_name(self) -> str:
        return self.buyer_legal_name or self.buyer_name

    @property
    def tax_percent(self) -> Decimal:
        return (self.tax_rate * 100).normalize()

    @property
    def uses_other_tax_base(self) -> bool:
        return self.tax_base_kind == TaxBaseKind.DPP_NILAI_LAIN


# WhatsApp categories as Meta names them (the same texts as conversations.models.Category, which this app cannot
# import: conversations builds on invoices).
_WHATSAPP_CATEGORIES = {
    "marketing": _("Marketing"),
    "utility": _("Utility"),
    "authentication": _("Authentication"),
    "authentication_international": _("Authentication-international"),
    "service": _("Service"),
}


def _whatsapp_line(params) -> str:
    """``{"category", "market", "month": "MM/YYYY", "pricing": "CBP"|"PMP", "late": bool}`` → one statement line."""
    values = {
        "category": str(_WHATSAPP_CATEGORIES.get(params["category"], params["category"])),
        "market": str(_("other markets")) if params["market"] == "other" else params["market"],
        "month": params["month"],
    }
    if params.get("pricing") == "PMP":
        text = str(_("WhatsApp %(category)s messages, %(market)s, %(month)s")) % values
    else:
        text = str(_("WhatsApp %(category)s conversations, %(market)s, %(month)s")) % values
    if params.get("late"):
        text = str(_("%(line)s (reported late)")) % {"line": text}
    return text


# The descriptions of invoice lines written by Saldo itself, by code (InvoiceLine.description_code).
LINE_DESCRIPTIONS = {
    "credits": _("Chatbot message credits, valid %(days)s days from payment"),
    "whatsapp": _whatsapp_line,
}


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    # The text as written (English for Saldo's own lines; the API returns it), and the code and parameters it was
    # written from, so that pages, e-mails and PDFs show it in their reader's language (``label``).
    description = models.CharField(_("description"), max_length=255)
    description_code = models.CharField(_("description code"), max_length=32, blank=True, default="", db_default="")
    description_params = models.JSONField(_("description parameters"), null=True, blank=True)
    quantity = models.BigIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price (Rp)"), max_digits=16, decimal_places=2)
    amount = models.BigIntegerField(_("amount (Rp)"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=6, decimal_places=4)
    tax = models.BigIntegerField(_("tax (Rp)"))
    # DPP (the line amount, after discount) and DPP Nilai Lain (11/12 of it, to the sen, where the rule says so).
    tax_base = models.BigIntegerField(_("DPP (Rp)"), default=0)
    other_tax_base = models.DecimalField(_("DPP Nilai Lain (Rp)"), max_digits=20, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0) & Q(unit_price__gte=0) & Q(amount__gte=0) & Q(tax__gte=0),
                name="invoice_line_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def label(self) -> str:
        """The description in the active language; lines without a code show their stored text."""
        return coded_text(LINE_DESCRIPTIONS, self.description_code, self.description_params, self.description)

    @property
    def tax_percent(self):
        return (self.tax_rate * 100).normalize()


class InvoiceNumberCounter(models.Model):
    """The last number used per series and month (Asia/Jakarta). Its row is the lock point that makes
    invoice numbers gapless and unique under concurrency."""

    series = models.CharField(max_length=8, default="INV")
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("invoice number counter")
        verbose_name_plural = _("invoice number counters")
        constraints = [
            models.UniqueConstraint(fields=["series", "year", "month"], name="invoice_counter_unique_month"),
        ]

    def __str__(self) -> str:
        return f"{self.series}/{self.year:04d}/{self.month:02d} → {self.last_number:06d}"


class InvoiceReminder(models.Model):
    """One reminder of one kind sent for one unpaid statement (due soon, due today, overdue). The unique
    constraint is what makes the daily job idempotent: a second run, or a second worker at the same time,
    finds the row and sends nothing more."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("Due soon")
        DUE_TODAY = "due_today", _("Due today")
        OVERDUE = "overdue", _("Overdue")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveSmallIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("invoice reminder")
        verbose_name_plural = _("invoice reminders")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="invoice_reminder_once_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.kind}"
