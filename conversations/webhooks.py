"""Meta's WhatsApp webhook: verification handshake and signed deliveries.

A delivery is trusted only after its ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
secret) checks out; it is then stored raw and the request answers at once. Rating happens in a task.
"""

import hashlib
import hmac
import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .services import webhook_event_store

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024


def signature_valid(body: bytes, header: str, secret: str) -> bool:
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":
        return _verify_subscription(request)
    header = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    if not header:
        return JsonResponse({"error": "missing_signature"}, status=401)
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "too_large"}, status=413)
    if not signature_valid(body, header, settings.WHATSAPP_APP_SECRET):
        logger.warning("WhatsApp webhook with a bad signature refused")
        return JsonResponse({"error": "bad_signature"}, status=403)
    event_id, created = webhook_event_store(body=body)
    answer = b'{"status": "accepted", "event": %d}' if created else b'{"status": "duplicate", "event": %d}'
    return HttpResponse(answer % event_id, content_type="application/json")


def _verify_subscription(request):
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponseForbidden("Verification failed", content_type="text/plain")
