"""Invariant 11 by example: every class of hostile input found from outside answers a 4xx with a reason, and
nothing is charged, credited or stored by a refused request (core/limits.py, accounts/api_errors.py)."""

import json
from datetime import date, timedelta

import pytest
from django.conf import settings

from accounts.models import AuditEntry
from accounts.services import organization_api_access_set
from billing.models import PaymentNotification
from conversations.models import WebhookEvent
from core.limits import API_MAX_BODY_BYTES, MAX_JSON_DEPTH, WEBHOOK_MAX_BODY_BYTES, json_body_problem
from credits.models import CreditLot, MessageUsage
from credits.selectors import balance_for
from tests.billing.conftest import signed
from tests.conversations.helpers import sign

pytestmark = pytest.mark.django_db

USAGE = "/api/v1/usage/messages"
BATCH = "/api/v1/usage/messages/batch"
WEBHOOKS = [
    "/webhooks/payments/midtrans",
    "/webhooks/payments/xendit",
    "/webhooks/payments/sandbox",
    "/webhooks/whatsapp",
]


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def post_raw(client, url, body: bytes, content_type="application/json", **headers):
    return client.generic("POST", url, body, content_type=content_type, **headers)


def auth(api_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}


# --- depth ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_it_refuses_deep_json_on_the_api_with_and_without_a_key(client, api_key, organization, grant, depth):
    grant(organization, 10)
    body = b'{"message_id": "m1", "direction": "inbound", "x": ' + nested(depth) + b"}"
    for headers in (auth(api_key), {}):
        for url in (USAGE, BATCH, "/api/v1/purchases"):
            response = post_raw(client, url, body, **headers)
            assert response.status_code == 400, (url, response.content[:200])
            assert response.json()["error"] == "too_deep" and response.json()["detail"]
    assert balance_for(organization) == 10 and not MessageUsage.objects.exists()


@pytest.mark.parametrize("url", WEBHOOKS)
def test_it_refuses_deep_json_on_every_webhook_unauthenticated(client, url):
    for body in (nested(MAX_JSON_DEPTH + 1), b"[" * 200_000 + b"]" * 200_000):
        response = post_raw(client, url, body)
        assert response.status_code == 400 and response.json()["error"] == "too_deep"
    assert not PaymentNotification.objects.exists() and not WebhookEvent.objects.exists()


def test_it_accepts_json_up_to_the_depth_cap(api_client, organization, grant):
    grant(organization, 10)
    body = b'{"message_id": "m1", "direction": "inbound", "x": ' + nested(MAX_JSON_DEPTH - 1) + b"}"
    assert post_raw(api_client, USAGE, body).status_code == 201


def test_a_deep_signed_whatsapp_body_is_refused_not_stored(client):
    body = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    response = post_raw(client, "/webhooks/whatsapp", body, HTTP_X_HUB_SIGNATURE_256=sign(body))
    assert response.status_code == 400 and response.json()["error"] == "too_deep"
    assert not WebhookEvent.objects.exists()


# --- size and content type ----------------------------------------------------------------------------


def test_it_answers_413_past_the_body_cap_without_reading_it(client, api_key):
    response = client.generic(
        "POST",
        USAGE,
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(API_MAX_BODY_BYTES + 1),
        **auth(api_key),
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    response = client.generic(
        "POST",
        "/webhooks/whatsapp",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(WEBHOOK_MAX_BODY_BYTES + 1),
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_a_batch_of_a_thousand_messages_fits_the_cap(api_client, organization, grant):
    grant(organization, 1000)
    messages = [{"message_id": f"wamid.{'x' * 100}.{i}", "direction": "outbound"} for i in range(1000)]
    body = json.dumps({"messages": messages}).encode()
    assert len(body) < API_MAX_BODY_BYTES
    response = post_raw(api_client, BATCH, body)
    assert response.status_code == 200 and balance_for(organization) == 0


@pytest.mark.parametrize("url", [USAGE, "/api/v1/purchases", *WEBHOOKS])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""])
def test_it_answers_415_for_a_body_that_is_not_json(client, api_key, url, content_type):
    response = post_raw(client, url, b'{"credits": 1000}', content_type=content_type, **auth(api_key))
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type" and "application/json" in response.json()["detail"]


