from datetime import UTC, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.services import api_key_create
from core.months import JAKARTA
from credits.models import CreditBalance, MessageUsage
from credits.selectors import balance_for, ledger_audit
from credits.services import lot_grant

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage/messages"
BATCH = "/api/v1/usage/messages/batch"


def post(client, url, data):
    return client.post(url, data, format="json")


def test_it_charges_a_message_and_answers_201(api_client, organization, grant):
    grant(organization, 10)
    r = post(api_client, URL, {"message_id": "wamid.1", "direction": "outbound"})
    assert r.status_code == 201
    assert r.json() == {"message_id": "wamid.1", "charged": 1, "balance": 9}


def test_it_replays_with_200_and_the_same_body(api_client, organization, grant):
    grant(organization, 10)
    occurred = timezone.now().replace(microsecond=0) - timedelta(days=1)
    body = {"message_id": "wamid.1", "direction": "inbound", "occurred_at": occurred.astimezone(JAKARTA).isoformat()}
    first = post(api_client, URL, body)
    post(api_client, URL, {"message_id": "other", "direction": "inbound"})
    again = post(api_client, URL, {**body, "occurred_at": occurred.astimezone(UTC).isoformat()})  # the same instant
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert balance_for(organization) == 8


def test_it_answers_409_for_the_same_id_with_other_fields(api_client, organization, grant):
    grant(organization, 10)
    post(api_client, URL, {"message_id": "wamid.1", "direction": "inbound"})
    r = post(api_client, URL, {"message_id": "wamid.1", "direction": "outbound"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = post(api_client, URL, {"message_id": "wamid.1", "direction": "inbound", "occurred_at": "2025-07-01T10:00:00Z"})
    assert r.status_code == 409
    assert balance_for(organization) == 9


def test_it_answers_402_with_the_balance_when_out_of_credits(api_client, organization, grant):
    grant(organization, 1)
    post(api_client, URL, {"message_id": "a", "direction": "inbound"})
    r = post(api_client, URL, {"message_id": "b", "direction": "inbound"})
    assert r.status_code == 402
    assert r.json()["error"] == "insufficient_credits" and r.json()["balance"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"direction": "inbound"},
        {"message_id": "", "direction": "inbound"},
        {"message_id": "   ", "direction": "inbound"},
        {"message_id": "x" * 129, "direction": "inbound"},
        {"message_id": 123, "direction": "inbound"},
        {"message_id": ["a"], "direction": "inbound"},
        {"message_id": "a\x00b", "direction": "inbound"},
        {"message_id": "a"},
        {"message_id": "a", "direction": "sideways"},
        {"message_id": "a", "direction": 1},
        {"message_id": "a", "direction": "inbound", "occurred_at": "yesterday"},
        {"message_id": "a", "direction": "inbound", "occurred_at": "2025-13-45T99:00:00Z"},
        {"message_id": "a", "direction": "inbound", "occurred_at": "2025-07-01T10:00:00"},
        {"message_id": "a", "direction": "inbound", "occurred_at": 1719830400},
        {"message_id": "a", "direction": "inbound", "occurred_at": "2999-01-01T00:00:00Z"},
    ],
)
def test_it_answers_400_with_a_reason_for_bad_input(api_client, organization, grant, body):
    grant(organization, 10)
    r = post(api_client, URL, body)
    assert r.status_code == 400
    # A NUL is refused before the view (core/limits.py), everything else by the view's validation.
    assert r.json()["error"] in ("invalid", "invalid_characters") and r.json()["detail"]
    assert balance_for(organization) == 10


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ("not json", "application/json"),
        ("{", "application/json"),
        ("[1, 2]", "application/json"),
        ('"text"', "application/json"),
        ("", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_it_answers_400_for_a_body_that_is_not_a_json_object(api_client, payload, content_type):
    for url in (URL, BATCH):
        r = api_client.post(url, payload, content_type=content_type)
        assert r.status_code == 400, (url, payload)
        assert r.json()["error"] in ("invalid_json", "invalid")


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [("message_id=a", "application/x-www-form-urlencoded"), ("null", "text/plain"), ("{}", "")],
)
def test_it_answers_415_for_a_body_that_is_not_sent_as_json(api_client, organization, grant, payload, content_type):
    grant(organization, 10)
    for url in (URL, BATCH):
        r = api_client.generic("POST", url, payload, content_type=content_type)
        assert r.status_code == 415, (url, payload)
        assert r.json()["error"] == "unsupported_media_type" and r.json()["detail"]
    assert balance_for(organization) == 10


def test_it_answers_401_without_a_valid_key(client):
    r = client.post(URL, {"message_id": "a", "direction": "inbound"}, content_type="application/json")
    assert r.status_code == 401
    r = client.post(URL, {}, content_type="application/json", HTTP_AUTHORIZATION="Bearer sld_nope")
    assert r.status_code == 401


