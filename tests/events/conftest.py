"""A real HTTP receiver on loopback (threads): records every request and answers from a script of statuses."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events.services import endpoint_create


@dataclass
class Received:
    headers: dict
    body: bytes
    # secret -> verified by the library's own verifier when the request arrived (its clock then)
    checks: dict = field(default_factory=dict)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; when exhausted, ``default``.
    script: list[int] = field(default_factory=list)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    secrets: list[str] = field(default_factory=list)

    def verified(self, secret: str) -> list[dict]:
        """Every request body; fails unless each one verified with ``secret`` when it arrived."""
        assert self.requests and all(r.checks.get(secret) for r in self.requests), [r.checks for r in self.requests]
        return [r.json for r in self.requests]

    def check(self, received: Received) -> None:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(received.body, received.headers)
            except WebhookVerificationError:
                received.checks[secret] = False
            else:
                received.checks[secret] = True

    def types(self) -> list[str]:
        return [r.json["type"] for r in self.requests]


@pytest.fixture
def receiver():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            rec = state["receiver"]
            received = Received({k.lower(): v for k, v in self.headers.items()}, body)
            rec.check(received)
            with rec.lock:
                rec.requests.append(received)
                status = rec.script.pop(0) if rec.script else rec.default
            payload = b'{"ok": true}' if status < 300 else b"receiver is down"
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks/saldo?x=1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_and_secret(organization, receiver):
    endpoint, secret = endpoint_create(organization=organization, url=receiver.url, description="platform")
    receiver.secrets.append(secret)
    return endpoint, secret
