"""E-mail rendering in one layout, in the recipient's language, with every date in WIB.

Each notification is three templates: ``<name>_subject.txt``, ``<name>.txt`` (extends ``email/base.txt``) and
``<name>.html`` (extends ``email/base.html``). :func:`email_send` renders them per recipient and hands the
result to the outbox named by ``settings.EMAIL_OUTBOX`` (``billing.services.emails.email_queue``): core has no
models, and the apps below billing (accounts, credits) send through it without importing upward."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

WIB = ZoneInfo("Asia/Jakarta")

__all__ = ["WIB", "Recipient", "RenderedEmail", "email_render", "email_send", "recipient_for_user"]


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _language(code: str | None) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    return code if code in known else settings.LANGUAGE_CODE


def recipient_for_user(user: Any) -> Recipient:
    return Recipient(user.email, _language(getattr(user, "language", None)))


def email_render(template: str, context: dict, *, language: str) -> RenderedEmail:
    """Render the three parts of ``template`` in ``language`` with the current time zone set to WIB."""
    language = _language(language)
    with translation.override(language), timezone.override(WIB):
        ctx = {"site_url": settings.SITE_URL, "language": language, **context}
        subject = " ".join(render_to_string(f"{template}_subject.txt", ctx).split())
        text = render_to_string(f"{template}.txt", ctx)
        html = render_to_string(f"{template}.html", ctx)
    return RenderedEmail(subject=subject, text=text, html=html)


def email_send(
    *,
    kind: str,
    template: str,
    context: dict,
    recipients: list[Recipient],
    organization: Any = None,
    attachments: list[dict] | None = None,
    dedupe_key: str = "",
) -> list:
    """Render ``template`` for each recipient in their language and queue it in the outbox (delivered by a
    task after the current transaction commits). ``dedupe_key`` + the address make one e-mail per fact."""
    outbox = import_string(settings.EMAIL_OUTBOX)
    queued = []
    seen: set[str] = set()
    for recipient in recipients:
        address = (recipient.email or "").strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        rendered = email_render(template, context, language=recipient.language)
        queued.append(
            outbox(
                kind=kind,
                to_email=address,
                language=_language(recipient.language),
                rendered=rendered,
                organization=organization,
                attachments=attachments or [],
                dedupe_key=f"{dedupe_key}:{address.lower()}"[:200] if dedupe_key else None,
            )
        )
    return queued
