"""100 real threads charging through the threshold at once: exactly one credits.low, delivered once."""

import pytest
from rest_framework.test import APIClient

from credits.services import lot_grant
from events.models import Delivery, Event
from events.services import endpoint_create
from tests.credits.test_concurrency import run_threads

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_100_concurrent_charges_crossing_the_threshold_fire_one_credits_low(organization, api_key, receiver):
    organization.low_balance_threshold = 150
    organization.save()
    _endpoint, secret = endpoint_create(organization=organization, url=receiver.url, event_types=["credits.low"])
    receiver.secrets.append(secret)
    lot_grant(organization=organization, credits=200, source="grant")

    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        r = client.post("/api/v1/usage/messages", {"message_id": f"c-{i}", "direction": "outbound"}, format="json")
        return r.status_code

    results = run_threads(100, call)
    assert results.count(201) == 100, results
    assert list(Event.objects.values_list("type", flat=True)) == ["credits.low"]
    assert Event.objects.get().payload == {"balance": 149, "threshold": 150}
    assert Delivery.objects.get().status == "succeeded"
    assert [b["type"] for b in receiver.verified(secret)] == ["credits.low"]
