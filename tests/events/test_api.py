"""/api/v1/webhook-endpoints and /api/v1/events: scoped to the key's organization, secret shown once."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

import events
from accounts.services import api_key_create
from events.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_client(other_organization):
    _key, raw = api_key_create(organization=other_organization, name="other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def create(api_client, **body):
    body.setdefault("url", "https://hooks.example.com/saldo")
    return api_client.post("/api/v1/webhook-endpoints", body, format="json")


def test_it_creates_an_endpoint_and_shows_the_secret_only_then(api_client):
    r = create(api_client, description="platform", event_types=["credits.low", "purchase.paid"])
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["credits.low", "purchase.paid"]
    one = api_client.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    assert "secret" not in one and one["url"] == "https://hooks.example.com/saldo"
    assert all("secret" not in e for e in api_client.get("/api/v1/webhook-endpoints").json())
    rolled = api_client.post(f"/api/v1/webhook-endpoints/{body['id']}/roll-secret").json()
    assert rolled["secret"].startswith("whsec_") and rolled["secret"] != body["secret"]
    assert rolled["previous_secret_expires_at"]


def test_it_patches_and_deletes(api_client):
    endpoint_id = create(api_client).json()["id"]
    r = api_client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}", {"enabled": False, "event_types": []}, format="json"
    )
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert api_client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    assert api_client.get(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 404


def test_another_organizations_endpoints_and_events_answer_404(api_client, other_client, organization):
    endpoint_id = create(api_client).json()["id"]
    event = events.emit(organization=organization, type="credits.low", payload={"balance": 1})
    for path in (f"/api/v1/webhook-endpoints/{endpoint_id}", f"/api/v1/events/{event.pk}"):
        assert other_client.get(path).status_code == 404
    assert other_client.patch(f"/api/v1/webhook-endpoints/{endpoint_id}", {}, format="json").status_code == 404
    assert other_client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 404
    assert other_client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/roll-secret").status_code == 404
    assert other_client.get("/api/v1/events").json()["results"] == []
    assert other_client.get("/api/v1/webhook-endpoints").json() == []


def test_it_lists_events_with_their_delivery_attempts(
    api_client, organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.emit(organization=organization, type="purchase.paid", payload={"id": "p1"})
        events.emit(organization=organization, type="credits.low", payload={"balance": 5})
    listed = api_client.get("/api/v1/events").json()["results"]
    assert [e["type"] for e in listed] == ["credits.low", "purchase.paid"]
    assert api_client.get("/api/v1/events?type=purchase.paid").json()["results"][0]["id"] == str(event.pk)
    assert api_client.get("/api/v1/events?type=nope").status_code == 400
    detail = api_client.get(f"/api/v1/events/{event.pk}").json()
    assert detail["payload"] == {"id": "p1"}
    (delivery,) = detail["deliveries"]
    assert delivery["status"] == "succeeded"
    (attempt,) = delivery["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["succeeded"] is True and attempt["latency_ms"] >= 0


def test_it_refuses_bad_input_with_400(api_client):
    assert create(api_client, url="ftp://x.example.com").status_code == 400
    assert create(api_client, url="not a url").status_code == 400
    assert create(api_client, event_types=["no.such"]).status_code == 400
    assert create(api_client, event_types="credits.low").status_code == 400
    assert api_client.post("/api/v1/webhook-endpoints", [1, 2], format="json").status_code == 400
    assert WebhookEndpoint.objects.count() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["url", "description", "event_types", "enabled", "x"]),
            st.one_of(st.text(max_size=600), st.integers(), st.booleans(), st.none(), st.lists(st.text(max_size=30))),
        ),
        st.lists(st.integers()),
        st.text(),
    )
)
def test_no_body_makes_endpoint_creation_or_patch_fail_with_a_5xx(api_client, body):
    r = api_client.post("/api/v1/webhook-endpoints", body, format="json")
    assert r.status_code in (201, 400), r.content
    if r.status_code == 201:
        endpoint_id = r.json()["id"]
        p = api_client.patch(f"/api/v1/webhook-endpoints/{endpoint_id}", body, format="json")
        assert p.status_code in (200, 400), p.content
        api_client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}")
