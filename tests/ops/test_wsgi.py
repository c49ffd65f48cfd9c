"""The WSGI application (config/handlers.py): browser pages keep the full middleware stack, machine endpoints
(API, webhooks) run through the short one. The test client builds its own full-stack handler, so these tests
call the application the way gunicorn does."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings

from config.handlers import MachineWSGIHandler, SaldoWSGIApplication
from credits.services import lot_grant


def wsgi(app, method, path, *, body=b"", headers=None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
    }
    environ.update(headers or {})
    setup_testing_defaults(environ)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = response_headers

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return captured["status"], captured["headers"], content


def header_names(headers):
    return {name.lower() for name, _value in headers}


@pytest.fixture
def app():
    return SaldoWSGIApplication()


def test_the_entry_point_is_the_dispatching_application():
    from config import wsgi

    assert isinstance(wsgi.application, SaldoWSGIApplication)


def test_machine_paths_get_the_short_stack_and_pages_the_full_one(app):
    assert isinstance(app.handler_for("/api/v1/usage/messages"), MachineWSGIHandler)
    assert isinstance(app.handler_for("/webhooks/whatsapp"), MachineWSGIHandler)
    assert isinstance(app.handler_for("/webhooks/payments/midtrans"), MachineWSGIHandler)
    for page in (
        "/",
        "/accounts/login/",
        "/billing/subscription/",
        "/admin/",
        "/api/docs/",
        "/api/schema/",
        "/healthz",
    ):
        assert not isinstance(app.handler_for(page), MachineWSGIHandler), page
    machine, site = app.machine.middleware, app.site.middleware
    assert machine == list(settings.MACHINE_MIDDLEWARE)
    assert site == list(settings.MIDDLEWARE)
    assert "django.middleware.csrf.CsrfViewMiddleware" in site and "axes.middleware.AxesMiddleware" in site
    # Building the machine stack does not leave the site's setting changed.
    assert "django.contrib.sessions.middleware.SessionMiddleware" in settings.MIDDLEWARE


@pytest.mark.django_db(transaction=True)
def test_a_charge_through_the_machine_stack_is_exact_and_sets_no_cookie(app, organization, api_key):
    lot_grant(organization=organization, credits=2, source="grant", reason="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}", "HTTP_X_REQUEST_ID": "req-123"}
    body = json.dumps({"message_id": "wamid.1", "direction": "outbound"}).encode()
    status, headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=body, headers=auth)
    assert status == 201 and json.loads(content) == {"message_id": "wamid.1", "charged": 1, "balance": 1}
    assert dict(headers)["X-Request-ID"] == "req-123"
    assert "x-frame-options" in header_names(headers) and "x-content-type-options" in header_names(headers)
    assert "set-cookie" not in header_names(headers)
    assert "Cookie" not in dict(headers).get("Vary", "") and "Accept-Language" not in dict(headers).get("Vary", "")
    replay = wsgi(app, "POST", "/api/v1/usage/messages", body=body, headers=auth)
    assert replay[0] == 200 and json.loads(replay[2])["balance"] == 1
    # No key: 401 with the API's error shape; a bad body: 400 with a reason. Never a 500.
    status, _headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=body)
    assert status == 401 and "error" in json.loads(content)
    status, _headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=b"{nope", headers=auth)
    assert status == 400 and json.loads(content)["error"] == "invalid_json"


@pytest.mark.django_db(transaction=True)
def test_a_webhook_with_a_bad_signature_is_refused_through_the_machine_stack(app):
    status, _headers, _content = wsgi(
        app,
        "POST",
        "/webhooks/whatsapp",
        body=b'{"object":"whatsapp_business_account"}',
        headers={"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64},
    )
    assert 400 <= status < 500


@pytest.mark.django_db(transaction=True)
def test_pages_keep_sessions_and_csrf(app):
    status, headers, content = wsgi(app, "GET", "/accounts/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in content
    assert any(name.lower() == "set-cookie" and value.strip().startswith("csrftoken=") for name, value in headers)
    status, _headers, _content = wsgi(
        app,
        "POST",
        "/accounts/login/",
        body=b"username=a&password=b",
        headers={"CONTENT_TYPE": "application/x-www-form-urlencoded"},
    )
    assert status == 403  # no CSRF token: refused by the site stack


@pytest.mark.django_db(transaction=True)
def test_a_signed_whatsapp_delivery_is_verified_and_stored_through_the_machine_stack(app):
    from conversations.models import WebhookEvent
    from tests.conversations.helpers import load_fixture, sign

    status, _headers, content = wsgi(
        app,
        "GET",
        "/webhooks/whatsapp",
        headers={
            "QUERY_STRING": "hub.mode=subscribe&hub.verify_token=whatsapp-test-verify-token&hub.challenge=1158201444"
        },
    )
    assert status == 200 and content == b"1158201444"
    body = json.dumps(load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json")).encode()
    status, headers, _content = wsgi(
        app, "POST", "/webhooks/whatsapp", body=body, headers={"HTTP_X_HUB_SIGNATURE_256": sign(body)}
    )
    assert status == 200 and "set-cookie" not in header_names(headers)
    assert WebhookEvent.objects.count() == 1
    again = wsgi(app, "POST", "/webhooks/whatsapp", body=body, headers={"HTTP_X_HUB_SIGNATURE_256": sign(body)})
    assert again[0] == 200 and WebhookEvent.objects.count() == 1  # stored once
