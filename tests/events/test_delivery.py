"""Delivery to a real loopback receiver: signed with Standard Webhooks, retried with back-off, logged per attempt."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

import events
from events.models import Delivery, DeliveryAttempt, Event
from events.services import (
    deliveries_retry_due,
    delivery_resend,
    endpoint_roll_secret,
    endpoint_send_test,
    endpoint_update,
)
from events.types import EVENT_TYPES

pytestmark = pytest.mark.django_db


def emit(organization, event_type="credits.low", **payload):
    return events.emit(organization=organization, type=event_type, payload=payload or {"balance": 999})


def test_it_delivers_every_event_type_once_signed_and_verifiable(
    organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    _endpoint, secret = endpoint_and_secret
    with django_capture_on_commit_callbacks(execute=True):
        for event_type in EVENT_TYPES:
            emit(organization, event_type, n=1)
    assert sorted(receiver.types()) == sorted(EVENT_TYPES)
    bodies = receiver.verified(secret)
    assert {b["type"] for b in bodies} == set(EVENT_TYPES)
    for request in receiver.requests:
        event = Event.objects.get(pk=request.headers["webhook-id"])
        assert request.json["id"] == str(event.pk)
        assert request.json["data"] == {"n": 1}
        assert request.headers["host"] == receiver.url.split("/")[2]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == len(EVENT_TYPES)


def test_a_rolled_back_change_emits_and_sends_nothing(organization, receiver, endpoint_and_secret):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            emit(organization)
            raise RuntimeError("the cause failed")
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert receiver.requests == []


def test_a_receiver_failing_5_times_then_succeeding_gets_the_event_once_more(
    organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    _endpoint, secret = endpoint_and_secret
    receiver.script = [500, 503, 500, 502, 500]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            event = emit(organization)
        for _ in range(40):  # an hour of sweeps, far more than the back-off needs
            traveller.shift(timedelta(minutes=2))
            with django_capture_on_commit_callbacks(execute=True):
                deliveries_retry_due()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [str(event.pk)] * 6
    assert len(receiver.verified(secret)) == 6
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 6
    log = list(delivery.attempt_log.values_list("status_code", "succeeded"))
    assert log == [(500, False), (503, False), (500, False), (502, False), (500, False), (200, True)]
    assert all(a.latency_ms >= 0 and a.response_excerpt for a in delivery.attempt_log.all())


def test_it_retries_with_growing_back_off_for_at_least_3_days_then_gives_up(
    organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks, settings
):
    settings.EVENTS_DISABLE_AFTER_DAYS = 30  # this test is about the delivery's own retry window
    receiver.default = 500
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            emit(organization)
        gaps = []
        while Delivery.objects.get().status == "pending":
            due = Delivery.objects.get().next_attempt_at
            gaps.append(due - timezone.now())
            traveller.move_to(due)
            with django_capture_on_commit_callbacks(execute=True):
                deliveries_retry_due()
            assert len(gaps) < 100
        last = DeliveryAttempt.objects.order_by("-attempted_at").first().attempted_at
    assert last - start >= timedelta(days=3)
    assert Delivery.objects.get().status == "failed"
    assert gaps[1] < gaps[5] < gaps[9]  # exponential, jittered
    assert max(gaps) <= timedelta(hours=7.5)


def test_an_endpoint_failing_for_3_days_is_disabled_and_its_owner_emailed(
    organization, owner, receiver, endpoint_and_secret, django_capture_on_commit_callbacks, mailoutbox, deliver_mail_now
):
    endpoint, _secret = endpoint_and_secret
    receiver.default = 500
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            emit(organization)
        for _ in range(80):
            traveller.shift(timedelta(hours=1))
            with django_capture_on_commit_callbacks(execute=True):
                deliveries_retry_due()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason
    assert [m.to for m in mailoutbox if "webhook" in m.subject.lower()] == [[owner.email]]
    sent = len(receiver.requests)
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization)  # a disabled endpoint gets no new deliveries
        deliveries_retry_due()
    assert len(receiver.requests) == sent


def test_a_rolled_secret_and_the_previous_one_both_sign_for_24_hours(
    organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    endpoint, old = endpoint_and_secret
    endpoint, new = endpoint_roll_secret(endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    receiver.secrets.append(new)
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization)
    assert receiver.verified(old) and receiver.verified(new)
    assert len(receiver.requests[0].headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            emit(organization)
    assert len(receiver.requests[1].headers["webhook-signature"].split(" ")) == 1
    assert receiver.requests[1].checks == {old: False, new: True}


def test_resend_and_test_event(organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks):
    endpoint, secret = endpoint_and_secret
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(organization)
    delivery = Delivery.objects.get(event=event)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_resend(delivery=delivery)
        endpoint_send_test(endpoint=endpoint)
    assert receiver.types() == ["credits.low", "credits.low", "webhook.test"]
    assert len(receiver.verified(secret)) == 3
    assert delivery.attempt_log.count() == 2


def test_an_endpoint_subscribed_to_some_types_gets_only_those(
    organization, receiver, endpoint_and_secret, django_capture_on_commit_callbacks
):
    endpoint, _secret = endpoint_and_secret
    endpoint_update(endpoint=endpoint, event_types=["purchase.paid"])
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization, "credits.low")
        emit(organization, "purchase.paid")
    assert receiver.types() == ["purchase.paid"]
    assert Event.objects.count() == 2  # every event is kept for GET /api/v1/events
