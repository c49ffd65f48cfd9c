import json
import time

import pytest

from conversations.models import UnknownNumber, WebhookEvent

from .helpers import WEBHOOK_URL, load_fixture, post, sign

pytestmark = pytest.mark.django_db


def test_it_answers_the_verification_challenge(client):
    response = client.get(
        WEBHOOK_URL,
        {"hub.mode": "subscribe", "hub.verify_token": "whatsapp-test-verify-token", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "whatsapp-test-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_it_refuses_verification_with_a_wrong_token_or_mode(client, params):
    assert client.get(WEBHOOK_URL, params).status_code == 403


def test_it_refuses_verification_when_no_token_is_configured(client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""
    response = client.get(WEBHOOK_URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert response.status_code == 403


def test_it_refuses_a_delivery_without_signature(client):
    body = json.dumps(load_fixture("01_inbound_text_meta_docs.json")).encode()
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json")
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=abc", "garbage", "sha256="])
def test_it_refuses_a_delivery_with_a_bad_signature(client, signature):
    response = post(client, load_fixture("01_inbound_text_meta_docs.json"), signature=signature)
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_it_refuses_a_delivery_signed_with_another_secret(client):
    response = post(client, load_fixture("01_inbound_text_meta_docs.json"), secret="not-the-app-secret")
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_it_refuses_everything_when_no_app_secret_is_configured(client, settings):
    settings.WHATSAPP_APP_SECRET = ""
    response = post(client, load_fixture("01_inbound_text_meta_docs.json"), secret="")
    assert response.status_code == 403


def test_it_checks_the_signature_against_the_raw_body(client):
    body = json.dumps(load_fixture("01_inbound_text_meta_docs.json"), indent=2).encode()
    reformatted = json.dumps(json.loads(body)).encode()
    response = client.post(
        WEBHOOK_URL, data=reformatted, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(body)
    )
    assert response.status_code == 403


def test_it_stores_a_delivery_raw_once_whatever_the_retries(client):
    body = json.dumps(load_fixture("01_inbound_text_meta_docs.json")).encode()
    first = post(client, body)
    second = post(client, body)
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["status"] == "accepted"
    assert second.json()["status"] == "duplicate"
    event = WebhookEvent.objects.get()
    assert event.body == body.decode()
    assert event.status == WebhookEvent.Status.FLAGGED  # an unknown number
    assert event.messages_count == 1


def test_it_keeps_deliveries_for_unknown_numbers_and_shows_them_to_staff(client):
    post(client, load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"))
    unknown = UnknownNumber.objects.get()
    assert unknown.phone_number_id == "106540352242922"
    assert unknown.waba_id == "102290129340398"
    assert unknown.statuses_seen == 1
    assert "unknown number: 106540352242922" in WebhookEvent.objects.get().flags


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[]",
        b'{"object": "whatsapp_business_account"}',
        b'{"entry": [{"id": "1", "changes": [{"field": "account_update", "value": {"event": "VERIFIED"}}]}]}',
        b'{"entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": [{"id": "w", "status": "exploded", "timestamp": "1"}]}}]}]}',
        b'{"entry": [{"changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "9"}, "statuses": [{"id": "w", "status": "delivered", "timestamp": "soon"}]}}]}]}',
        b'{"entry": "nope"}',
        b'{"entry": [1, {"changes": [2, {"field": "messages", "value": 3}]}]}',
    ],
)
def test_it_keeps_and_flags_what_it_does_not_understand(client, body):
    response = post(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FLAGGED
    assert event.flags


def test_it_keeps_an_unknown_category_flagged_and_uncharged(client, number):
    from conversations.models import Conversation, MessageStatus

    from .helpers import status_payload

    post(
        client,
        status_payload(
            wamid="w1",
            status="delivered",
            timestamp=1754073919,
            category="mystery_category",
            pricing_model="PMP",
            pricing_type="regular",
        ),
    )
    event = WebhookEvent.objects.get()
    assert "unknown category: mystery_category" in event.flags
    assert MessageStatus.objects.get().pricing_category == "mystery_category"
    assert Conversation.objects.count() == 0


def test_a_processing_crash_is_recorded_on_the_event_not_a_500(client, number, monkeypatch):
    from conversations import services

    def boom(**kwargs):
        raise RuntimeError("rating exploded")

    monkeypatch.setattr(services.ingestion, "statuses_apply", boom)
    response = post(client, load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "rating exploded" in event.error


def test_under_load_deliveries_share_one_queued_drain(client, number, monkeypatch):
    from conversations import services, tasks
    from conversations.models import Conversation

    from .helpers import status_payload

    flags = {}

    class FakeRedis:
        def set(self, key, value, nx, ex):
            if key in flags:
                return None
            flags[key] = value
            return True

        def delete(self, key):
            flags.pop(key, None)

    monkeypatch.setattr(services.ingestion, "_flag_client", lambda: FakeRedis())
    queued = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda event_id: queued.append(event_id))
    for i in range(5):
        post(
            client,
            status_payload(
                wamid=f"w{i}",
                status="delivered",
                timestamp=1754073919,
                category="marketing",
                pricing_model="PMP",
                pricing_type="regular",
            ),
        )
    assert len(queued) == 1  # one task for five deliveries
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).count() == 5
    assert services.events_drain(first_event_id=queued[0]) == 5
    assert Conversation.objects.count() == 5
    assert flags == {}  # the next delivery queues a task again


def test_a_delivery_in_the_flag_window_queues_nothing_and_the_drains_late_look_takes_it(client, number, monkeypatch):
    """A web process that saw the drain flag less than FLAG_SEEN_WINDOW ago neither asks Redis nor queues a task.
    The drain that clears the flag looks once more that long after clearing it, so such a delivery, stored just
    after the drain's first empty look, is rated by that drain and not left for the 5-minute sweep."""
    from conversations import services, tasks
    from conversations.models import Conversation

    from .helpers import status_payload

    ingestion = services.ingestion
    flags: dict = {}
    calls: list = []

    class FakeRedis:
        def set(self, key, value, nx, ex):
            calls.append("set")
            if key in flags:
                return None
            flags[key] = value
            return True

        def delete(self, key):
            flags.pop(key, None)

    monkeypatch.setattr(ingestion, "_flag_client", lambda: FakeRedis())
    queued: list = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda event_id: queued.append(event_id))

    def deliver(i):
        post(
            client,
            status_payload(
                wamid=f"late{i}",
                status="delivered",
                timestamp=1754073919,
                category="marketing",
                pricing_model="PMP",
                pricing_type="regular",
            ),
        )

    deliver(0)
    assert queued and calls == ["set"]
    slept: list = []

    def arrives_while_the_drain_waits(seconds):
        # The drain has cleared the flag and found nothing; this process saw the flag a moment ago.
        slept.append(seconds)
        if len(slept) == 1:
            monkeypatch.setattr(ingestion, "_flag_seen_at", time.monotonic())
            deliver(1)

    monkeypatch.setattr(ingestion.time, "sleep", arrives_while_the_drain_waits)
    assert services.events_drain(first_event_id=queued[0]) == 2
    assert len(queued) == 1 and calls == ["set"]  # the second delivery asked nobody and queued nothing
    assert 0 < slept[0] <= ingestion.FLAG_SEEN_WINDOW
    assert not WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists()
    assert Conversation.objects.count() == 2


def test_without_a_shared_cache_every_delivery_queues_its_task(settings):
    from conversations import services

    assert services.ingestion._flag_client() is None
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/4"}
    }
    assert services.ingestion._flag_client() is not None


@pytest.mark.django_db(transaction=True)
def test_the_store_leaves_no_prepared_statement_on_the_server(client, number, monkeypatch):
    """Behind PgBouncer in transaction mode the next statement may run on a server connection that never saw a
    statement prepared on another, so nothing may be prepared server-side (Django's psycopg connections have
    prepare_threshold=None; the store's INSERT, written against psycopg directly, must not prepare either)."""
    from django.db import connection

    from conversations import tasks

    from .helpers import status_payload

    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda event_id: None)
    connection.close()  # a fresh connection: nothing prepared on it yet
    for i in range(6):  # past psycopg's default threshold of 5, should one ever be set
        payload = status_payload(wamid=f"prep{i}", status="delivered", timestamp=1754073919 + i)
        assert post(client, payload).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        prepared = cursor.fetchone()[0]
    assert prepared == 0
    assert WebhookEvent.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_deliveries_are_stored_when_the_pooler_hands_the_next_one_another_server_connection(
    client, number, monkeypatch
):
    """Behind PgBouncer in transaction mode (the CI step runs this file through one), another client's transaction
    takes the server connection the first delivery ran on, so the second runs on a different one. A statement
    prepared by the first would not exist there; both deliveries must be stored. On a direct connection nothing is
    shared and the test holds trivially."""
    import psycopg
    from django.db import connection

    from conversations import tasks

    from .helpers import status_payload

    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda event_id: None)
    first = status_payload(wamid="pool1", status="delivered", timestamp=1754073919)
    assert post(client, first).status_code == 200
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    # PgBouncer hands out its most recently used idle server connection: the one the first delivery just ran on.
    with psycopg.connect(**params) as other:
        other.execute("SELECT 1")  # an open transaction holds that server connection
        second = status_payload(wamid="pool2", status="delivered", timestamp=1754073920)
        assert post(client, second).status_code == 200
        other.rollback()
    assert WebhookEvent.objects.count() == 2
