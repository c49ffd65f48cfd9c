from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from conversations.models import Conversation

from .helpers import post, status_payload

pytestmark = pytest.mark.django_db


def deliver(client, wamid, category, when, pricing_type="regular", recipient="6281234567890"):
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
    deliver(client, "m2", "marketing", datetime(2025, 7, 4, tzinfo=UTC))
    deliver(client, "u1", "utility", datetime(2025, 7, 5, tzinfo=UTC))
    deliver(client, "u2", "utility", datetime(2025, 7, 5, tzinfo=UTC), pricing_type="free_customer_service")
    deliver(client, "a1", "authentication", datetime(2025, 7, 6, tzinfo=UTC), recipient="16505551234")
    deliver(client, "s1", "service", datetime(2025, 7, 6, tzinfo=UTC), pricing_type="free_customer_service")
    deliver(client, "aug", "marketing", datetime(2025, 8, 6, tzinfo=UTC))


def test_the_month_summary_has_exactly_the_design_shape(api_client, july):
    response = api_client.get("/api/v1/conversations/summary", {"month": "2025-07"})
    assert response.status_code == 200
    assert response.json() == {
        "month": "2025-07",
        "currency": "IDR",
        "categories": {
            "marketing": {"billable": 2, "free": 0, "amount": 1314},
            "utility": {"billable": 1, "free": 1, "amount": 321},
            "authentication": {"billable": 1, "free": 0, "amount": 598},
            "service": {"billable": 0, "free": 1, "amount": 0},
        },
        "total_amount": 2233,
    }


def test_an_empty_month_has_zero_totals(api_client, july):
    body = api_client.get("/api/v1/conversations/summary", {"month": "2024-01"}).json()
    assert body["total_amount"] == 0
    assert set(body["categories"]) == {"marketing", "utility", "authentication", "service"}


@pytest.mark.parametrize("month", ["2025-13", "2025-7", "July", "2025-07-01", "0000-01"])
def test_a_bad_month_is_a_400(api_client, month):
    for url in ["/api/v1/conversations", "/api/v1/conversations/summary"]:
        response = api_client.get(url, {"month": month})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_month"


def test_without_a_month_it_is_the_current_one(api_client, july):
    with time_machine.travel(datetime(2025, 8, 20, tzinfo=UTC)):
        body = api_client.get("/api/v1/conversations/summary").json()
    assert body["month"] == "2025-08"
    assert body["categories"]["marketing"]["billable"] == 1


def test_the_list_is_paginated_and_masks_customers(api_client, july):
    response = api_client.get("/api/v1/conversations", {"month": "2025-07", "page_size": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert len(body["results"]) == 4 and body["next"]
    first = next(r for r in body["results"] + rest_of(api_client, body) if r["key"] == "m1")
    assert set(first) >= {"id", "customer", "category", "market", "price", "free_reason", "opened_at", "billable"}
    assert first["customer"] == "+62 812•••••890"
    assert isinstance(first["price"], int)
    assert "+07:00" in first["opened_at"] or first["opened_at"].endswith("Z") or "+00:00" in first["opened_at"]
    rest = api_client.get(body["next"]).json()
    assert len(rest["results"]) == 2


def test_it_needs_an_api_key(july):
    assert APIClient().get("/api/v1/conversations/summary", {"month": "2025-07"}).status_code == 401
    assert APIClient().get("/api/v1/conversations", {"month": "2025-07"}).status_code == 401


def test_another_organization_sees_none_of_it(july, other_organization):
    from accounts.services import api_key_create

    _key, raw = api_key_create(organization=other_organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/conversations", {"month": "2025-07"}).json()["count"] == 0
    assert client.get("/api/v1/conversations/summary", {"month": "2025-07"}).json()["total_amount"] == 0
    assert Conversation.objects.count() == 7


def test_the_schema_documents_both_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/conversations/summary" in schema


def rest_of(api_client, body):
    return api_client.get(body["next"]).json()["results"]
