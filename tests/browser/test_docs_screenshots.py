"""The README's screenshots: the customer pages on a phone (390 px) and a desktop (1366 px), on the demo data.
``SALDO_SCREENSHOTS=1`` writes them to docs/screenshots/; each page must fit its width and each picture stay small
enough for the README (< 400 KB)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Organization
from billing.models import Purchase
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]

WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
MAX_BYTES = 400 * 1024
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def test_the_readme_screenshots(page, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    org = Organization.objects.get(slug="demo")
    pending = Purchase.objects.filter(organization=org, status=Purchase.Status.PENDING).first()
    paid = Purchase.objects.filter(organization=org, status=Purchase.Status.PAID).first()
    assert pending and paid and paid.invoice_id
    pages = {
        "dashboard": ("/", "en"),
        "dashboard-id": ("/", "id"),
        "top-up": ("/credits/top-up/", "en"),
        "payment": (f"/credits/sandbox/{pending.gateway_ref}/bca_va/", "en"),
        "subscription": ("/billing/subscription/", "en"),
        "invoice": (f"/billing/invoices/{paid.invoice_id}/", "en"),
        "conversations": ("/conversations/", "en"),
        "settings": ("/settings/", "en"),
    }
    login(page, "owner@demo.saldo.id", "demo-owner-2026")
    problems = []
    for name, (url, language) in pages.items():
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.base_url}])
        for device, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(page.base_url + url)
            page.wait_for_load_state("networkidle")
            page.evaluate(SETTLED)
            if response.status != 200:
                problems.append(f"{name}: HTTP {response.status}")
            if page.evaluate("document.documentElement.scrollWidth") > width:
                problems.append(f"{name} is wider than the {device}")
            path = screenshot(page, f"page-{name}-{device}", full_page=True)
            if path.stat().st_size > MAX_BYTES:  # a long page on a phone: its first screen is what a reader sees
                path = screenshot(page, f"page-{name}-{device}", full_page=False)
            if path.stat().st_size > MAX_BYTES:
                problems.append(f"{name} {device}: {path.stat().st_size} bytes")
    assert problems == []
