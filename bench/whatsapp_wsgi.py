"""For bench/whatsapp_bench.py --fast-path only: what ingestion would do if POST /webhooks/whatsapp skipped
the middleware stack (sessions, auth, CSRF, locale, messages, axes: none of which a signed machine-to-machine
webhook uses). Everything else goes to the normal Django application. Not used by the product."""

from django.core.handlers.wsgi import WSGIRequest

from config.wsgi import application as django_application
from conversations.webhooks import whatsapp_webhook


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/webhooks/whatsapp" and environ.get("REQUEST_METHOD") == "POST":
        response = whatsapp_webhook(WSGIRequest(environ))
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]
    return django_application(environ, start_response)
