"""Hypothesis against the webhooks: arbitrary JSON (any depth, any characters, any types), arbitrary bytes and
arbitrary content types, unsigned, and signed with the right secret (so the body reaches storage and processing).
Never a 5xx; nothing is credited by a body that matches no purchase; a WhatsApp delivery that is stored is
processed without an exception (its task runs at commit here)."""

import json

import pytest
from django.conf import settings
from django.test import TestCase
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from billing.gateways import midtrans
from conversations.models import WebhookEvent
from credits.models import CreditLot
from tests.conversations.helpers import sign

pytestmark = pytest.mark.django_db

FUZZ = hsettings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any text, NUL, lone surrogates and other control characters included.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=25
)
# Deep bodies are built directly: st.recursive does not reach thousands of levels.
DEEP = (st.sampled_from([33, 1_000, 5_000, 50_000]) | st.integers(min_value=2, max_value=3_000)).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n])
)


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


BODIES = JSON.map(dumps) | DEEP.map(str.encode) | st.binary(max_size=200)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded"]
)

# Shapes the gateways and Meta really send, with every field replaced by arbitrary JSON.
MIDTRANS_FIELDS = [
    "order_id",
    "status_code",
    "gross_amount",
    "transaction_status",
    "transaction_id",
    "fraud_status",
    "va_numbers",
]
midtrans_like = st.fixed_dictionaries(
    {
        # The signed fields are strings (so the body is signed and gets past verification), anything in them.
        "order_id": TEXT | st.just("ORDER-1"),
        "status_code": TEXT | st.sampled_from(["200", "201", "202", "407"]),
        "gross_amount": TEXT | st.sampled_from(["111000.00", "1e999", "-1", "NaN"]),
        "transaction_status": TEXT | st.sampled_from(["settlement", "capture", "pending", "expire", "deny"]),
    },
    optional={name: JSON for name in MIDTRANS_FIELDS[4:]},
)
xendit_like = st.fixed_dictionaries(
    {},
    optional={name: JSON for name in ["id", "external_id", "status", "amount", "paid_amount", "updated", "payment_id"]},
)
status_like = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON,
        "status": st.sampled_from(["sent", "delivered", "read", "failed"]) | JSON,
        "timestamp": st.integers(min_value=-(10**20), max_value=10**20).map(str) | JSON,
        "recipient_id": JSON,
        "conversation": st.fixed_dictionaries({}, optional={"id": JSON, "origin": JSON, "expiration_timestamp": JSON}),
        "pricing": st.fixed_dictionaries(
            {}, optional={"billable": JSON, "category": JSON, "pricing_model": JSON, "type": JSON}
        ),
    },
)
whatsapp_like = st.builds(
    lambda statuses, metadata, waba: {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba, "changes": [{"field": "messages", "value": {"metadata": metadata, "statuses": statuses}}]}
        ],
    },
    st.lists(status_like, max_size=3),
    st.fixed_dictionaries({}, optional={"phone_number_id": JSON, "display_phone_number": JSON}),
    JSON,
)


def midtrans_signed(payload: dict, key: str) -> dict:
    """Sign whatever the three signed fields are, when they are strings (otherwise it stays unsigned)."""
    fields = [payload.get(name) for name in ("order_id", "status_code", "gross_amount")]
    if all(isinstance(value, str) for value in fields):
        try:
            payload["signature_key"] = midtrans.signature(*fields, key)
        except UnicodeEncodeError:  # a lone surrogate cannot be signed; it goes unsigned
            pass
    return payload


def post(client, url, body: bytes, content_type="application/json", **headers):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.generic("POST", url, body, content_type=content_type, **headers)


def assert_refused_or_taken(response):
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["error"], response.content[:300]


@FUZZ
@given(
    url=st.sampled_from(
        ["/webhooks/payments/midtrans", "/webhooks/payments/xendit", "/webhooks/payments/sandbox", "/webhooks/whatsapp"]
    ),
    body=BODIES,
    content_type=CONTENT_TYPES,
)
def test_no_unauthenticated_body_makes_a_webhook_fail(client, url, body, content_type):
    assert_refused_or_taken(post(client, url, body, content_type))
    assert not CreditLot.objects.exists()


def with_deep_field(body: bytes, deep: str | None) -> bytes:
    """Add an unsigned field nested ``deep`` levels (json.dumps itself cannot write thousands of levels)."""
    return body if deep is None else body[:-1] + b', "custom_field1": ' + deep.encode() + b"}"


@FUZZ
@given(payload=midtrans_like, gateway=st.sampled_from(["midtrans", "sandbox"]), deep=st.none() | DEEP)
def test_no_signed_midtrans_shaped_body_makes_the_webhook_fail_or_credits(client, payload, gateway, deep):
    key = settings.MIDTRANS_SERVER_KEY if gateway == "midtrans" else settings.SANDBOX_SERVER_KEY
    body = with_deep_field(dumps(midtrans_signed(payload, key)), deep)
    assert_refused_or_taken(post(client, f"/webhooks/payments/{gateway}", body))
    assert not CreditLot.objects.exists()


@FUZZ
@given(payload=xendit_like)
def test_no_xendit_callback_with_the_token_makes_the_webhook_fail_or_credits(client, payload):
    response = post(
        client, "/webhooks/payments/xendit", dumps(payload), HTTP_X_CALLBACK_TOKEN=settings.XENDIT_CALLBACK_TOKEN
    )
    assert_refused_or_taken(response)
    assert not CreditLot.objects.exists()


@FUZZ
@given(payload=whatsapp_like, deep=st.none() | DEEP)
def test_no_signed_whatsapp_body_makes_the_webhook_or_its_processing_fail(client, payload, deep):
    body = with_deep_field(dumps(payload), deep)
    response = post(client, "/webhooks/whatsapp", body, HTTP_X_HUB_SIGNATURE_256=sign(body))
    assert_refused_or_taken(response)
    if response.status_code == 200:
        event = WebhookEvent.objects.get(pk=response.json()["event"])
        assert event.status != WebhookEvent.Status.RECEIVED  # processed (or flagged/failed), never stuck
