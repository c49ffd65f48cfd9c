"""Issue 15 in Debian's Chromium: a monthly statement paid by QRIS in the sandbox from its payable page (the
dashboard banner leads there), and three abandoned checkouts that use no invoice number. The new pages are
photographed for the docs (docs/screenshots/statement-*.png, payment-requests-*.png)."""

import pytest

from billing.models import Purchase
from invoices.models import Invoice, InvoiceNumberCounter
from invoices.services import invoice_create
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]

LINES = [
    {"description": "WhatsApp marketing conversations, November 2026", "quantity": 420, "unit_price": 657},
    {"description": "WhatsApp utility conversations, November 2026", "quantity": 1200, "unit_price": 321},
]


def test_it_pays_a_monthly_statement_by_qris(page, owner, organization, password, screenshot):
    statement = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT, reference="s:1")
    login(page, "owner@tokomaju.id", password)
    page.goto(page.base_url + "/")
    banner = page.inner_text("#unpaid-statement-banner")
    assert statement.number in banner and "waiting for payment" in banner
    screenshot(page, "statement-1-dashboard-banner")
    page.goto(page.base_url + "/conversations/")
    assert page.is_visible("#unpaid-statement-banner")

    page.goto(page.base_url + "/")
    page.click("#unpaid-statement-pay")
    page.wait_for_url(f"**/billing/invoices/{statement.pk}/")
    assert page.inner_text("#amount-due") == "Rp 733.865"
    assert "WIB" in page.inner_text("#due-line")
    screenshot(page, "statement-2-payable-page")

    page.click("#pay-button")
    page.wait_for_url("**/credits/sandbox/**")
    assert statement.number in page.inner_text("main")
    # Back on the invoice page the open session shows its virtual account and QR; Pay reuses it.
    page.goto(page.base_url + f"/billing/invoices/{statement.pk}/")
    assert len(page.inner_text("#session-va")) == 16 and page.is_visible("#open-session svg")
    screenshot(page, "statement-3-open-session")
    page.click("#pay-button")
    page.wait_for_url("**/credits/sandbox/**")
    assert Purchase.objects.filter(invoice=statement).count() == 1

    page.click("#method-qris")
    page.wait_for_url("**/qris/")
    assert page.evaluate("document.getElementById('qris-image').naturalWidth") > 100
    page.click("#sandbox-pay")
    page.wait_for_url(page.base_url + "/")
    assert f"invoice {statement.number} is paid" in page.inner_text(".messages")
    assert not page.is_visible("#unpaid-statement-banner")

    statement.refresh_from_db()
    purchase = Purchase.objects.get(invoice=statement)
    assert statement.status == "paid" and purchase.status == "paid" and purchase.payment_method == "qris"
    assert purchase.lot is None  # a statement payment buys no credits
    page.goto(page.base_url + f"/billing/invoices/{statement.pk}/")
    assert page.inner_text("#invoice-status") == "Paid"
    assert page.inner_text("#invoice-payment-method").startswith("QRIS")
    assert not page.is_visible("#pay-button")
    screenshot(page, "statement-4-paid-by-qris")


def checkout(page, credits: int) -> Purchase:
    page.goto(page.base_url + f"/credits/top-up/summary/?credits={credits}")
    page.click("#pay-now")
    page.wait_for_url("**/credits/sandbox/**")
    return Purchase.objects.get(credits=credits)


def test_three_abandoned_checkouts_use_no_invoice_number(page, owner, password, screenshot):
    login(page, "owner@tokomaju.id", password)
    checkout(page, 1000)
    page.click("#method-bni_va")
    page.click("#sandbox-cancel")  # cancelled on the gateway's page
    page.wait_for_url("**/billing/purchases/**")
    checkout(page, 2000)
    page.click("#method-bca_va")
    page.click("#sandbox-expire")  # left to expire
    page.wait_for_url("**/billing/purchases/**")
    third = checkout(page, 3000)
    page.click("#sandbox-back")  # walked away: still waiting
    page.wait_for_url("**/billing/purchases/**")
    assert page.inner_text("#invoice-state") == "Payment request"

    page.goto(page.base_url + "/billing/subscription/")
    requests = page.inner_text("#payment-requests")
    assert "Payment request" in requests and "Rp 333.000" in requests
    assert "No invoices match." in page.inner_text("#invoices")
    screenshot(page, "payment-requests-1-list")
    page.click("#payment-requests a:has-text('Cancel')")  # the third is given up from the list
    page.click("#confirm-action")  # destructive actions ask first (issue 19)
    page.wait_for_url("**/billing/subscription/**")
    page.wait_for_selector("#payment-requests", state="detached")
    third.refresh_from_db()
    assert third.status == "cancelled"

    assert not Invoice.objects.exclude(number=None).exists()
    assert not Invoice.objects.filter(status="void").exists()
    assert Invoice.objects.filter(status="closed", number=None).count() == 3
    assert not InvoiceNumberCounter.objects.filter(last_number__gt=0).exists()

    # The first real sale takes number 000001: nothing was burnt before it.
    checkout(page, 4000)
    page.click("#method-bca_va")
    page.click("#sandbox-pay")
    page.wait_for_url(page.base_url + "/")
    sale = Purchase.objects.get(credits=4000)
    assert sale.status == "paid" and sale.invoice.number.endswith("/000001")
    page.goto(page.base_url + "/billing/subscription/")
    assert sale.invoice.number in page.inner_text("#invoices")
    assert "Void" not in page.inner_text("#invoices table")
    screenshot(page, "payment-requests-2-one-real-invoice")
