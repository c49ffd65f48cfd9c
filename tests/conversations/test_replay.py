"""A month of generated traffic, replayed twice, shuffled, with duplicates: the totals do not move."""

from datetime import date

import pytest

from conversations import rating, selectors
from conversations.models import Conversation, MessageStatus

from . import traffic
from .helpers import post

pytestmark = pytest.mark.django_db

PRICES = {
    ("ID", "marketing"): 657, ("ID", "utility"): 321, ("ID", "authentication"): 430,
    ("other", "marketing"): 985, ("other", "utility"): 126, ("other", "authentication"): 598,
}  # fmt: skip


def _replay(client, statuses, *, per_delivery):
    for body in traffic.deliveries(
        statuses, per_delivery=per_delivery, phone_number_id="PNID-TEST", waba_id="WABA-TEST"
    ):
        assert post(client, body).status_code == 200


def _expected_pmp_summary(messages):
    categories = {
        c: {"billable": 0, "free": 0, "amount": 0} for c in ("marketing", "utility", "authentication", "service")
    }
    for m in messages:
        if not m.delivered:
            continue
        bucket = categories[m.category]
        if m.category == "service" or m.pricing_type != "regular":
            bucket["free"] += 1
        else:
            bucket["billable"] += 1
            bucket["amount"] += PRICES[("ID" if m.country == "ID" else "other", m.category)]
    return {
        "month": "2025-07",
        "currency": "IDR",
        "categories": categories,
        "total_amount": sum(c["amount"] for c in categories.values()),
    }


def test_a_pmp_month_replayed_twice_shuffled_with_duplicates_gives_the_same_totals(client, number, organization):
    messages = traffic.month_of_messages(year=2025, month=7, count=300, seed=11)
    statuses = traffic.all_statuses(messages)
    _replay(client, statuses, per_delivery=7)
    first = selectors.month_summary(organization=organization, month=date(2025, 7, 1))
    assert first == _expected_pmp_summary(messages)
    assert first["total_amount"] > 0

    _replay(client, traffic.shuffled_with_duplicates(statuses, seed=1), per_delivery=5)
    _replay(client, traffic.shuffled_with_duplicates(statuses, seed=2), per_delivery=13)
    assert selectors.month_summary(organization=organization, month=date(2025, 7, 1)) == first
    assert Conversation.objects.count() == sum(1 for m in messages if m.delivered)
    assert MessageStatus.objects.count() == len(messages)


def test_a_cbp_month_gives_the_same_totals_whatever_the_order(client, number, organization, monkeypatch):
    # A small free tier so that which conversations it covers matters (markets price service differently).
    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 10)
    messages = traffic.month_of_messages(year=2024, month=3, count=250, seed=5, model="CBP")
    statuses = traffic.all_statuses(messages)
    shuffled = traffic.shuffled_with_duplicates(statuses, seed=3)
    _replay(client, shuffled, per_delivery=9)
    first = selectors.month_summary(organization=organization, month=date(2024, 3, 1))
    conversations = {c.key: (c.category, c.price, c.free_reason) for c in Conversation.objects.all()}

    _replay(client, list(reversed(statuses)), per_delivery=4)
    _replay(client, traffic.shuffled_with_duplicates(statuses, seed=4), per_delivery=17)
    assert selectors.month_summary(organization=organization, month=date(2024, 3, 1)) == first
    assert {c.key: (c.category, c.price, c.free_reason) for c in Conversation.objects.all()} == conversations

    delivered_conversations = {m.conversation_id for m in messages if m.delivered}
    assert set(conversations) == delivered_conversations
    assert first["categories"]["service"]["free"] == min(
        10, sum(1 for v in conversations.values() if v[0] == "service")
    )
    assert sum(c["billable"] for c in first["categories"].values()) > 0
