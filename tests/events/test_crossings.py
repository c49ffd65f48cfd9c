"""Threshold crossings from the charge path (single and batch), expiry and reminders: once per crossing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.services import organization_api_access_set
from credits.reminders import credits_remind
from credits.services import (
    InsufficientCredits,
    UsageMessage,
    credits_adjust,
    lot_grant,
    lots_expire,
    usage_charge,
    usage_charge_batch,
)
from events.models import Event

pytestmark = pytest.mark.django_db


def types(organization):
    return list(Event.objects.filter(organization=organization).order_by("created_at").values_list("type", flat=True))


@pytest.fixture
def low_org(organization):
    organization.low_balance_threshold = 10
    organization.save()
    return organization


def charge(org, n, prefix="m"):
    for i in range(n):
        usage_charge(organization=org, message_id=f"{prefix}-{i}", direction="outbound")


def test_it_emits_credits_low_once_when_charges_cross_the_threshold(low_org, staff):
    lot_grant(organization=low_org, credits=15, source="grant")
    charge(low_org, 5)  # 15 → 10: not below yet
    assert types(low_org) == []
    charge(low_org, 4, "n")  # 10 → 6: crossed once
    assert types(low_org) == ["credits.low"]
    event = Event.objects.get()
    assert event.payload == {"balance": 9, "threshold": 10}


def test_it_emits_depleted_at_zero_and_once_for_refused_charges(low_org):
    lot_grant(organization=low_org, credits=3, source="grant")
    charge(low_org, 3)
    for i in range(3):
        with pytest.raises(InsufficientCredits):
            usage_charge(organization=low_org, message_id=f"late-{i}", direction="outbound")
    assert types(low_org) == ["credits.depleted"]  # 3 < 10 from the start: no crossing of the threshold
    lot_grant(organization=low_org, credits=20, source="grant")
    charge(low_org, 20, "again")
    assert types(low_org) == ["credits.depleted", "credits.low", "credits.depleted"]


def test_a_replayed_charge_emits_nothing_more(low_org):
    lot_grant(organization=low_org, credits=10, source="grant")
    usage_charge(organization=low_org, message_id="same", direction="outbound")
    usage_charge(organization=low_org, message_id="same", direction="outbound")
    assert types(low_org) == ["credits.low"]


def test_batch_charges_cross_once_and_refusals_deplete(low_org):
    lot_grant(organization=low_org, credits=12, source="grant")
    messages = [UsageMessage(f"b-{i}", "outbound") for i in range(15)]
    results, balance = usage_charge_batch(organization=low_org, messages=messages)
    assert balance == 0
    assert types(low_org) == ["credits.low", "credits.depleted"]


def test_a_negative_adjustment_can_cross(low_org, staff):
    lot_grant(organization=low_org, credits=12, source="grant")
    credits_adjust(organization=low_org, credits=-5, reason="correction", actor=staff)
    assert types(low_org) == ["credits.low"]


def test_expiry_and_reminders_emit_expiring_once_per_lot_and_expired(low_org):
    now = timezone.now()
    lot = lot_grant(
        organization=low_org, credits=50, source="grant", granted_at=now, expires_at=now + timedelta(days=2)
    )
    credits_remind()
    credits_remind()
    assert types(low_org) == ["credits.expiring"]
    assert Event.objects.get().payload["lot"]["id"] == str(lot.pk)
    with time_machine.travel(now + timedelta(days=3)):
        lots_expire()
        lots_expire()
    assert types(low_org) == ["credits.expiring", "credits.expired", "credits.low", "credits.depleted"]
    expired = Event.objects.get(type="credits.expired")
    assert expired.payload["expired_credits"] == 50 and expired.payload["balance"] == 0


def test_api_suspension_and_restore_emit(organization, staff):
    organization_api_access_set(organization=organization, suspended=True, actor=staff, reason="abuse")
    organization_api_access_set(organization=organization, suspended=True, actor=staff, reason="again")
    organization_api_access_set(organization=organization, suspended=False, actor=staff, reason="fixed")
    assert types(organization) == ["api.suspended", "api.restored"]
    assert Event.objects.get(type="api.suspended").payload["reason"] == "abuse"
