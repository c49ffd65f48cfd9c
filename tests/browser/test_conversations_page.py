"""The conversations page in a real browser (Chromium): totals, the Chart.js chart and the month picker."""

from datetime import UTC, datetime, timedelta

import pytest

from conversations import rating
from conversations.services import statuses_apply, whatsapp_number_add
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _traffic(number):
    updates = []
    start = datetime(2025, 7, 1, 3, tzinfo=UTC)
    for i in range(60):
        category = ["marketing", "utility", "authentication", "service"][i % 4]
        at = start + timedelta(hours=11 * i)
        common = dict(
            event_id=None,
            waba_id=number.waba_id,
            phone_number_id=number.phone_number_id,
            display_number="",
            wamid=f"w{i}",
            recipient=f"62812{i:08d}",
            pricing_model="PMP",
            pricing_category=category,
            pricing_type="free_customer_service" if category == "service" else "regular",
        )
        updates.append(rating.StatusUpdate(status="delivered", timestamp=at, **common))
    statuses_apply(updates=updates, numbers={number.phone_number_id: number})


@pytest.fixture
def number(organization):
    import importlib

    from django.apps import apps

    # A transactional test flushes the database, seeded rate cards included: seed them again.
    importlib.import_module("conversations.migrations.0002_seed_rate_cards").seed(apps, None)
    return whatsapp_number_add(
        organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="+62 811 0000 000"
    )


def test_the_owner_sees_a_month_of_whatsapp_costs(page, screenshot, number, owner, password):
    _traffic(number)
    login(page, owner.email, password)
    page.goto(page.base_url + "/conversations/?month=2025-07")
    page.wait_for_selector("#conversation-chart")
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('conversation-chart'))")
    marketing = page.locator("[data-category=marketing] .value").inner_text()
    assert marketing == "Rp 9.855"  # 15 × Rp 657
    assert "+62 812" in page.locator("[data-testid=conversation-table]").inner_text()
    screenshot(page, "conversations-month")
    page.click(".chart-toggle [data-show=count]")
    shown = page.evaluate("() => Chart.getChart(document.getElementById('conversation-chart')).data.datasets[3].data")
    assert sum(shown) == 15  # service conversations: free, so only visible as counts
    page.select_option("#month-select", "2025-07")
    page.click("text=‹")
    page.wait_for_url("**month=2025-06")
    assert "No WhatsApp conversations this month." in page.content()
