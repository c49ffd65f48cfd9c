"""Signals other apps listen to. ``balance_fell_below_auto_topup`` is sent once per crossing of the
organization's auto top-up threshold (``Organization.auto_topup_below``, null when off), after the charge
commits. The check is one comparison on the organization row the charge already has: no query."""

from django.db import transaction
from django.dispatch import Signal

balance_fell_below_auto_topup = Signal()  # kwargs: organization_id, balance


def auto_topup_check(organization, before: int, after: int) -> None:
    threshold = organization.auto_topup_below
    if threshold is not None and after < threshold <= before:
        organization_id = organization.pk
        # robust: a listener's failure is logged and never turns a committed charge into an error answer.
        transaction.on_commit(
            lambda: balance_fell_below_auto_topup.send_robust(
                sender=type(organization), organization_id=organization_id, balance=after
            ),
            robust=True,
        )
