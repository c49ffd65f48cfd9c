from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import PaymentSession, PriceList, PriceTier, Purchase
from billing.selectors import price_quote, unit_price_for
from billing.services import PurchaseError, purchase_cancel, purchase_create, validate_credits
from invoices.models import Invoice
from tests.billing.conftest import StubGateway, make_purchase

pytestmark = pytest.mark.django_db


def test_it_prices_credits_at_the_default_rp_100_before_tax():
    quote = price_quote(credits=5000)
    assert (quote.unit_price, quote.subtotal, quote.tax, quote.total) == (100, 500_000, 55_000, 555_000)
    assert quote.tax_rate == Decimal("0.12") and quote.other_tax_base == Decimal("458333.33")  # PMK 131/2024
    assert quote.validity_days == 30


def test_it_rounds_tax_half_up_to_whole_rupiah(price, settings):
    from invoices.models import TaxRule

    TaxRule.objects.all().delete()  # the TAX_RATE fallback, on the full price
    settings.TAX_RATE = Decimal("0.11")
    price(95)  # 1,000 × 95 = 95,000; 11 % = 10,450 exactly
    assert price_quote(credits=1000).tax == 10450
    price(7)  # 7,000 × 0.11 = 770
    settings.TAX_RATE = Decimal("0.115")  # 7,000 × 0.115 = 805
    assert price_quote(credits=1000).tax == 805
    settings.TAX_RATE = Decimal("0.1105")  # 7,000 × 0.1105 = 773.5 → 774
    assert price_quote(credits=1000).tax == 774


def test_it_uses_the_volume_tier_the_purchase_reaches(price):
    price(100, (10_000, 90), (50_000, 80))
    assert unit_price_for(5000) == 100
    assert unit_price_for(10_000) == 90
    assert unit_price_for(49_000) == 90
    assert unit_price_for(50_000) == 80


def test_it_uses_the_price_list_in_force_at_the_time():
    now = timezone.now()
    future = PriceList.objects.create(name="2027", effective_from=now + timedelta(days=10))
    PriceTier.objects.create(price_list=future, min_credits=1000, unit_price=120)
    assert unit_price_for(1000) == 100
    assert unit_price_for(1000, now + timedelta(days=11)) == 120


@pytest.mark.parametrize("bad", [0, -1000, 999, 1500, "abc", None, 1000.5, True, "1e3"])
def test_it_refuses_credits_that_are_not_a_positive_multiple_of_1000(bad):
    with pytest.raises(PurchaseError):
        validate_credits(bad)


def test_it_creates_the_purchase_its_unnumbered_payment_request_and_a_24_hour_session(organization, owner):
    now = timezone.now()
    purchase = make_purchase(organization, credits=5000, created_by=owner, now=now)
    assert purchase.created is True
    assert purchase.status == Purchase.Status.PENDING
    assert (purchase.credits, purchase.unit_price, purchase.subtotal, purchase.tax, purchase.total) == (
        5000,
        100,
        500_000,
        55_000,
        555_000,
    )
    invoice = purchase.invoice
    assert invoice.status == Invoice.Status.REQUEST
    assert invoice.number is None  # numbered only when the payment is confirmed
    assert (invoice.subtotal, invoice.tax, invoice.total) == (500_000, 55_000, 555_000)
    session = PaymentSession.objects.get(purchase=purchase)
    assert invoice.due_at == session.expires_at
    assert session.status == PaymentSession.Status.PENDING
    assert session.expires_at == now + timedelta(hours=24)
    assert purchase.gateway_ref == purchase.order_id
    assert purchase.billing_snapshot["legal_name"] == organization.legal_name


def test_it_returns_the_same_purchase_for_the_same_idempotency_key(organization):
    first = make_purchase(organization, key="tab-1")
    again = make_purchase(organization, key="tab-1")
    assert again.pk == first.pk and again.created is False
    assert Purchase.objects.count() == 1
    assert Invoice.objects.filter(kind="purchase").count() == 1


def test_it_scopes_idempotency_keys_per_organization(organization, other_organization):
    make_purchase(organization, key="same")
    make_purchase(other_organization, key="same")
    assert Purchase.objects.count() == 2


def test_it_uses_edited_billing_details_on_the_invoice(organization):
    purchase = make_purchase(
        organization,
        billing={"legal_name": "PT Lain", "npwp": "01.111.222.3-444.000", "address": "Jl. X", "email": "ap@lain.id"},
    )
    assert purchase.invoice.buyer_legal_name == "PT Lain"
    assert purchase.invoice.buyer_email == "ap@lain.id"
    assert purchase.billing_snapshot["npwp"] == "01.111.222.3-444.000"


def test_it_keeps_nothing_when_the_gateway_fails(organization):
    from billing.gateways import GatewayError

    class Down(StubGateway):
        def create_session(self, **kwargs):
            raise GatewayError("down")

    with pytest.raises(GatewayError):
        purchase_create(organization=organization, credits=1000, gateway=Down("midtrans"))
    assert Purchase.objects.count() == 0
    assert Invoice.objects.count() == 0


def test_it_cancels_a_pending_purchase_and_closes_its_payment_request(organization, owner):
    purchase = make_purchase(organization)
    purchase = purchase_cancel(purchase=purchase, actor=owner)
    assert purchase.status == Purchase.Status.CANCELLED
    assert purchase.invoice.status == Invoice.Status.CLOSED and purchase.invoice.number is None
    assert purchase.sessions.get().status == PaymentSession.Status.CANCELLED
    with pytest.raises(PurchaseError):
        purchase_cancel(purchase=purchase, actor=owner)
