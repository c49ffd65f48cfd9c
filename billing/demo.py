"""Demo purchases for `make run`: one paid top-up and one waiting for payment. Idempotent (fixed keys)."""

from datetime import timedelta

from django.utils import timezone

from .gateways import get_gateway
from .gateways.base import PAID, PaymentEvent
from .models.purchases import Purchase
from .services.purchases import payment_apply, purchase_create


def seed(*, organization, owner, stdout) -> None:
    gateway = get_gateway("sandbox")
    if not Purchase.objects.filter(organization=organization, idempotency_key="demo-paid-1").exists():
        purchase = purchase_create(
            organization=organization,
            credits=10_000,
            idempotency_key="demo-paid-1",
            created_by=owner,
            gateway=gateway,
            now=timezone.now() - timedelta(days=3),
        )
        payment_apply(
            purchase=purchase,
            event=PaymentEvent(
                status=PAID,
                gateway_ref=purchase.gateway_ref or "",
                amount=purchase.total,
                raw_status="settlement",
                transaction_id="demo-settlement-1",
            ),
        )
    if not Purchase.objects.filter(organization=organization, idempotency_key="demo-pending-1").exists():
        purchase_create(
            organization=organization,
            credits=5_000,
            idempotency_key="demo-pending-1",
            created_by=owner,
            gateway=gateway,
        )
    stdout.write("  Billing: a paid 10.000-credit top-up and a pending 5.000-credit one (sandbox gateway)")
