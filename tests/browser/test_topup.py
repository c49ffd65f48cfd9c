"""The top-up flow in Debian's Chromium: choose → summary → Pay Now → sandbox bank page → confirmation;
and a session that expires. Screenshots of each step go to docs/screenshots/topup-*.png."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from billing.models import Purchase
from billing.tasks import expire_payment_sessions
from credits.selectors import balance_for
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]

DEMO_OWNER = ("owner@demo.saldo.id", "demo-owner-2026")


def test_it_buys_5000_credits_with_the_sandbox_gateway(page, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    purchase_count = Purchase.objects.count()
    from accounts.models import Organization

    org = Organization.objects.get(slug="demo")
    balance_before = balance_for(org)
    login(page, *DEMO_OWNER)

    page.click(".nav a:has-text('Top up')")
    page.wait_for_url(page.base_url + "/credits/top-up/")
    page.click(".preset[data-credits='5000']")
    assert page.input_value("#id_credits") == "5.000"
    assert page.inner_text("#total") == "Rp 555.000"
    assert page.inner_text("#tax") == "Rp 55.000"
    screenshot(page, "topup-1-choose")

    page.click("#continue")
    page.wait_for_url("**/credits/top-up/summary/?credits=5000")
    figures = {key: page.inner_text(f"#s-{key}") for key in ("credits", "unit-price", "subtotal", "tax", "total")}
    assert figures == {
        "credits": "5.000",
        "unit-price": "Rp 100",
        "subtotal": "Rp 500.000",
        "tax": "Rp 55.000",
        "total": "Rp 555.000",
    }
    assert "30 days" in page.inner_text("#s-validity")
    assert page.input_value("#id_legal_name") == "PT Kopi Nusantara Sejahtera"
    assert page.input_value("#id_npwp") == "09.876.543.2-101.000"
    assert page.input_value("#id_email") == "finance@kopinusantara.id"
    screenshot(page, "topup-2-summary")

    page.click("#pay-now")
    page.wait_for_url("**/credits/sandbox/**")
    assert Purchase.objects.count() == purchase_count + 1
    assert page.inner_text("#sandbox-amount") == "Rp 555.000"
    page.click("#method-bca_va")
    page.wait_for_url("**/credits/sandbox/**/bca_va/")
    assert page.inner_text("#sandbox-amount") == "Rp 555.000"
    assert len(page.inner_text("#va-number")) == 16
    screenshot(page, "topup-3-sandbox-bank")

    page.click("#sandbox-pay")
    page.wait_for_url(page.base_url + "/")
    assert "Payment received: 5.000 credits were added" in page.inner_text(".messages")
    balance = page.inner_text("[data-testid=balance] .value")
    assert balance == f"{balance_before + 5000:,}".replace(",", ".")
    screenshot(page, "topup-4-confirmation")

    purchase = Purchase.objects.latest("created_at")
    assert purchase.status == "paid" and purchase.invoice.status == "paid"
    page.goto(page.base_url + f"/billing/purchases/{purchase.pk}/")
    assert page.inner_text("#purchase-state") == "Paid"
    assert page.inner_text("#invoice-state") == "Paid"
    page.click("text=View invoice")
    page.wait_for_url(f"**/billing/invoices/{purchase.invoice.pk}/")
    assert "Paid" in page.inner_text("main")
    assert purchase.invoice.number in page.inner_text("main")
    screenshot(page, "topup-5-paid-invoice")


def test_an_unpaid_session_expires_and_its_payment_request_closes_unnumbered(page, owner, password, screenshot):
    login(page, "owner@tokomaju.id", password)
    page.goto(page.base_url + "/credits/top-up/summary/?credits=1000")
    page.click("#pay-now")
    page.wait_for_url("**/credits/sandbox/**")
    page.click("#sandbox-back")
    page.wait_for_url("**/billing/purchases/**")
    assert page.inner_text("#purchase-state") == "Pending"
    assert page.inner_text("#invoice-state") == "Payment request"
    screenshot(page, "topup-6-pending")

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=5), tick=True):
        assert expire_payment_sessions() == {"expired": 1}
    # the page polls itself: the badge turns to Expired without a reload
    page.wait_for_selector("#purchase-state:has-text('Expired')", timeout=10_000)
    page.reload()
    assert page.inner_text("#invoice-state") == "Closed request"
    purchase = Purchase.objects.get()
    assert purchase.status == "expired" and purchase.invoice.status == "closed"
    assert purchase.invoice.number is None
    screenshot(page, "topup-7-expired")
