from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from credits.models import CreditBalance, CreditLot, LedgerEntry, LedgerImmutable, MessageUsage
from credits.selectors import balance_for, ledger_audit, lots_for
from credits.services import (
    InsufficientCredits,
    UsageConflict,
    UsageMessage,
    credits_adjust,
    lot_clawback,
    lot_grant,
    lots_expire,
    usage_charge,
    usage_charge_batch,
)

pytestmark = pytest.mark.django_db


def charge(org, mid, direction="outbound", occurred_at=None):
    return usage_charge(organization=org, message_id=mid, direction=direction, occurred_at=occurred_at)


def test_it_grants_a_lot_with_default_validity_and_one_ledger_row(organization, settings):
    settings.CREDIT_VALIDITY_DAYS = 30
    lot = lot_grant(organization=organization, credits=1000, source="purchase", reference="P-1")
    assert lot.remaining == 1000
    assert lot.expires_at - lot.granted_at == timedelta(days=30)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.delta, entry.balance_after, entry.lot_id) == ("purchase", 1000, 1000, lot.pk)
    assert balance_for(organization) == 1000


def test_it_returns_the_same_lot_for_a_replayed_reference(organization):
    first = lot_grant(organization=organization, credits=1000, source="purchase", reference="P-1")
    again = lot_grant(organization=organization, credits=1000, source="purchase", reference="P-1")
    assert again.pk == first.pk
    assert LedgerEntry.objects.count() == 1
    assert balance_for(organization) == 1000


@pytest.mark.parametrize("credits", [0, -5, 1.5, True, "10"])
def test_it_refuses_a_grant_that_is_not_a_positive_integer(organization, credits):
    with pytest.raises(ValueError):
        lot_grant(organization=organization, credits=credits, source="grant")


def test_it_spends_the_soonest_expiring_lot_first(organization, grant):
    late = grant(organization, 5, days=20)
    soon = grant(organization, 2, days=3)
    middle = grant(organization, 3, days=10)
    for i in range(6):
        charge(organization, f"m{i}")
    late.refresh_from_db(), soon.refresh_from_db(), middle.refresh_from_db()
    assert (soon.remaining, middle.remaining, late.remaining) == (0, 0, 4)
    assert [u.lot_id for u in MessageUsage.objects.order_by("id")] == [soon.pk] * 2 + [middle.pk] * 3 + [late.pk]
    assert ledger_audit(organization.pk)["ok"]


def test_it_charges_a_message_once_and_replays_the_same_result(organization, grant):
    grant(organization, 10)
    first = charge(organization, "abc")
    again = charge(organization, "abc")
    assert first.created and not again.created
    assert again.as_dict() == first.as_dict() == {"message_id": "abc", "charged": 1, "balance": 9}
    assert balance_for(organization) == 9
    assert MessageUsage.objects.count() == 1


def test_it_refuses_the_same_id_with_other_fields(organization, grant):
    grant(organization, 10)
    charge(organization, "abc", "inbound")
    with pytest.raises(UsageConflict):
        charge(organization, "abc", "outbound")
    assert balance_for(organization) == 9


def test_it_refuses_a_debit_beyond_the_balance(organization, grant):
    grant(organization, 1)
    charge(organization, "a")
    with pytest.raises(InsufficientCredits) as exc:
        charge(organization, "b")
    assert exc.value.balance == 0
    assert not MessageUsage.objects.filter(message_id="b").exists()
    assert CreditBalance.objects.get().balance == 0


def test_it_refuses_a_charge_for_an_organization_that_never_had_credits(organization):
    with pytest.raises(InsufficientCredits):
        charge(organization, "a")


def test_it_never_spends_an_expired_lot_even_before_the_expiry_job(organization):
    now = timezone.now()
    lot_grant(organization=organization, credits=5, source="grant", granted_at=now, expires_at=now + timedelta(days=1))
    with time_machine.travel(now + timedelta(days=1, seconds=1)):
        assert balance_for(organization) == 0
        assert list(lots_for(organization)) == []
        with pytest.raises(InsufficientCredits):
            charge(organization, "late")
        results, balance = usage_charge_batch(organization=organization, messages=[UsageMessage("late2", "inbound")])
        assert results[0]["status"] == "insufficient_credits" and balance == 0
        assert ledger_audit(organization.pk)["ok"]


def test_it_shows_the_exact_balance_when_some_lots_expired_unswept(organization):
    now = timezone.now()
    lot_grant(organization=organization, credits=5, source="grant", granted_at=now, expires_at=now + timedelta(days=1))
    lot_grant(organization=organization, credits=7, source="grant", granted_at=now, expires_at=now + timedelta(days=9))
    with time_machine.travel(now + timedelta(days=2)):
        assert balance_for(organization) == 7
        assert charge(organization, "x").balance == 6


