"""A slow or failing endpoint never holds up a charge or another organization's deliveries."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections

from credits.services import lot_grant, usage_charge
from events import services
from events.models import Delivery, DeliveryAttempt
from events.services import deliveries_retry_due, delivery_attempt, endpoint_create
from tests.events.test_delivery import emit


@pytest.mark.django_db(transaction=True)
def test_a_charge_has_committed_before_its_event_is_sent(organization, receiver):
    """The receiver looks the event up on a connection of its own when the request arrives: it is already there."""
    seen = []
    original = receiver.check

    def check_and_look(received):
        event_id = received.headers["webhook-id"]
        with connections["default"].cursor() as cursor:  # the server thread's own connection
            cursor.execute("SELECT count(*) FROM events_event WHERE id = %s", [event_id])
            seen.append(cursor.fetchone()[0])
        connections["default"].close()
        original(received)

    receiver.check = check_and_look
    organization.low_balance_threshold = 5
    organization.save()
    endpoint_create(organization=organization, url=receiver.url)
    lot_grant(organization=organization, credits=5, source="grant")
    usage_charge(organization=organization, message_id="m-1", direction="outbound")
    assert seen == [1]
    assert Delivery.objects.get().status == "succeeded"


@pytest.fixture
def slow_receiver():
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            release.wait(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/slow"
    release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt_retried_later(organization, slow_receiver, settings):
    settings.EVENTS_HTTP_TIMEOUT = 0.3
    endpoint_create(organization=organization, url=slow_receiver)
    emit(organization)
    delivery = Delivery.objects.get()
    attempt = delivery_attempt(delivery_id=delivery.pk, leased=True)
    assert not attempt.succeeded and "Timeout" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1


@pytest.mark.django_db
def test_one_endpoints_backlog_does_not_crowd_out_another_organizations(
    organization, other_organization, monkeypatch, django_capture_on_commit_callbacks
):
    busy, _ = endpoint_create(organization=organization, url="http://127.0.0.1:9/busy")
    calm, _ = endpoint_create(organization=other_organization, url="http://127.0.0.1:9/calm")
    for i in range(120):
        emit(organization, n=i)
    emit(other_organization)
    Delivery.objects.update(next_attempt_at="2000-01-01T00:00:00Z")  # every one of them due, the busy ones first
    queued = []
    monkeypatch.setattr(services, "_queue", queued.extend)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due(per_endpoint=50, limit=60) == 51
    assert DeliveryAttempt.objects.count() == 0
    picked = Delivery.objects.filter(pk__in=queued)
    assert picked.filter(endpoint=calm).count() == 1
    assert picked.filter(endpoint=busy).count() == 50
