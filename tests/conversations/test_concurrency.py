"""Two workers at once, on PostgreSQL row locks."""

import json
import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from conversations.models import Conversation, MonthlyStatement, WebhookEvent
from conversations.services import events_process, statement_close, whatsapp_number_add

from .helpers import status_payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def run_in_threads(fn, n):
    errors = []
    barrier = threading.Barrier(n)

    def target(i):
        try:
            barrier.wait()
            fn(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_workers_rating_the_same_message_at_once_count_it_once(organization):
    whatsapp_number_add(organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="1")
    at = int(datetime(2025, 8, 1, tzinfo=UTC).timestamp())
    ids = []
    for i, status in enumerate(["sent", "delivered", "read", "delivered"] * 3):
        body = status_payload(
            wamid="w-same",
            status=status,
            timestamp=at + i,
            category="marketing",
            pricing_model="PMP",
            pricing_type="regular",
        )
        ids.append(WebhookEvent.objects.create(body_sha256=f"{i:064d}", body=json.dumps(body)).pk)

    run_in_threads(lambda i: events_process(event_ids=[ids[i]]), len(ids))
    assert Conversation.objects.count() == 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == len(ids)


def test_two_workers_closing_a_month_make_one_statement_and_one_invoice(organization):
    from invoices.models import Invoice

    whatsapp_number_add(organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="1")
    body = status_payload(
        wamid="w1",
        status="delivered",
        timestamp=int(datetime(2025, 7, 3, tzinfo=UTC).timestamp()),
        category="marketing",
        pricing_model="PMP",
        pricing_type="regular",
    )
    WebhookEvent.objects.create(body_sha256="a" * 64, body=json.dumps(body))
    events_process()
    assert Conversation.objects.get().price > 0, list(WebhookEvent.objects.values("status", "flags", "error"))
    run_in_threads(lambda i: statement_close(organization=organization, month=date(2025, 7, 1)), 4)
    assert MonthlyStatement.objects.count() == 1
    assert Invoice.objects.filter(kind="statement").count() == 1