def test_json_with_a_charset_or_a_json_suffix_is_json(api_client, organization, grant):
    grant(organization, 10)
    for n, content_type in enumerate(["application/json; charset=utf-8", "application/merge-patch+json"]):
        body = json.dumps({"message_id": f"m{n}", "direction": "inbound"}).encode()
        assert post_raw(api_client, USAGE, body, content_type=content_type).status_code == 201


# --- NUL and lone surrogates ------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["ORDER-\u0000-1", "ORDER-\ud800"], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("gateway", ["midtrans", "sandbox"])
def test_a_signed_payment_notification_with_unstorable_characters_is_refused(client, gateway, order_id):
    key = settings.MIDTRANS_SERVER_KEY if gateway == "midtrans" else settings.SANDBOX_SERVER_KEY
    payload = {
        "order_id": "ORDER-1",
        "status_code": "200",
        "gross_amount": "111000.00",
        "transaction_status": "settlement",
        "transaction_id": "tx-1",
    }
    body = signed(payload, key)
    if "\ud800" in order_id:
        # json.dumps writes the lone surrogate as an escape; the signature cannot even be computed over it.
        body["order_id"] = order_id
        raw = json.dumps(body).encode()
    else:
        body = signed({**payload, "order_id": order_id}, key)
        raw = json.dumps(body).encode()
    response = post_raw(client, f"/webhooks/payments/{gateway}", raw)
    assert response.status_code == 400 and response.json()["error"] == "invalid_characters"
    assert not PaymentNotification.objects.exists() and not CreditLot.objects.exists()


def test_a_signed_whatsapp_body_with_a_nul_is_refused_not_stored(client):
    for body in (b'{"object": "whatsapp_business_account", "entry": [{"id": "\\u0000"}]}', b'{"object": "a\x00"}'):
        response = post_raw(client, "/webhooks/whatsapp", body, HTTP_X_HUB_SIGNATURE_256=sign(body))
        assert response.status_code == 400 and response.json()["error"] == "invalid_characters"
    assert not WebhookEvent.objects.exists()


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    assert json_body_problem(b'{"a": "\\\\u0000"}') is None
    assert json_body_problem(b'{"a": "\\ud83d\\ude00"}') is None  # a surrogate pair is one emoji
    assert json_body_problem(b'{"a": "\\u0000"}')[0] == "invalid_characters"
    assert json_body_problem(b'{"\\u0000": 1}')[0] == "invalid_characters"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/invoices?kind=%00",
        "/api/v1/credits/ledger?kind=a%00b",
        "/api/v1/conversations?month=2025-07%00",
        "/api/v1/purchases?cursor=%00",
    ],
)
def test_a_nul_in_an_api_query_parameter_is_400(api_client, url):
    response = api_client.get(url)
    assert response.status_code == 400 and response.json()["error"] == "invalid_characters"


@pytest.mark.parametrize(
    "url",
    ["/billing/subscription/?q=%00", "/conversations/?month=%00", "/credits/top-up/?credits=1%00000", "/?x=%00"],
)
def test_a_nul_in_a_page_query_parameter_is_400(owner_client, url):
    response = owner_client.get(url)
    assert response.status_code == 400


