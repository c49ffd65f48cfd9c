"""Message credits: lots, an append-only ledger, message usage and the per-organization balance row.

The balance row is the lock point: every write that changes lots or the ledger of an organization
takes ``SELECT ... FOR UPDATE`` on it first, so all money movements of one organization are serialized.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from core.texts import coded_text

# The descriptions of ledger entries written by Saldo itself, by code (LedgerEntry.description_code). A staff
# member's own words (a grant's reason) have no code: they are shown as written.
LEDGER_DESCRIPTIONS = {
    "purchase": _("Purchase %(order_id)s"),
    "payment_reversed": _("Payment reversed by the gateway (%(status)s) for purchase %(order_id)s"),
    "refund": _("Refunded: %(note)s"),
    "lot_expired": _("Lot expired"),
    "welcome_bonus": _("Welcome bonus for new WhatsApp number"),
}


def _unexpired(at) -> Q:
    """The one definition of expiry (DESIGN: "expiry is a fact of time, the job only writes it down"): a lot is
    worth something strictly before ``expires_at``. The charge function saldo_usage_charge states the same
    condition in SQL; tests/credits/test_agreement.py checks that the two always agree."""
    return Q(expires_at__gt=at)


class CreditLotQuerySet(models.QuerySet):
    def with_credits_left(self):
        return self.filter(remaining__gt=0)

    def spendable(self, at):
        """Lots that can be spent at ``at``: credits left and not expired."""
        return self.with_credits_left().filter(_unexpired(at))

    def expired_unswept(self, at):
        """Lots past expiry whose credits the expiry job has not written down yet: still counted in the
        balance row, never spendable."""
        return self.with_credits_left().exclude(_unexpired(at))

    def with_spendable_flag(self, at):
        """Each lot annotated with ``is_spendable`` (not expired at ``at``), for reads that take every lot with
        credits left in one query and split them."""
        return self.annotate(is_spendable=ExpressionWrapper(_unexpired(at), output_field=BooleanField()))

    def in_spending_order(self):
        """Soonest-expiring first: the order lots are spent in."""
        return self.order_by("expires_at", "id")

    def remaining_sum(self) -> int:
        return self.aggregate(n=Sum("remaining"))["n"] or 0


class CreditBalanceQuerySet(models.QuerySet):
    def with_spendable(self, at):
        """Each balance row annotated with ``spendable``: the row minus its organization's expired-unswept lots,
        in the same query whatever the number of rows (a partial index finds those few lots)."""
        stale = (
            CreditLot.objects.expired_unswept(at)
            .filter(organization_id=OuterRef("organization_id"))
            .order_by()
            .values("organization_id")
            .annotate(n=Sum("remaining"))
            .values("n")
        )
        return self.annotate(spendable=F("balance") - Coalesce(Subquery(stale, output_field=IntegerField()), Value(0)))


class CreditBalance(models.Model):
    """The running balance of one organization: Σ ledger deltas, kept in one row so reads are O(1).

    Lots that are past ``expires_at`` but not yet swept by the expiry job are still counted here;
    ``CreditBalanceQuerySet.with_spendable`` subtracts them so the balance shown is always exact."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="credit_balance"
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when the owners were told the balance fell below the threshold; cleared when it rises again,
    # so each crossing sends one e-mail.
    low_balance_notified_at = models.DateTimeField(null=True, blank=True)

    objects = CreditBalanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit balance")
        verbose_name_plural = _("credit balances")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.organization}: {self.balance}"


