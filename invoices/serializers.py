"""The API's shape of an invoice, shared by the REST API and the outgoing events' payloads."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from .models import Invoice, InvoiceLine


class InvoiceLineSerializer(serializers.ModelSerializer):
    unit_price = serializers.SerializerMethodField()
    tax_rate = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=True)

    class Meta:
        model = InvoiceLine
        fields = ["description", "quantity", "unit_price", "amount", "tax_rate", "tax"]
        extra_kwargs = {
            "description": {
                "help_text": "The line as stored: Saldo's own lines in English (pages and PDFs show them in the "
                "reader's language)."
            }
        }

    def get_unit_price(self, line) -> int | str:
        # Whole rupiah as a JSON number; a fractional unit price (rare) as an exact decimal string.
        value = line.unit_price
        return int(value) if value == value.to_integral_value() else str(value.normalize())


class InvoiceSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField()
    payment_url = serializers.SerializerMethodField()
    lines = InvoiceLineSerializer(many=True, read_only=True)
    buyer = serializers.SerializerMethodField()
    corrects_id = serializers.UUIDField(allow_null=True, read_only=True)
    # The tax breakdown frozen on the invoice: DPP (whole rupiah), DPP Nilai Lain (to the sen, as an exact
    # decimal string) and the PPN rate; ``tax`` is the PPN.
    tax_rate = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=True, read_only=True)
    other_tax_base = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True, read_only=True)
    nsfp = serializers.SerializerMethodField(help_text="The Faktur Pajak number DJP gave this invoice, or null.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "kind",
            "currency",
            "subtotal",
            "tax",
            "total",
            "tax_base",
            "other_tax_base",
            "tax_rate",
            "tax_date",
            "nsfp",
            "issued_at",
            "due_at",
            "paid_at",
            "voided_at",
            "void_reason",
            "payment_reference",
            "reference",
            "corrects_id",
            "buyer",
            "pdf_url",
            "payment_url",
            "lines",
        ]

    def get_pdf_url(self, invoice) -> str:
        url = reverse("api-invoice-pdf", args=[invoice.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def get_payment_url(self, invoice) -> str | None:
        """The invoice's payable page (its Pay button) while it is unpaid; null once paid, void or closed."""
        if not invoice.is_payable:
            return None
        return settings.SITE_URL + reverse("invoices:invoice_detail", args=[invoice.pk])

    def get_buyer(self, invoice) -> dict:
        return {key: value for key, value in invoice.buyer.items() if key != "country"}  # the API's documented shape

    def get_nsfp(self, invoice) -> str | None:
        return invoice.nsfp or None