# --- cursors, dates, offsets ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/credits/ledger", "/api/v1/purchases", "/api/v1/invoices"])
@pytest.mark.parametrize("position", ["not-a-number", "2025-99-99", "9" * 400, "2025-07-01T10:00:00+99:00"])
def test_a_well_formed_cursor_with_a_wrong_position_is_never_a_5xx(api_client, organization, grant, url, position):
    import base64
    from urllib.parse import urlencode

    grant(organization, 10)
    for token in (urlencode({"p": position}), urlencode({"p": position, "r": "1"}), urlencode({"o": "x"})):
        cursor = base64.b64encode(token.encode()).decode()
        response = api_client.get(url, {"cursor": cursor})
        assert response.status_code < 500, (url, token, response.content[:300])
        if response.status_code >= 400:
            assert response.json()["error"] and "detail" in response.json()


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "0001-01", "2025-13", "2025-00", "12345-01", "-2025-01"])
def test_months_out_of_range_are_400_on_the_api(api_client, month):
    for url in ("/api/v1/invoices", "/api/v1/conversations", "/api/v1/conversations/summary"):
        response = api_client.get(url, {"month": month})
        assert response.status_code == 400, (url, month)
        assert response.json()["error"] in ("invalid", "invalid_month")


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2025-13", "12345-01"])
def test_months_out_of_range_do_not_break_pages(owner_client, month):
    for url in ("/billing/subscription/", "/conversations/"):
        assert owner_client.get(url, {"month": month}).status_code in (200, 400)


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1839-11-10T12:23:16.465498-19:56",
        "2025-07-01T10:00:00+16:00",
        "2025-07-01T10:00:00-23:59",
        "0001-01-01T00:00:00+05:00",
    ],
)
def test_an_offset_postgresql_cannot_store_is_invalid_and_the_batch_proceeds(
    api_client, organization, grant, occurred_at
):
    grant(organization, 10)
    single = post_raw(
        api_client, USAGE, json.dumps({"message_id": "m0", "direction": "inbound", "occurred_at": occurred_at}).encode()
    )
    assert single.status_code == 400 and "occurred_at" in single.json()["detail"]
    messages = [
        {"message_id": "m1", "direction": "inbound"},
        {"message_id": "m2", "direction": "inbound", "occurred_at": occurred_at},
        # Recent, so inside the deduplication window; an extreme but storable offset.
        {
            "message_id": "m3",
            "direction": "outbound",
            "occurred_at": f"{date.today() - timedelta(days=1)}T10:00:00+14:00",
        },
    ]
    response = post_raw(api_client, BATCH, json.dumps({"messages": messages}).encode())
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["charged", "invalid", "charged"]
    assert balance_for(organization) == 8


# --- API suspension ------------------------------------------------------------------------------------

EVERY_CALL = [
    ("get", "/api/v1/organization", None),
    ("get", "/api/v1/credits/balance", None),
    ("get", "/api/v1/credits/ledger", None),
    ("get", "/api/v1/purchases", None),
    ("post", "/api/v1/purchases", {"credits": 1000}),
    ("get", "/api/v1/purchases/00000000-0000-0000-0000-000000000000", None),
    ("get", "/api/v1/invoices", None),
    ("get", "/api/v1/conversations", None),
    ("get", "/api/v1/conversations/summary", None),
    ("post", USAGE, {"message_id": "m1", "direction": "inbound"}),
    ("post", BATCH, {"messages": [{"message_id": "m2", "direction": "inbound"}]}),
]


def test_a_suspended_organization_gets_403_on_every_call_reads_included_until_restored(
    api_client, organization, grant, staff
):
    grant(organization, 10)
    organization_api_access_set(organization=organization, suspended=True, actor=staff, reason="unpaid invoices")
    for method, url, body in EVERY_CALL:
        response = getattr(api_client, method)(url, body, format="json") if body else getattr(api_client, method)(url)
        assert response.status_code == 403, (method, url)
        assert response.json()["error"] == "api_suspended" and response.json()["detail"]
    assert balance_for(organization) == 10 and not organization.purchases.exists()

    organization_api_access_set(organization=organization, suspended=False, actor=staff, reason="paid")
    assert api_client.get("/api/v1/credits/balance").status_code == 200
    assert api_client.post(USAGE, {"message_id": "m1", "direction": "inbound"}, format="json").status_code == 201
    actions = list(AuditEntry.objects.filter(organization=organization).values_list("action", "reason"))
    assert ("organization.api_suspend", "unpaid invoices") in actions and (
        "organization.api_restore",
        "paid",
    ) in actions


def test_api_suspension_is_a_default_permission():
    assert "accounts.authentication.ApiNotSuspended" in settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]


def test_a_bad_key_still_answers_401_not_403(client):
    response = client.get("/api/v1/credits/balance", HTTP_AUTHORIZATION="Bearer sld_nope")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_an_unrouted_api_url_is_a_json_404(api_client):
    response = api_client.get("/api/v1/purchases/null,null")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
