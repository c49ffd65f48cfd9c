from datetime import UTC, datetime

import pytest
import time_machine

from conversations.services import statement_close

from .helpers import post, status_payload

pytestmark = pytest.mark.django_db


def deliver(client, wamid, category, when, recipient="6281234567890", pricing_type="regular"):
    post(
        client,
        status_payload(
            wamid=wamid,
            status="delivered",
            timestamp=int(when.timestamp()),
            category=category,
            pricing_model="PMP",
            pricing_type=pricing_type,
            recipient=recipient,
        ),
    )


@pytest.fixture
def july(client, number):
    deliver(client, "m1", "marketing", datetime(2025, 7, 3, tzinfo=UTC))
    deliver(client, "u1", "utility", datetime(2025, 7, 5, tzinfo=UTC), pricing_type="free_customer_service")


def test_the_page_shows_totals_chart_and_masked_list(owner_client, july):
    response = owner_client.get("/conversations/", {"month": "2025-07"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rp 657" in html
    assert "conversation-chart" in html and "chart-4.6.1.umd.min.js" in html
    assert "+62 812•••••890" in html
    assert "6281234567890" not in html
    assert "Inside the customer service window" in html
    assert 'value="2025-07" selected' in html


def test_the_current_month_is_a_running_estimate(owner_client, july):
    with time_machine.travel(datetime(2025, 7, 20, tzinfo=UTC)):
        html = owner_client.get("/conversations/").content.decode()
    assert "running estimate" in html
    assert "Rp 657" in html


def test_a_closed_month_links_its_invoice(owner_client, july, organization):
    statement = statement_close(organization=organization, month=datetime(2025, 7, 1).date())
    html = owner_client.get("/conversations/", {"month": "2025-07"}).content.decode()
    assert f"/billing/invoices/{statement.invoice_id}/" in html


def test_a_bad_month_falls_back_to_the_current_one(owner_client, july):
    assert owner_client.get("/conversations/", {"month": "garbage"}).status_code == 200


def test_the_list_is_paginated(owner_client, client, number):
    for i in range(30):
        deliver(client, f"w{i}", "marketing", datetime(2025, 7, 3, i % 24, tzinfo=UTC))
    html = owner_client.get("/conversations/", {"month": "2025-07"}).content.decode()
    assert "Page 1 of 2" in html
    assert "Page 2 of 2" in owner_client.get("/conversations/", {"month": "2025-07", "page": 2}).content.decode()


def test_another_organization_sees_nothing_of_it(client, july, other_org_owner):
    client.force_login(other_org_owner)
    html = client.get("/conversations/", {"month": "2025-07"}).content.decode()
    assert "Rp 657" not in html and "No WhatsApp conversations this month." in html


def test_a_member_can_see_the_page(client, july, member):
    client.force_login(member)
    assert client.get("/conversations/", {"month": "2025-07"}).status_code == 200


def test_it_needs_a_login(client):
    assert client.get("/conversations/").status_code == 302
