"""Explicit limits on what a request may carry, checked before any view runs (DESIGN.md, invariant 11).

For the machine surfaces, ``/api/`` and ``/webhooks/``, a request body must be JSON and within bounds:

- larger than the cap (``Content-Length``) → **413** ``{"error": "too_large"}``; the body is never read;
- a body whose ``Content-Type`` is not JSON → **415** ``{"error": "unsupported_media_type"}``;
- nested deeper than :data:`MAX_JSON_DEPTH` → **400** ``{"error": "too_deep"}``; Python's parser would
  otherwise recurse until it gives up, and a 10,000-level body is never a payment or a message;
- a NUL character (raw, or escaped as ``\\u0000``) or a lone surrogate in any string → **400**
  ``{"error": "invalid_characters"}``: PostgreSQL can store neither in text, so such a body could only fail
  later, after its signature was checked and half of it was used.

Everywhere, pages included, a NUL in the query string answers **400**: no filter, page number or month has one.

Refusing is safe for money: a refused payment notification is retried by the gateway and the expiry job asks the
gateway before it closes a session (paid wins); a refused usage call charges nothing.
Bodies that are JSON but not what a view expects are the view's to refuse (each answers 400 with its reason).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
WEBHOOK_PREFIX = "/webhooks/"
# A batch of 1,000 usage messages is about 100 KB; Meta's webhook batches are the largest bodies we take.
API_MAX_BODY_BYTES = 1024 * 1024
WEBHOOK_MAX_BODY_BYTES = 3 * 1024 * 1024
# Meta's webhook payloads, the deepest we receive, nest 7 levels; Midtrans and Xendit 3.
MAX_JSON_DEPTH = 32

_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
# Escapes that decode to something PostgreSQL cannot store: NUL, and surrogates (valid only in pairs).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def json_body_problem(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> tuple[str, str] | None:
    """``(code, detail)`` when a JSON body is too deep or carries characters no database column can hold;
    ``None`` otherwise, also for a body that is not JSON at all (the view answers that with its own reason).

    Cheap for the common case: a body with fewer brackets than the depth cap and no suspect escape is not
    parsed here at all (the usage API's hot path); a larger one is parsed once and its containers walked."""
    if b"\x00" in body:  # also refuses UTF-16 and UTF-32, which RFC 8259 does not allow on the wire
        return "invalid_characters", "The body contains a NUL byte."
    suspect = _SUSPECT_ESCAPE.search(body) is not None
    if body.count(b"[") + body.count(b"{") <= max_depth and not suspect:
        return None
    try:
        data = json.loads(body)
    except RecursionError:
        return "too_deep", f"JSON may nest at most {max_depth} levels."
    except ValueError:
        return None
    if _depth_exceeds(data, max_depth):
        return "too_deep", f"JSON may nest at most {max_depth} levels."
    if suspect and not _all_storable(data):
        return "invalid_characters", "A string or key contains a NUL character or a lone surrogate."
    return None


def _depth_exceeds(data: Any, max_depth: int) -> bool:
    """Whether the parsed body nests deeper than ``max_depth``: level by level, containers only, no recursion."""
    level = [data] if type(data) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        deeper = []
        for value in level:
            for child in value.values() if type(value) is dict else value:
                if type(child) is dict or type(child) is list:
                    deeper.append(child)
        level = deeper
    return False


def _all_storable(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(_storable(key) for key in value):
                return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and not _storable(value):
            return False
    return True


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _query_has_nul(query_string: str) -> bool:
    return "\x00" in query_string or "%00" in query_string


class RequestLimitsMiddleware:
    """See the module docstring. Placed right after the security middleware, before sessions and
    authentication: a refused request costs no database query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        machine = path.startswith(API_PREFIX) or path.startswith(WEBHOOK_PREFIX)
        if _query_has_nul(request.META.get("QUERY_STRING", "")):
            if machine:
                return _error("invalid_characters", "The query string contains a NUL character.", 400)
            return HttpResponseBadRequest(
                _("The address contains a NUL character, which no page accepts."), content_type="text/plain"
            )
        if machine:
            refused = self._check_body(request, path)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check_body(self, request: HttpRequest, path: str) -> JsonResponse | None:
        cap = API_MAX_BODY_BYTES if path.startswith(API_PREFIX) else WEBHOOK_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error("invalid", "Content-Length is not a number.", 400)
        if length > cap:
            return _error("too_large", f"The body may be at most {cap} bytes.", 413)
        if length <= 0:
            return None
        media_type = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
        if not _JSON_MEDIA_TYPE.match(media_type):
            return _error(
                "unsupported_media_type",
                f"Send a JSON body with Content-Type: application/json (got {media_type or 'none'!r}).",
                415,
            )
        problem = json_body_problem(request.body)
        if problem is not None:
            return _error(*problem, 400)
        return None
