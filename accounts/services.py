"""Writes for users, organizations, memberships, invitations and API keys."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.emails import Recipient, email_send

from .models import ApiKey, AuditEntry, Invitation, Membership, Organization, User, hash_api_key
from .signals import api_access_changed


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, slug: str | None = None, **billing: Any) -> Organization:
    """Create an organization with ``owner`` as its first owner."""
    org = Organization.objects.create(name=name, slug=slug or _unique_slug(name), **billing)
    Membership.objects.create(user=owner, organization=org, role=Membership.Role.OWNER)
    return org


@transaction.atomic
def user_signup(
    *, email: str, password: str, full_name: str, organization_name: str, language: str = ""
) -> tuple[User, Organization]:
    """Sign-up makes the user and the organization they own. ``language`` (the browser's) becomes the
    user's language preference when Saldo speaks it."""
    known = {code for code, _name in settings.LANGUAGES}
    extra = {"language": language} if language in known else {}
    user = User.objects.create_user(email=email, password=password, full_name=full_name, **extra)
    org = organization_create(name=organization_name, owner=user, invoice_email=user.email)
    return user, org


def user_set_language(*, user: User, language: str) -> User:
    """The language of this person's pages and e-mails."""
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValueError(f"Unknown language {language!r}")
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def organization_update_billing(*, organization: Organization, **fields: Any) -> Organization:
    allowed = {
        "name",
        "legal_name",
        "npwp",
        "address",
        "invoice_email",
        "low_balance_threshold",
        "tax_document_type",
        "tax_document_number",
        "nitku",
        "tax_country",
    }
    for key, value in fields.items():
        if key not in allowed:
            raise ValueError(f"Unknown billing field {key!r}")
        setattr(organization, key, value)
    organization.save(update_fields=[*fields.keys()])
    return organization


class InvitationError(ValueError):
    """An invitation that cannot be sent; ``str(exc)`` is the translated message for the person inviting."""


def invitation_create(*, organization: Organization, email: str, role: str, invited_by: User) -> Invitation:
    """Invite a teammate by e-mail. Inviting the same address again re-sends the open invitation; inviting
    someone who is already a member is refused (InvitationError): it would send a link that does nothing."""
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise InvitationError(
            _("%(email)s is already a member of %(org)s.") % {"email": email, "org": organization.name}
        )
    with transaction.atomic():
        invitation = Invitation.objects.filter(organization=organization, email=email, accepted_at__isnull=True).first()
        if invitation is None:
            invitation = Invitation.objects.create(
                organization=organization, email=email, role=role, invited_by=invited_by
            )
        elif invitation.role != role:
            invitation.role = role
            invitation.save(update_fields=["role"])
        link = settings.SITE_URL + reverse("accounts:invitation_accept", args=[invitation.token])
        # The invitee has no account yet: they read it in the language of the person inviting them.
        email_send(
            kind="invitation",
            template="accounts/email/invitation",
            context={"organization": organization, "invited_by": invited_by, "invitation": invitation, "link": link},
            recipients=[Recipient(email, getattr(invited_by, "language", ""))],
            organization=organization,
        )
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    membership, _created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    if invitation.accepted_at is None:
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic(durable=True)
def membership_remove(*, membership: Membership, actor: User | None = None) -> None:
    """Remove a member. An organization keeps at least one owner (counted under a lock on the owners' rows,
    so two owners removing each other at once cannot leave none). Audited in the same transaction."""
    if membership.role == Membership.Role.OWNER:
        owners = list(
            Membership.objects.select_for_update()
            .filter(organization=membership.organization, role=Membership.Role.OWNER)
            .values_list("pk", flat=True)
        )
        if len(owners) <= 1:
            raise ValueError(_("An organization needs at least one owner."))
    before = {"user": membership.user.email, "role": membership.role}
    audit_record(
        action="membership.remove",
        actor=actor,
        organization=membership.organization,
        target=membership,
        before=before,
        reason=_("Removed from the settings page"),
    )
    membership.delete()


@transaction.atomic(durable=True)
def invitation_cancel(*, invitation: Invitation, actor: User | None = None) -> None:
    """Cancel an invitation that has not been accepted (an accepted one is a membership: remove that instead)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValueError(_("This invitation was already accepted."))
    audit_record(
        action="invitation.cancel",
        actor=actor,
        organization=invitation.organization,
        target=invitation,
        before={"email": invitation.email, "role": invitation.role},
        reason=_("Cancelled from the settings page"),
    )
    invitation.delete()


def api_key_create(
    *, organization: Organization, name: str = "default", created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create an API key. The raw key is returned once and never stored; the creation is audited with it."""
    for _attempt in range(3):
        raw, prefix = ApiKey.generate()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    organization=organization,
                    name=name or "default",
                    prefix=prefix,
                    key_hash=hash_api_key(raw),
                    created_by=created_by,
                )
                audit_record(
                    action="api_key.create",
                    actor=created_by,
                    organization=organization,
                    target=key,
                    after={"name": key.name, "prefix": key.prefix},
                )
            return key, raw
        except IntegrityError:  # pragma: no cover - a 256-bit collision
            continue
    raise RuntimeError("Could not generate a unique API key")


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None = None) -> ApiKey:
    """Revoke a key (it answers 401 from then on). Revoking a revoked key changes nothing and audits nothing."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            action="api_key.revoke",
            actor=actor,
            organization=api_key.organization,
            target=api_key,
            before={"revoked_at": None},
            after={"revoked_at": api_key.revoked_at.isoformat()},
        )
    return api_key


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    organization: Organization | None = None,
    target: Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | Promise = "",
) -> AuditEntry:
    """Record an action that changes money or access. Services call it inside the transaction of the change,
    so the entry and the change commit or roll back together."""
    return AuditEntry.objects.create(
        action=action,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        organization=organization,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        before=before or {},
        after=after or {},
        reason=str(reason),
    )


def _jsonable(values: dict) -> dict:
    return json.loads(json.dumps({k: getattr(v, "pk", v) for k, v in values.items()}, cls=DjangoJSONEncoder))


def admin_edit_record(
    *,
    actor: User,
    instance: Model,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    inlines: dict | None = None,
) -> AuditEntry:
    """Record an edit made through a plain admin form (``AuditedAdminMixin``), inside the admin's transaction.
    ``action`` is add, change or delete; ``inlines`` lists the inline rows added, changed or deleted."""
    organization = instance if isinstance(instance, Organization) else getattr(instance, "organization", None)
    after = _jsonable(after or {})
    if inlines:
        after["inlines"] = inlines
    return audit_record(
        action=f"{instance._meta.label_lower}.admin_{action}",
        actor=actor,
        organization=organization if isinstance(organization, Organization) else None,
        target=instance,
        before=_jsonable(before or {}),
        after=after,
        reason=_("Edited in the admin"),
    )


@transaction.atomic
def organization_api_access_set(
    *, organization: Organization, suspended: bool, actor: User, reason: str
) -> Organization:
    """Staff suspend or restore an organization's API access (keys answer 403 while suspended). A reason is
    required and the change is audited in the same transaction; setting the current state changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("A reason is required."))
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.api_suspended == suspended:
        return organization
    before = {"api_suspended": organization.api_suspended}
    organization.api_suspended = suspended
    organization.save(update_fields=["api_suspended"])
    audit_record(
        action="organization.api_suspend" if suspended else "organization.api_restore",
        actor=actor,
        organization=organization,
        target=organization,
        before=before,
        after={"api_suspended": suspended},
        reason=reason,
    )
    api_access_changed.send(sender=Organization, organization=organization, suspended=suspended, reason=reason)
    return organization
