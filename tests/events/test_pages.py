"""Settings → Webhooks: owners and admins manage endpoints; members and other organizations cannot."""

import pytest
from django.test import Client

from events.models import Delivery, WebhookEndpoint
from events.services import endpoint_create

pytestmark = pytest.mark.django_db


def test_the_owner_adds_an_endpoint_and_sees_its_secret_once(owner_client, organization):
    assert "webhook-endpoints" in owner_client.get("/settings/").content.decode()
    r = owner_client.post(
        "/settings/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "description": "platform", "event_types": ["credits.low"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["credits.low"]
    assert endpoint.secret in r.content.decode()
    assert endpoint.secret not in owner_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()


def test_the_owner_rolls_disables_tests_and_resends(
    owner_client, organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    endpoint, secret = endpoint_and_secret
    url = f"/settings/webhooks/{endpoint.pk}/"
    rolled = owner_client.post(url, {"action": "roll"}).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret in rolled and endpoint.previous_secret == secret
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url, {"action": "test"})
    page = owner_client.get(url).content.decode()
    assert "webhook.test" in page and "HTTP 200" in page
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url, {"action": "resend", "delivery_id": str(delivery.pk)})
    assert len(receiver.requests) == 2
    owner_client.post(url, {"action": "disable"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    owner_client.post(url, {"action": "delete"})
    assert not WebhookEndpoint.objects.exists()


def test_members_and_other_organizations_cannot(member, other_org_owner, organization):
    endpoint, _ = endpoint_create(organization=organization, url="http://127.0.0.1:9/hook")
    client = Client()
    client.force_login(member)
    assert client.get("/settings/webhooks/").status_code == 403
    client.force_login(other_org_owner)
    assert client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/settings/webhooks/{endpoint.pk}/", {"action": "delete"}).status_code == 404
    assert WebhookEndpoint.objects.count() == 1


def test_staff_see_endpoints_events_and_deliveries_in_the_admin(client, staff, organization, endpoint_and_secret):
    client.force_login(staff)
    for path in ("/admin/events/webhookendpoint/", "/admin/events/event/", "/admin/events/delivery/"):
        assert client.get(path).status_code == 200
    endpoint, secret = endpoint_and_secret
    page = client.get(f"/admin/events/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert secret not in page