def test_it_refuses_usage_for_a_suspended_organization(api_client, organization, grant):
    grant(organization, 10)
    organization.api_suspended = True
    organization.save()
    for url, body in ((URL, {"message_id": "a", "direction": "inbound"}), (BATCH, {"messages": []})):
        r = post(api_client, url, body)
        assert r.status_code == 403 and r.json()["error"] == "api_suspended"
    assert balance_for(organization) == 10


def test_batch_charges_in_order_with_partial_success(api_client, organization, grant):
    grant(organization, 2)
    post(api_client, URL, {"message_id": "old", "direction": "inbound"})
    r = post(
        api_client,
        BATCH,
        {
            "messages": [
                {"message_id": "old", "direction": "inbound"},
                {"message_id": "n1", "direction": "outbound"},
                {"message_id": 5, "direction": "outbound"},
                {"message_id": "n2", "direction": "outbound"},
                "garbage",
                {"message_id": "n1", "direction": "inbound"},
            ]
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert [(x["message_id"], x["status"]) for x in body["results"]] == [
        ("old", "duplicate"),
        ("n1", "charged"),
        (None, "invalid"),
        ("n2", "insufficient_credits"),
        (None, "invalid"),
        ("n1", "invalid"),
    ]
    assert body["balance"] == 0
    assert ledger_audit(organization.pk)["ok"]


@pytest.mark.parametrize("body", [{}, {"messages": "x"}, {"messages": []}, {"messages": [{}] * 1001}])
def test_batch_answers_400_for_a_bad_envelope(api_client, body):
    assert post(api_client, BATCH, body).status_code == 400


def test_batch_of_a_thousand_is_accepted(api_client, organization, grant):
    grant(organization, 1500)
    msgs = [{"message_id": f"m{i}", "direction": "inbound"} for i in range(1000)]
    r = post(api_client, BATCH, {"messages": msgs})
    assert r.status_code == 200 and r.json()["balance"] == 500
    assert MessageUsage.objects.count() == 1000


def test_balance_lists_spendable_lots_soonest_first(api_client, organization, grant):
    late = grant(organization, 5, days=20)
    soon = grant(organization, 3, days=2)
    r = api_client.get("/api/v1/credits/balance")
    assert r.status_code == 200
    body = r.json()
    assert body["balance"] == 8
    assert [lot["id"] for lot in body["lots"]] == [str(soon.pk), str(late.pk)]
    assert body["lots"][0]["remaining"] == 3 and body["lots"][0]["expires_at"]


def test_balance_leaves_out_lots_past_expiry_that_the_job_has_not_swept(api_client, organization):
    now = timezone.now()
    lot_grant(organization=organization, credits=5, source="grant", granted_at=now, expires_at=now + timedelta(days=1))
    kept = lot_grant(
        organization=organization, credits=7, source="grant", granted_at=now, expires_at=now + timedelta(days=9)
    )
    with time_machine.travel(now + timedelta(days=2)):
        body = api_client.get("/api/v1/credits/balance").json()
    assert body["balance"] == 7 and [lot["id"] for lot in body["lots"]] == [str(kept.pk)]
    assert CreditBalance.objects.get(organization=organization).balance == 12  # not swept: the row still has it


def test_balance_is_scoped_to_the_key_organization(api_client, organization, other_organization, grant):
    grant(other_organization, 99)
    assert api_client.get("/api/v1/credits/balance").json() == {"balance": 0, "lots": []}
    _key, raw = api_key_create(organization=other_organization)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/v1/credits/balance").json()["balance"] == 99


def test_ledger_is_cursor_paginated_newest_first(api_client, organization, grant):
    grant(organization, 10)
    for i in range(5):
        post(api_client, URL, {"message_id": f"m{i}", "direction": "inbound"})
    r = api_client.get("/api/v1/credits/ledger?page_size=4")
    body = r.json()
    assert r.status_code == 200 and len(body["results"]) == 4
    assert body["results"][0]["kind"] == "usage" and body["results"][0]["balance_after"] == 5
    rest = api_client.get(body["next"]).json()
    assert [e["kind"] for e in rest["results"]] == ["usage", "grant"]
    assert rest["next"] is None


def test_ledger_does_not_show_other_organizations(api_client, other_organization, grant):
    grant(other_organization, 10)
    assert api_client.get("/api/v1/credits/ledger").json()["results"] == []


def test_the_schema_documents_the_usage_endpoints(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in (
        "/api/v1/usage/messages",
        "/api/v1/usage/messages/batch",
        "/api/v1/credits/balance",
        "/api/v1/credits/ledger",
    ):
        assert path in text


def test_far_past_times_are_accepted(api_client, organization, grant):
    grant(organization, 1)
    occurred = (timezone.now() - timedelta(days=3)).isoformat()
    assert (
        post(api_client, URL, {"message_id": "a", "direction": "inbound", "occurred_at": occurred}).status_code == 201
    )
