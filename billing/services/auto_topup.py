"""Auto top-up (DESIGN.md "Top-up and payment"; off by default).

- An owner sets "when my balance falls below X credits, prepare N credits": :func:`auto_topup_configure`
  writes the rule and its audit entry, and copies X onto ``Organization.auto_topup_below`` (null when off),
  which the credit charge path compares with the balance it just computed (credits.signals): a crossing
  sends a signal after commit, and billing queues :func:`auto_topup_prepare` as a task.
- :func:`auto_topup_prepare` creates one pending purchase of N credits (``origin=auto_topup``), e-mails its
  payment link to the owners, and records an audit entry. One open auto top-up purchase at a time is the
  partial unique constraint ``purchase_one_open_auto_topup``: a second crossing, a retried task or two
  workers at once find the open one and create nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import audit_record
from credits.selectors import balance_for

from ..models.auto_topup import AutoTopUp
from ..models.purchases import Purchase
from .purchases import PurchaseError, purchase_create, validate_credits

__all__ = ["auto_topup_configure", "auto_topup_prepare", "auto_topup_open_purchase"]


def _state(rule: AutoTopUp) -> dict:
    return {"enabled": rule.enabled, "threshold": rule.threshold, "credits": rule.credits}


@transaction.atomic
def auto_topup_configure(
    *, organization: Organization, enabled: bool, threshold: int, credits: int, actor: User
) -> AutoTopUp:
    """Save the rule (audited). Enabling it while the balance is already below X prepares a purchase now."""
    credits = validate_credits(credits)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
        raise PurchaseError(_("The threshold must be a positive number of credits."), code="invalid_threshold")
    AutoTopUp.objects.get_or_create(organization=organization)
    rule = AutoTopUp.objects.select_for_update().get(organization=organization)
    before = _state(rule)
    rule.enabled, rule.threshold, rule.credits, rule.updated_by = bool(enabled), threshold, credits, actor
    rule.save()
    below = threshold if rule.enabled else None
    Organization.objects.filter(pk=organization.pk).update(auto_topup_below=below)
    organization.auto_topup_below = below
    audit_record(
        action="auto_topup.configure",
        actor=actor,
        organization=organization,
        target=rule,
        before=before,
        after=_state(rule),
        reason="",
    )
    if rule.enabled:
        from ..tasks.auto_topup import prepare_auto_topup

        organization_id = str(organization.pk)
        transaction.on_commit(lambda: prepare_auto_topup.delay(organization_id))
    return rule


def auto_topup_open_purchase(organization: Organization) -> Purchase | None:
    return Purchase.objects.filter(
        organization=organization, origin=Purchase.Origin.AUTO_TOPUP, status=Purchase.Status.PENDING
    ).first()


def auto_topup_prepare(*, organization: Organization, now: datetime | None = None) -> Purchase | None:
    """Prepare the auto top-up purchase if the rule is on, the balance is below X and none is open.
    Returns the new purchase, or None when nothing was due (or one was already open)."""
    rule = AutoTopUp.objects.filter(organization=organization, enabled=True).first()
    if rule is None or balance_for(organization) >= rule.threshold:
        return None
    if auto_topup_open_purchase(organization) is not None:
        return None  # cheap early answer; the constraint is what guarantees it

    def record(purchase: Purchase) -> None:
        AutoTopUp.objects.filter(pk=rule.pk).update(last_prepared_at=timezone.now())
        audit_record(
            action="auto_topup.prepared",
            actor=None,
            organization=organization,
            target=purchase,
            before={},
            after={"purchase": purchase.order_id, "credits": purchase.credits, "threshold": rule.threshold},
            reason=_("Balance fell below %(n)s credits") % {"n": rule.threshold},
        )

    purchase = purchase_create(
        organization=organization,
        credits=rule.credits,
        idempotency_key=f"auto-topup:{timezone.now():%Y%m%d%H%M%S%f}",
        origin=Purchase.Origin.AUTO_TOPUP,
        on_created=record,
        now=now,
    )
    return purchase if getattr(purchase, "created", False) else None
