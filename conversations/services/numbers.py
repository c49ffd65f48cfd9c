"""WhatsApp numbers: attaching a Meta phone number ID to an organization."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_record

from ..models import Conversation, MessageStatus, UnknownNumber, WhatsAppNumber


def _attach(
    *, organization: Organization, phone_number_id: str, waba_id: str, display_number: str, time_zone: str | None
) -> tuple[WhatsAppNumber, dict | None]:
    """Create or update the number under its row lock; returns it and what it was before (``{}`` when it is
    new, ``None`` when nothing changed)."""
    phone_number_id = phone_number_id.strip()
    number = WhatsAppNumber.objects.select_for_update().filter(phone_number_id=phone_number_id).first()
    if number is not None and number.organization_id != organization.pk:
        raise ValueError(f"Phone number ID {phone_number_id} already belongs to {number.organization}.")
    wanted = {"waba_id": waba_id.strip(), "display_number": display_number.strip()}
    if time_zone:
        wanted["time_zone"] = time_zone
    before: dict | None
    if number is None:
        number = WhatsAppNumber.objects.create(organization=organization, phone_number_id=phone_number_id, **wanted)
        before = {}
    else:
        current = {name: getattr(number, name) for name in wanted}
        before = None
        if current != wanted:
            for name, value in wanted.items():
                setattr(number, name, value)
            number.save(update_fields=list(wanted))
            before = current
    # Traffic received while the number was unknown follows it (every time: idempotent and cheap).
    MessageStatus.objects.filter(phone_number_id=phone_number_id, organization__isnull=True).update(
        organization=organization
    )
    Conversation.objects.filter(
        phone_number_id=phone_number_id, organization__isnull=True, statement__isnull=True
    ).update(organization=organization)
    UnknownNumber.objects.filter(phone_number_id=phone_number_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    return number, before


def _after(number: WhatsAppNumber) -> dict:
    return {
        "phone_number_id": number.phone_number_id,
        "waba_id": number.waba_id,
        "display_number": number.display_number,
        "time_zone": number.time_zone,
    }


@transaction.atomic
def whatsapp_number_add(
    *,
    organization: Organization,
    phone_number_id: str,
    waba_id: str,
    display_number: str,
    time_zone: str | None = None,
    actor: User | None = None,
    reason: str = "",
) -> WhatsAppNumber:
    """Attach a WhatsApp number to an organization (or update its WABA, display number, time zone). Traffic
    already received for it (while it was unknown) and not yet on a statement becomes the organization's.

    Audited only when it creates or changes the number: adding the same number again (``seed_demo`` twice, a
    repeated command) writes nothing. Not ``durable``: the admin's add form calls it inside its own transaction.
    """
    number, before = _attach(
        organization=organization,
        phone_number_id=phone_number_id,
        waba_id=waba_id,
        display_number=display_number,
        time_zone=time_zone,
    )
    if before is not None:
        audit_record(
            action="whatsapp_number.add" if before == {} else "whatsapp_number.change",
            actor=actor,
            organization=organization,
            target=number,
            before=before,
            after=_after(number),
            reason=reason,
        )
    return number


@transaction.atomic
def unknown_number_assign(
    *, unknown: UnknownNumber, organization: Organization, actor: User | None, reason: str
) -> WhatsAppNumber:
    """Staff review queue: a number Meta sent traffic for joins an organization (its earlier traffic follows
    it), audited with who and why. Raises ``ValueError`` when the number already belongs to another one."""
    number, before = _attach(
        organization=organization,
        phone_number_id=unknown.phone_number_id,
        waba_id=unknown.waba_id,
        display_number=unknown.display_number or unknown.phone_number_id,
        time_zone=None,
    )
    audit_record(
        action="whatsapp_number.assign",
        actor=actor,
        organization=organization,
        target=number,
        before={"unknown_number": unknown.phone_number_id, **(before or {})},
        after={"organization": organization.slug, **_after(number)},
        reason=reason,
    )
    return number