def test_it_expires_lots_once_with_one_ledger_row_each(organization, grant):
    now = timezone.now()
    a = lot_grant(
        organization=organization, credits=5, source="grant", granted_at=now, expires_at=now + timedelta(days=1)
    )
    grant(organization, 7, days=10)
    charge(organization, "m1")
    with time_machine.travel(now + timedelta(days=2)):
        assert lots_expire() == 1
        assert lots_expire() == 0
    a.refresh_from_db()
    assert a.remaining == 0 and a.expired_at is not None
    expiry = LedgerEntry.objects.get(kind="expiry")
    assert (expiry.delta, expiry.balance_after, expiry.lot_id) == (-4, 7, a.pk)
    assert CreditBalance.objects.get().balance == 7
    assert ledger_audit(organization.pk)["ok"]


def test_it_claws_back_only_the_unspent_part_once(organization, grant):
    lot = grant(organization, 10)
    for i in range(3):
        charge(organization, f"m{i}")
    assert lot_clawback(lot=lot, reason="chargeback", reference="R-1") == 7
    assert lot_clawback(lot=lot, reason="chargeback", reference="R-1") == 0
    assert LedgerEntry.objects.filter(kind="reversal").get().delta == -7
    assert balance_for(organization) == 0
    assert ledger_audit(organization.pk)["ok"]


def test_it_adjusts_up_and_down_with_a_reason(organization, grant, staff):
    grant(organization, 10, days=5)
    credits_adjust(organization=organization, credits=5, reason="goodwill", actor=staff)
    assert balance_for(organization) == 15
    rows = credits_adjust(organization=organization, credits=-12, reason="double grant", actor=staff)
    assert sum(r.delta for r in rows) == -12
    assert balance_for(organization) == 3
    with pytest.raises(InsufficientCredits):
        credits_adjust(organization=organization, credits=-4, reason="too much")
    with pytest.raises(ValueError):
        credits_adjust(organization=organization, credits=1, reason="  ")
    assert ledger_audit(organization.pk)["ok"]


def test_it_refuses_to_update_or_delete_ledger_rows(organization, grant):
    grant(organization, 10)
    entry = LedgerEntry.objects.get()
    entry.delta = 999
    with pytest.raises(LedgerImmutable):
        entry.save()
    with pytest.raises(LedgerImmutable):
        entry.delete()
    with pytest.raises(LedgerImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).update(delta=5)
    with pytest.raises(LedgerImmutable):
        LedgerEntry.objects.all().delete()


def test_it_refuses_raw_sql_updates_and_deletes_of_ledger_rows(organization, grant):
    grant(organization, 10)
    for sql in ("UPDATE credits_ledgerentry SET delta = 5", "DELETE FROM credits_ledgerentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert LedgerEntry.objects.get().delta == 10


def test_it_refuses_a_negative_balance_in_the_database(organization, grant):
    grant(organization, 1)
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalance.objects.update(balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLot.objects.update(remaining=-1)


def test_batch_results_match_single_call_semantics(organization, other_organization, grant):
    grant(organization, 3, days=2)
    grant(organization, 2, days=9)
    grant(other_organization, 3, days=2)
    grant(other_organization, 2, days=9)
    charge(organization, "old", "inbound")
    charge(other_organization, "old", "inbound")
    msgs = [
        UsageMessage("old", "inbound"),  # duplicate of an earlier call
        UsageMessage("old", "outbound"),  # same id, other fields
        UsageMessage("a", "inbound"),
        UsageMessage("a", "inbound"),  # duplicate inside the batch
        UsageMessage("b", "outbound"),
        UsageMessage("c", "outbound"),
        UsageMessage("d", "outbound"),
        UsageMessage("e", "outbound"),  # no credit left
        UsageMessage("e", "outbound"),
    ]
    results, balance = usage_charge_batch(organization=organization, messages=msgs)
    statuses = [r["status"] for r in results]

    singles = []
    for m in msgs:
        try:
            r = usage_charge(organization=other_organization, message_id=m.message_id, direction=m.direction)
            singles.append("charged" if r.created else "duplicate")
        except UsageConflict:
            singles.append("invalid")
        except InsufficientCredits:
            singles.append("insufficient_credits")
    assert (
        statuses
        == singles
        == [
            "duplicate",
            "invalid",
            "charged",
            "duplicate",
            "charged",
            "charged",
            "charged",
            "insufficient_credits",
            "insufficient_credits",
        ]
    )
    assert balance == balance_for(organization) == balance_for(other_organization) == 0
    for org in (organization, other_organization):
        assert ledger_audit(org.pk)["ok"]
    assert list(
        MessageUsage.objects.filter(organization=organization).order_by("id").values_list("spendable_after", flat=True)
    ) == [4, 3, 2, 1, 0]


def test_audit_ledger_command_is_clean_then_reports_a_mismatch(organization, grant, capsys):
    grant(organization, 10)
    charge(organization, "m")
    call_command("audit_ledger")
    CreditBalance.objects.update(balance=3)
    with pytest.raises(SystemExit) as exc:
        call_command("audit_ledger")
    assert exc.value.code == 1
    assert organization.slug in capsys.readouterr().out
