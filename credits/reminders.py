"""Credit reminders for owners: lots that expire within REMINDER_DAYS (once per lot) and a balance below the
organization's threshold (once per crossing: the flag is cleared when the balance rises again).

Both are set-based: one query finds every organization to remind, whatever their number, and the reminders are
claimed (``SELECT ... FOR UPDATE SKIP LOCKED`` then one UPDATE) and committed before any e-mail is sent, so two
workers never send the same reminder and no SMTP call runs under a row lock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Membership
from core.emails import Recipient, email_send

from . import outgoing
from .models import CreditBalance, CreditLot

REMINDER_DAYS = 3

__all__ = ["REMINDER_DAYS", "credits_remind"]


def credits_remind(*, now: datetime | None = None) -> dict[str, int]:
    """Send the reminders that are due; returns how many e-mails of each kind went out."""
    now = now or timezone.now()
    return {"expiring": _remind_expiring(now), "low_balance": _remind_low_balance(now)}


def _owner_emails(organization_ids: set) -> dict[object, list[Recipient]]:
    emails: dict[object, list[Recipient]] = defaultdict(list)
    owners = Membership.objects.filter(
        organization_id__in=organization_ids, role=Membership.Role.OWNER, user__is_active=True
    ).values_list("organization_id", "user__email", "user__language")
    for organization_id, email, language in owners:
        emails[organization_id].append(Recipient(email, language))
    return emails


def _send(template: str, context: dict, recipients: list[Recipient], dedupe_key: str) -> None:
    """Through the outbox (core.emails): each owner in their language, delivered with retries."""
    email_send(
        kind=f"credits_{template}",
        template=f"credits/email/{template}",
        context=context,
        recipients=recipients,
        organization=context["organization"],
        dedupe_key=dedupe_key,
    )


def _remind_expiring(now: datetime) -> int:
    with transaction.atomic(durable=True):
        due = list(
            CreditLot.objects.spendable(now)
            .filter(expires_at__lte=now + timedelta(days=REMINDER_DAYS), expiry_reminded_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .in_spending_order()
        )
        CreditLot.objects.filter(pk__in=[lot.pk for lot in due]).update(expiry_reminded_at=now)
        for lot in due:  # once per lot, in the claim's transaction
            outgoing.lot_expiring(lot)
    per_org: dict = defaultdict(list)
    for lot in due:
        per_org[lot.organization].append(lot)
    emails = _owner_emails({org.pk for org in per_org})
    sent = 0
    for organization, lots in per_org.items():
        if emails.get(organization.pk):
            context = {
                "organization": organization,
                "lots": lots,
                "days": REMINDER_DAYS,
                "url": settings.SITE_URL + "/",
            }
            _send("expiring", context, emails[organization.pk], f"credits_expiring:{lots[0].pk}:{now:%Y%m%d%H%M%S}")
            sent += 1
    return sent


def _remind_low_balance(now: datetime) -> int:
    threshold = F("organization__low_balance_threshold")
    balances = CreditBalance.objects.with_spendable(now)
    with transaction.atomic(durable=True):
        due = list(
            balances.filter(low_balance_notified_at__isnull=True, spendable__lt=threshold)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
        )
        CreditBalance.objects.filter(pk__in=[row.pk for row in due]).update(low_balance_notified_at=now)
        # Risen again: the next crossing may send its own reminder.
        recovered = balances.filter(low_balance_notified_at__isnull=False, spendable__gte=threshold).values("pk")
        CreditBalance.objects.filter(pk__in=recovered).update(low_balance_notified_at=None)
    emails = _owner_emails({row.organization_id for row in due})
    sent = 0
    for row in due:
        if emails.get(row.organization_id):
            context = {
                "organization": row.organization,
                "balance": row.spendable,
                "threshold": row.organization.low_balance_threshold,
                "url": settings.SITE_URL + "/credits/top-up/",
            }
            _send("low_balance", context, emails[row.organization_id], f"credits_low:{row.pk}:{now:%Y%m%d%H%M%S}")
            sent += 1
    return sent
