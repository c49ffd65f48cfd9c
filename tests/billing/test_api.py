import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from billing.models import Purchase

pytestmark = pytest.mark.django_db

FIELDS = {
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
}


def test_it_creates_a_purchase(api_client, organization):
    response = api_client.post("/api/v1/purchases", {"credits": 5000}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert FIELDS <= set(body)
    assert body["status"] == "pending"
    assert (body["credits"], body["unit_price"], body["subtotal"], body["tax"], body["total"]) == (
        5000,
        100,
        500000,
        55000,
        555000,
    )
    assert body["gateway"] == "sandbox"
    assert body["payment_url"].startswith("http://testserver/credits/sandbox/")
    assert "+07:00" in body["expires_at"] or body["expires_at"].endswith("Z") or "+00:00" in body["expires_at"]
    purchase = Purchase.objects.get(pk=body["id"])
    # A payment request is not an invoice: invoice_id is null until the payment is confirmed (DESIGN.md).
    assert body["invoice_id"] is None
    assert purchase.invoice.status == "request" and purchase.invoice.number is None
    assert purchase.organization == organization


def test_it_honours_the_idempotency_key(api_client):
    first = api_client.post("/api/v1/purchases", {"credits": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api_client.post("/api/v1/purchases", {"credits": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Purchase.objects.count() == 1
    conflict = api_client.post("/api/v1/purchases", {"credits": 2000}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "idempotency_conflict"


def test_it_makes_a_new_purchase_without_a_key(api_client):
    api_client.post("/api/v1/purchases", {"credits": 1000}, format="json")
    api_client.post("/api/v1/purchases", {"credits": 1000}, format="json")
    assert Purchase.objects.count() == 2


@pytest.mark.parametrize("credits", [0, -1000, 1500, 999, "x", None, 1000.5])
def test_it_refuses_credits_that_are_not_a_positive_multiple_of_1000(api_client, credits):
    response = api_client.post("/api/v1/purchases", {"credits": credits}, format="json")
    assert response.status_code == 400
    assert "error" in response.json() and "detail" in response.json()
    assert Purchase.objects.count() == 0


def test_it_refuses_a_missing_body_field(api_client):
    assert api_client.post("/api/v1/purchases", {}, format="json").status_code == 400


def test_it_lists_and_shows_the_organizations_purchases(api_client):
    created = api_client.post("/api/v1/purchases", {"credits": 1000}, format="json").json()
    listing = api_client.get("/api/v1/purchases")
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()["results"]] == [created["id"]]
    detail = api_client.get(f"/api/v1/purchases/{created['id']}")
    assert detail.status_code == 200 and detail.json()["status"] == "pending"


def test_it_answers_404_for_another_organizations_purchase(api_client, other_organization):
    _key, raw = api_key_create(organization=other_organization)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    theirs = other.post("/api/v1/purchases", {"credits": 1000}, format="json").json()
    response = api_client.get(f"/api/v1/purchases/{theirs['id']}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert api_client.get("/api/v1/purchases").json()["results"] == []
    assert api_client.get("/api/v1/purchases/not-a-uuid").status_code == 404


def test_it_needs_an_api_key(client):
    assert client.get("/api/v1/purchases").status_code == 401
    assert client.post("/api/v1/purchases", {"credits": 1000}, content_type="application/json").status_code == 401


def test_it_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/purchases" in schema
