"""One signed HTTP POST to an endpoint, outside any transaction (STYLE.md: no HTTP under a row lock).

Standard Webhooks: ``webhook-id`` (the event id, the same on every retry: receivers deduplicate on it),
``webhook-timestamp`` (seconds), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``, one per active secret,
space-separated, so a rolled secret keeps verifying for 24 hours). The connection goes to the address that
:func:`events.targets.check` approved, with the URL's host as Host header and TLS server name; redirects are
not followed (a 3xx is a failure); timeouts are explicit and short, the response is read up to a small excerpt.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from . import targets

EXCERPT_BYTES = 2048
USER_AGENT = "Saldo-Webhooks/1.0"

_client: httpx.Client | None = None
_client_lock = threading.Lock()


@dataclass(frozen=True)
class SendResult:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""


def signature_headers(*, msg_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    at = at.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _timeout() -> httpx.Timeout:
    total = settings.EVENTS_HTTP_TIMEOUT  # seconds (a float setting), not money
    return httpx.Timeout(total, connect=min(3.0, total), pool=min(2.0, total))


def client() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                timeout=_timeout(),
                follow_redirects=False,
                trust_env=False,  # never through a proxy from the environment: the checked address is the peer
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                headers={"user-agent": USER_AGENT},
            )
        return _client


def _pinned_url(url: str, target: targets.Target) -> str:
    parts = urlsplit(url)
    host = f"[{target.address}]" if ":" in target.address else target.address
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def send(*, url: str, body: str, headers: dict[str, str]) -> SendResult:
    """POST ``body`` to ``url``; never raises for what the network or the receiver does."""
    started = time.monotonic()
    try:
        target = targets.check(url)
    except targets.UnsafeTarget as exc:
        return SendResult(False, None, 0, error=f"refused: {exc}"[:500])
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    deadline = started + settings.EVENTS_HTTP_TIMEOUT
    try:
        request = client().build_request(
            "POST",
            _pinned_url(url, target),
            content=body.encode(),
            headers={**headers, "host": host_header, "content-type": "application/json"},
            extensions=extensions,
            timeout=_timeout(),  # per request: the shared client outlives a change of setting
        )
        response = client().send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= EXCERPT_BYTES or time.monotonic() > deadline:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        return SendResult(False, None, latency, error=f"{type(exc).__name__}: {exc}"[:500])
    latency = int((time.monotonic() - started) * 1000)
    excerpt = b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", "replace")
    ok = 200 <= response.status_code < 300
    return SendResult(ok, response.status_code, latency, excerpt=excerpt)