class CreditLot(models.Model):
    """Credits granted at once (a purchase, a bonus grant, a positive adjustment), spent soonest-expiring
    first and worthless after ``expires_at``."""

    class Source(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        GRANT = "grant", _("Grant")
        ADJUSTMENT = "adjustment", _("Adjustment")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="credit_lots")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    credits = models.BigIntegerField(_("credits"))
    remaining = models.BigIntegerField(_("remaining"))
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    reason = models.TextField(_("reason"), blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expired_at = models.DateTimeField(null=True, blank=True)
    clawed_back_at = models.DateTimeField(null=True, blank=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    objects = CreditLotQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit lot")
        verbose_name_plural = _("credit lots")
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="credit_lot_credits_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("credits")), name="credit_lot_remaining_in_range"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("granted_at")), name="credit_lot_expires_after_grant"),
            models.UniqueConstraint(
                fields=["organization", "source", "reference"],
                condition=~Q(reference=""),
                name="credit_lot_unique_reference",
            ),
        ]
        indexes = [
            # The spendable lots of an organization, soonest first; also finds expired-unswept lots.
            models.Index(
                fields=["organization", "expires_at"], condition=Q(remaining__gt=0), name="credit_lot_open_idx"
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="credit_lot_expiry_idx"),
            # The admin's lot list, newest first.
            models.Index(fields=["-granted_at"], name="credit_lot_granted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.credits} ({self.remaining} left, expires {self.expires_at:%Y-%m-%d})"

    def is_expired(self, now=None) -> bool:
        """The instance form of ``_unexpired``, for a lot already in hand."""
        return not self.expires_at > (now or timezone.now())


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerImmutable("Ledger rows are never updated; write a correcting row instead.")

    def delete(self):
        raise LedgerImmutable("Ledger rows are never deleted; write a correcting row instead.")


class LedgerImmutable(Exception):
    pass


class LedgerEntry(models.Model):
    """One movement of credits. Append-only (invariant 5): a model guard here, and on PostgreSQL a
    trigger that refuses UPDATE and DELETE (migration 0002)."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        GRANT = "grant", _("Grant")
        USAGE = "usage", _("Usage")
        EXPIRY = "expiry", _("Expiry")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")

    id = models.BigAutoField(primary_key=True)
    # Indexed by ledger_org_id_idx (organization_id, id DESC); a second single-column index only slows inserts.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="credit_ledger", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    delta = models.BigIntegerField(_("delta"))
    # The balance row after this entry: Σ deltas so far, expired-unswept lots included until the expiry job
    # writes them down (MessageUsage.spendable_after is what the customer was shown).
    balance_after = models.BigIntegerField(_("balance after"))
    lot = models.ForeignKey(CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # ``reason`` as written (English for Saldo's own texts: the audit trail and the API read it); the code and
    # parameters it was written from, so that pages show it in the reader's language (``description``).
    # Database defaults: the usage charge function (migration 0010) inserts rows without them.
    description_code = models.CharField(_("description code"), max_length=32, blank=True, default="", db_default="")
    description_params = models.JSONField(_("description parameters"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(condition=~Q(delta=0), name="ledger_delta_not_zero"),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="ledger_org_id_idx"),
            # The staff console's figures: credits sold, consumed, expired per period over all organizations.
            models.Index(fields=["kind", "created_at"], name="ledger_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d} → {self.balance_after}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerImmutable("Ledger rows are never updated; write a correcting row instead.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerImmutable("Ledger rows are never deleted; write a correcting row instead.")

    @property
    def abs_delta(self) -> int:
        """The size of the movement, for statements that show the sign apart."""
        return abs(self.delta)

    @property
    def description(self) -> str:
        """What this entry was for, in the active language; rows without a code show their stored reason."""
        return coded_text(LEDGER_DESCRIPTIONS, self.description_code, self.description_params, self.reason)


class MessageUsage(models.Model):
    """One charged chatbot message: the usage log, range-partitioned by local month of ``charged_at``
    (credits/partitions.py; the primary key in PostgreSQL is (id, charged_at), as partitioning requires).
    Exactly-once (invariant 3) is kept by :class:`MessageUsageKey` within the deduplication window; per-day
    counts for the dashboard by :class:`UsageDay`. Both are written in the charge's transaction."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    id = models.BigAutoField(primary_key=True)
    # No foreign-key constraints on the usage log: each one is a per-row trigger on every charge, and neither
    # organizations nor lots are ever deleted (PROTECT everywhere else). Indexed by usage_org_charged_idx.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        related_name="message_usage",
        db_index=False,
        db_constraint=False,
    )
    message_id = models.CharField(_("message id"), max_length=128)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    charged_at = models.DateTimeField(_("charged at"), default=timezone.now)
    credits = models.IntegerField(default=1)
    # Not indexed: nothing looks usage up by lot (lots are never deleted), and every charge pays for an index.
    lot = models.ForeignKey(
        CreditLot,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="usage",
        db_index=False,
        db_constraint=False,
    )
    # The spendable balance after this charge, as the API answered it (and answers it again on a replay):
    # the balance row minus expired-unswept lots. Not the ledger's balance_after.
    spendable_after = models.BigIntegerField(_("spendable balance after"))

    class Meta:
        verbose_name = _("message usage")
        verbose_name_plural = _("message usage")
        ordering = ["-id"]
        # An organization's usage by time (the admin's filtered list, exports). message_id look-ups never come here:
        # they go to MessageUsageKey's primary key.
        indexes = [models.Index(fields=["organization", "charged_at"], name="usage_org_charged_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.direction})"


class MessageUsageKey(models.Model):
    """The deduplication key of a message charged within the window (USAGE_DEDUP_WINDOW_DAYS): unique
    (organization, message_id), with what a replay answers. Not partitioned, so the key is global; pruned by
    credits.partitions.usage_keys_prune once the window (+ margin) has passed since the charge. A message whose
    occurred_at is older than the window is refused (409 message_id_expired): it can no longer be proven new."""

    pk = models.CompositePrimaryKey("organization", "message_id")
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    message_id = models.CharField(max_length=128)
    direction = models.CharField(max_length=8)
    occurred_at = models.DateTimeField(null=True, blank=True)
    spendable_after = models.BigIntegerField()
    charged_at = models.DateTimeField()

    class Meta:
        verbose_name = _("message usage key")
        verbose_name_plural = _("message usage keys")
        # Pruning reads keys by charge time; rows arrive in that order, so a BRIN index costs almost nothing.
        # autosummarize: autovacuum summarizes each range as it fills (an unsummarized range matches any search).
        indexes = [BrinIndex(fields=["charged_at"], name="usage_key_charged_brin", autosummarize=True)]

    def __str__(self) -> str:
        return self.message_id


class UsageDay(models.Model):
    """Charged messages per organization, local day (TIME_ZONE) and direction, kept in the charge's transaction:
    the dashboard's chart and statements read it, so they stay exact after old usage partitions are dropped."""

    pk = models.CompositePrimaryKey("organization", "day", "direction")
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    day = models.DateField()
    direction = models.CharField(max_length=8)
    messages = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("usage per day")
        verbose_name_plural = _("usage per day")
        # Month close reads one month of every organization: by day, so it costs that month, not the history.
        indexes = [models.Index(fields=["day"], name="usage_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.direction}: {self.messages}"
