"""The charge is one PostgreSQL function (saldo_usage_charge); the read side of "spendable" and "expired but not yet
swept" is CreditLotQuerySet. They state the expiry rule in two languages, so this test drives random histories
(grants with random validity, single and batch charges, negative adjustments, expiry runs, the clock moving,
sometimes onto a lot's exact expiry instant) and checks after every step that the function, the querysets and a
plain Python model of the lots all agree: which lot the function spent, whether it could charge at all, the
balance it answered, the balance and lots every read shows, and the ledger audit."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credits.models import CreditLot, MessageUsage
from credits.selectors import balance_and_lots, balance_for, ledger_audit, lots_for
from credits.services import (
    InsufficientCredits,
    UsageMessage,
    credits_adjust,
    lot_grant,
    lots_expire,
    usage_charge,
    usage_charge_batch,
)
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))

operations = st.one_of(
    st.tuples(st.just("grant"), st.integers(1, 5), st.integers(1, 72)),  # credits, validity in hours
    st.tuples(st.just("charge"), st.just(0), st.just(0)),
    st.tuples(st.just("batch"), st.integers(1, 8), st.just(0)),  # messages
    st.tuples(st.just("adjust"), st.integers(1, 4), st.just(0)),  # credits taken
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
    st.tuples(st.just("wait"), st.integers(1, 48), st.just(0)),  # hours
    st.tuples(st.just("to_next_expiry"), st.just(0), st.just(0)),  # the clock lands on a lot's expires_at exactly
)


@dataclass
class ModelLot:
    id: object
    remaining: int
    expires_at: datetime


class Model:
    """What the rules say, in plain Python: spendable means credits left and now < expires_at."""

    def __init__(self):
        self.lots: list[ModelLot] = []

    def spendable(self, now):
        return sorted(
            (lot for lot in self.lots if lot.remaining > 0 and now < lot.expires_at),
            key=lambda lot: (lot.expires_at, str(lot.id)),
        )

    def balance(self, now):
        return sum(lot.remaining for lot in self.spendable(now))

    def take(self, now, n):
        for lot in self.spendable(now):
            if n == 0:
                break
            taken = min(n, lot.remaining)
            lot.remaining -= taken
            n -= taken

    def expire(self, now):
        for lot in self.lots:
            if not now < lot.expires_at:
                lot.remaining = 0


def check_reads_agree(organization, model, now):
    expected_lots = [(lot.id, lot.remaining) for lot in model.spendable(now)]
    assert balance_for(organization, now=now) == model.balance(now)
    assert [(lot.id, lot.remaining) for lot in lots_for(organization, now=now)] == expected_lots
    balance, lots = balance_and_lots(organization, now=now)
    assert balance == model.balance(now)
    assert [(lot["id"], lot["remaining"]) for lot in lots] == expected_lots
    spendable_ids = set(CreditLot.objects.filter(organization=organization).spendable(now).values_list("id", flat=True))
    unswept_ids = set(
        CreditLot.objects.filter(organization=organization).expired_unswept(now).values_list("id", flat=True)
    )
    assert spendable_ids == {lot.id for lot in model.spendable(now)}
    assert unswept_ids == {lot.id for lot in model.lots if lot.remaining > 0 and not now < lot.expires_at}
    audit = ledger_audit(organization.pk)
    assert audit["ok"], audit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(operations, min_size=1, max_size=25))
def test_the_charge_function_and_the_querysets_always_agree(history):
    organization = OrganizationFactory()
    model = Model()
    ids = count()
    with time_machine.travel(START, tick=False) as clock:
        for op, a, b in history:
            now = datetime.now(tz=START.tzinfo)
            if op == "grant":
                lot = lot_grant(
                    organization=organization,
                    credits=a,
                    source="grant",
                    reason="agreement test",
                    granted_at=now,
                    expires_at=now + timedelta(hours=b),
                )
                model.lots.append(ModelLot(lot.id, a, lot.expires_at))
            elif op == "charge":
                expected = model.spendable(now)
                message_id = f"m{next(ids)}"
                if expected:
                    result = usage_charge(organization=organization, message_id=message_id, direction="outbound")
                    model.take(now, 1)
                    assert (
                        MessageUsage.objects.get(organization=organization, message_id=message_id).lot_id
                        == expected[0].id
                    )
                    assert result.balance == model.balance(now)
                else:
                    with pytest.raises(InsufficientCredits):
                        usage_charge(organization=organization, message_id=message_id, direction="outbound")
            elif op == "batch":
                available = model.balance(now)
                messages = [UsageMessage(f"m{next(ids)}", "inbound") for _ in range(a)]
                results, balance = usage_charge_batch(organization=organization, messages=messages)
                charged = min(a, available)
                model.take(now, charged)
                assert [r["status"] for r in results] == ["charged"] * charged + ["insufficient_credits"] * (
                    a - charged
                )
                assert balance == model.balance(now)
            elif op == "adjust":
                if a <= model.balance(now):
                    credits_adjust(organization=organization, credits=-a, reason="agreement test")
                    model.take(now, a)
                else:
                    with pytest.raises(InsufficientCredits):
                        credits_adjust(organization=organization, credits=-a, reason="agreement test")
            elif op == "expire":
                lots_expire(now=now)
                model.expire(now)
            elif op == "wait":
                clock.shift(timedelta(hours=a))
            elif op == "to_next_expiry":
                upcoming = [lot.expires_at for lot in model.lots if lot.expires_at > now]
                if upcoming:
                    clock.move_to(min(upcoming))
            check_reads_agree(organization, model, datetime.now(tz=START.tzinfo))
