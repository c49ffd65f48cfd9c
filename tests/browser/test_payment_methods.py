"""Top-ups paid by e-wallet and by QRIS in the sandbox, in Debian's Chromium, and the new pages (method
chooser, bank VA, QRIS, e-wallet approval, auto top-up, settings, an e-mail) photographed for the docs."""

import re

import pytest
from django.core.management import call_command

from accounts.models import Organization
from billing.models import OutboundEmail, Purchase
from credits.selectors import balance_for
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]

DEMO_OWNER = ("owner@demo.saldo.id", "demo-owner-2026")


def start_top_up(page, credits=5000):
    page.goto(page.base_url + f"/credits/top-up/summary/?credits={credits}")
    page.click("#pay-now")
    page.wait_for_url("**/credits/sandbox/**")


def test_it_tops_up_by_ewallet(page, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    org = Organization.objects.get(slug="demo")
    before = balance_for(org)
    login(page, *DEMO_OWNER)
    start_top_up(page)
    assert page.is_visible("#method-gopay") and page.is_visible("#method-ovo") and page.is_visible("#method-qris")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.inner_text("#countdown [data-left]"))
    assert "WIB" in page.inner_text("#countdown")
    screenshot(page, "pay-1-choose-method")

    page.click("#method-bri_va")
    assert "BRI" in page.inner_text("h1") and len(page.inner_text("#va-number")) == 16
    page.click("#copy-va")
    page.wait_for_selector("#copied", state="visible")
    screenshot(page, "pay-2-bank-virtual-account")

    page.click("#other-method")
    page.click("#method-ovo")
    page.wait_for_url("**/ovo/")
    assert "Rp 555.000" in page.inner_text("#ewallet-approval")
    screenshot(page, "pay-3-ewallet-approval")
    page.click("#ewallet-approve")
    page.wait_for_url(page.base_url + "/")
    assert "Payment received: 5.000 credits were added" in page.inner_text(".messages")
    assert balance_for(org) == before + 5000
    purchase = Purchase.objects.filter(organization=org).latest("created_at")
    assert purchase.status == "paid" and purchase.payment_method == "ovo"

    page.goto(page.base_url + f"/billing/purchases/{purchase.pk}/")
    assert page.inner_text("#payment-method").startswith("OVO")
    page.goto(page.base_url + f"/billing/invoices/{purchase.invoice_id}/")
    assert page.inner_text("#invoice-payment-method").startswith("OVO")
    screenshot(page, "pay-4-invoice-paid-by-ovo")


def test_it_tops_up_by_qris(page, owner, password, screenshot):
    login(page, "owner@tokomaju.id", password)
    start_top_up(page, credits=1000)
    page.click("#method-qris")
    page.wait_for_url("**/qris/")
    image = page.query_selector("#qris-image")
    assert image.get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.getElementById('qris-image').naturalWidth") > 100  # a real, decodable image
    screenshot(page, "pay-5-qris")
    page.click("#sandbox-pay")
    page.wait_for_url(page.base_url + "/")
    purchase = Purchase.objects.get()
    assert purchase.status == "paid" and purchase.payment_method == "qris"
    assert OutboundEmail.objects.filter(kind="payment_received", to_email=owner.email).exists()


def test_auto_topup_language_settings_and_an_email(page, owner, organization, password, screenshot):
    login(page, "owner@tokomaju.id", password)
    page.goto(page.base_url + "/settings/")
    page.select_option("#id_lang-language", "id")
    page.click("#save-language")
    page.wait_for_url(page.base_url + "/settings/")
    owner.refresh_from_db()
    assert owner.language == "id"
    assert "Bahasa disimpan." in page.inner_text(".messages")
    page.click("#auto-topup-edit")
    page.wait_for_url("**/billing/auto-top-up/")
    page.check("#id_enabled")
    page.fill("#id_threshold", "1000")
    page.fill("#id_credits", "5000")
    page.click("#auto-topup-save")
    page.wait_for_url("**/billing/auto-top-up/")
    # the balance is 0, below 1,000: enabling it prepared the top-up at once
    assert page.is_visible("#auto-topup-notice")
    screenshot(page, "auto-topup-1-settings")
    page.goto(page.base_url + "/")
    assert page.is_visible("#auto-topup-notice")
    screenshot(page, "auto-topup-2-dashboard")
    assert Purchase.objects.filter(origin="auto_topup").count() == 1

    email = OutboundEmail.objects.get(kind="auto_topup_prepared")
    assert email.language == "id" and email.subject.startswith("Isi ulang otomatis siap")
    page.set_content(email.body_html)
    screenshot(page, "email-auto-topup-prepared-id")
