"""Texts stored as a code and its parameters, rendered in the active language when shown.

A row that describes itself (a ledger entry, an invoice line) keeps the text it was written with, in English, for
the audit trail and the API, and beside it a code and the parameters of that text. Pages, e-mails and PDFs show
:func:`coded_text`: the code's message through ``gettext`` with named placeholders, filled from the parameters.
A row written before it had a code, or whose parameters no longer fit the message, shows its stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils import translation

# A code's message: a lazy string with named placeholders, or a function of the parameters for texts that
# are put together from several translated parts.
Message = Any | Callable[[Mapping[str, Any]], str]


def coded_text(messages: Mapping[str, Message], code: str, params: Mapping[str, Any] | None, stored: str) -> str:
    """The text of ``code`` in the active language, or ``stored`` when there is no code or it does not render."""
    message = messages.get(code) if code else None
    if message is None:
        return stored
    try:
        if callable(message):
            return message(params or {})
        return str(message) % dict(params or {})
    except (KeyError, TypeError, ValueError):
        return stored


def stored_text(messages: Mapping[str, Message], code: str, params: Mapping[str, Any] | None) -> str:
    """The English text a coded row stores (what the audit trail and the API read)."""
    with translation.override("en"):
        return coded_text(messages, code, params, "")
