"""The WSGI application gunicorn serves (config.wsgi), called the way gunicorn calls it: one middleware stack for
pages and machines alike, the same one the test client and the ASGI application build. Machine paths (API,
webhooks) skip what they do not need at the view (CSRF exemption, no session access), so they set no cookie."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test.client import AsyncClientHandler, ClientHandler

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
    from config.wsgi import application

    return application


def loaded_middleware(handler, monkeypatch):
    """The middleware classes a handler builds, in order, as its own load_middleware() imports them."""
    loaded = []
    real = base.import_string

    def recording(path):
        loaded.append(path)
        return real(path)

    monkeypatch.setattr(base, "import_string", recording)
    handler.load_middleware(is_async=isinstance(handler, ASGIHandler))
    monkeypatch.undo()
    return loaded[::-1]  # Django builds the chain from the innermost middleware outwards


def test_production_and_the_test_client_run_the_same_middleware(app, monkeypatch):
    from config.asgi import application as asgi_application

    assert type(app) is WSGIHandler and type(asgi_application) is ASGIHandler
    production = loaded_middleware(WSGIHandler(), monkeypatch)
    assert production == list(settings.MIDDLEWARE)
    assert loaded_middleware(ClientHandler(), monkeypatch) == production
    assert loaded_middleware(ASGIHandler(), monkeypatch) == production
    assert loaded_middleware(AsyncClientHandler(), monkeypatch) == production
    assert "django.middleware.csrf.CsrfViewMiddleware" in production and "axes.middleware.AxesMiddleware" in production


@pytest.mark.django_db(transaction=True)
def test_a_charge_through_the_production_application_is_exact_and_sets_no_cookie(app, organization, api_key):
    lot_grant(organization=organization, credits=2, source="grant", reason="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}", "HTTP_X_REQUEST_ID": "req-123"}
    body = json.dumps({"message_id": "wamid.1", "direction": "outbound"}).encode()
    status, headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=body, headers=auth)
    assert status == 201 and json.loads(content) == {"message_id": "wamid.1", "charged": 1, "balance": 1}
    assert dict(headers)["X-Request-ID"] == "req-123"
    assert "x-frame-options" in header_names(headers) and "x-content-type-options" in header_names(headers)
    assert "set-cookie" not in header_names(headers)
    assert "Cookie" not in dict(headers).get("Vary", "")
    replay = wsgi(app, "POST", "/api/v1/usage/messages", body=body, headers=auth)
    assert replay[0] == 200 and json.loads(replay[2])["balance"] == 1
    # No key: 401 with the API's error shape; a bad body: 400 with a reason. Never a 500.
    status, _headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=body)
    assert status == 401 and "error" in json.loads(content)
    status, _headers, content = wsgi(app, "POST", "/api/v1/usage/messages", body=b"{nope", headers=auth)
    assert status == 400 and json.loads(content)["error"] == "invalid_json"


@pytest.mark.django_db(transaction=True)
def test_a_webhook_with_a_bad_signature_is_refused_through_the_production_application(app):
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
    assert status == 403  # no CSRF token: refused


@pytest.mark.django_db(transaction=True)
def test_a_signed_whatsapp_delivery_is_verified_and_stored_through_the_production_application(app):
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
