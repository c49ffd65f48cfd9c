"""The API's shape of a purchase, shared by the REST API and the outgoing events' payloads."""

from __future__ import annotations

from rest_framework import serializers

from .models.purchases import Purchase
from .selectors.purchases import purchase_current_session


class PurchaseSerializer(serializers.ModelSerializer):
    gateway_ref = serializers.CharField(allow_null=True)
    payment_url = serializers.SerializerMethodField()
    expires_at = serializers.SerializerMethodField()
    invoice_id = serializers.SerializerMethodField()
    lot_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = Purchase
        fields = [
            "id",
            "status",
            "credits",
            "unit_price",
            "subtotal",
            "tax",
            "total",
            "gateway",
            "gateway_ref",
            "payment_url",
            "expires_at",
            "invoice_id",
            "lot_id",
            "created_at",
            "paid_at",
            "owed_credits",
        ]

    def _session(self, purchase):
        cache = self.context.setdefault("_sessions", {})  # type: ignore[attr-defined]  # DRF passes a dict
        if purchase.pk not in cache:
            cache[purchase.pk] = purchase_current_session(purchase)
        return cache[purchase.pk]

    def get_payment_url(self, purchase) -> str | None:
        session = self._session(purchase)
        if session is None:
            return None
        url = session.redirect_url
        request = self.context.get("request")
        if url.startswith("/") and request is not None:
            url = request.build_absolute_uri(url)
        return url

    def get_invoice_id(self, purchase) -> str | None:
        """Null until the payment is confirmed: a payment request is not an invoice (DESIGN.md)."""
        invoice = purchase.invoice
        if invoice is None or invoice.number is None:
            return None
        return str(invoice.pk)

    def get_expires_at(self, purchase) -> str | None:
        session = self._session(purchase)
        return serializers.DateTimeField().to_representation(session.expires_at) if session else None
