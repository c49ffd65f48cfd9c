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
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Membership

from .models import CreditBalance, CreditLot

REMINDER_DAYS = 3

__all__ = ["REMINDER_DAYS", "credits_remind"]


def credits_remind(*, now: datetime | None = None) -> dict[str, int]:
    """Send the reminders that are due; returns how many e-mails of each kind went out."""
    now = now or timezone.now()
    return {"expiring": _remind_expiring(now), "low_balance": _remind_low_balance(now)}


def _owner_emails(organization_ids: set) -> dict[object, list[str]]:
    emails: dict[object, list[str]] = defaultdict(list)
    owners = Membership.objects.filter(
        organization_id__in=organization_ids, role=Membership.Role.OWNER, user__is_active=True
    ).values_list("organization_id", "user__email")
    for organization_id, email in owners:
        emails[organization_id].append(email)
    return emails


def _send(template: str, context: dict, recipients: list[str]) -> None:
    subject = render_to_string(f"credits/email/{template}_subject.txt", context).strip()
    send_mail(subject, render_to_string(f"credits/email/{template}.txt", context), None, recipients)


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
            _send("expiring", context, emails[organization.pk])
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
            _send("low_balance", context, emails[row.organization_id])
            sent += 1
    return sent
