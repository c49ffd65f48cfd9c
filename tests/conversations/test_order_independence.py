"""Issue 17: the same set of deliveries, in any order, duplicated or not, split into any batches, gives identical
conversations, charges and monthly totals. Real captured and Meta-documented webhooks
(``../shared/fixtures/whatsapp/``) and generated ones around every boundary that matters: a month end in
Jakarta, both pricing switches, the free tier, volume tiers, read before delivered, no delivered at all."""

import copy
import json
import random
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import rating
from conversations.models import Conversation, WhatsAppNumber
from conversations.services import rate_card_import_apply, rate_card_import_preview, statuses_apply
from conversations.services.charging import volume_tier_settle

from .helpers import load_fixture

pytestmark = pytest.mark.django_db

TIERS = """Market,Currency,Category,Tier,Rate
Indonesia,IDR,Utility,1-2,321
Indonesia,IDR,Utility,3-4,305
Indonesia,IDR,Utility,5+,289
"""


def ts(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def one_status_body(value: dict, status: dict, waba_id: str) -> bytes:
    value = {**value, "statuses": [status]}
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def split(payload: dict) -> list[bytes]:
    """A captured delivery → one body per status, so the test can reorder statuses across deliveries."""
    out = []
    for entry in payload["entry"]:
        for change in entry["changes"]:
            value = {k: v for k, v in change["value"].items() if k != "statuses"}
            for status in change["value"].get("statuses", []):
                out.append(one_status_body(value, status, entry["id"]))
    return out


def real_bodies() -> list[bytes]:
    bodies = []
    fixture_04 = load_fixture("04_status_CBP_service_sent_delivered_read_failed_pywa_fixture.json")
    for name in ["sent", "delivered", "read", "failed"]:
        bodies += split(fixture_04[name])
    for name in [
        "08_status_sent_marketing_PMP_regular_meta_docs.json",
        "12_status_delivered_utility_PMP_free_customer_service_real_CO_2025.json",
        "14_status_sent_referral_conversion_FEP_CBP_360dialog_docs.json",
    ]:
        bodies += split(load_fixture(name))
    # Fixture 08's message, delivered and read, with fixture 15's authentication-international pricing.
    fragment = load_fixture("15_pricing_fragment_authentication_international_meta_docs.json")
    base = load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json")
    for status, delta in [("delivered", 3), ("read", 40)]:
        payload = copy.deepcopy(base)
        entry = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        entry.update(status=status, timestamp=str(int(entry["timestamp"]) + delta), recipient_id="6281234567890")
        entry["id"] = "wamid.auth-intl"
        entry["pricing"] = dict(fragment["pricing"], category="authentication-international")
        bodies += split(payload)
    return bodies


SECOND_WABA = ("106540352242922", "102290129340398")  # registered to the same organization by ``fixture_numbers``


def generated_bodies() -> list[bytes]:
    rng = random.Random(17)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "62811", "phone_number_id": "PNID-TEST"},
    }
    bodies = []

    def emit(wamid, name, at, pricing=None, conversation=None, recipient="6281234567890", number=None):
        status = {"id": wamid, "status": name, "timestamp": str(at), "recipient_id": recipient}
        if pricing:
            status["pricing"] = pricing
        if conversation:
            status["conversation"] = conversation
        if number is None:
            bodies.append(one_status_body(value, status, "WABA-TEST"))
        else:
            pnid, waba = number
            metadata = {"display_phone_number": pnid, "phone_number_id": pnid}
            bodies.append(one_status_body({**value, "metadata": metadata}, status, waba))

    # PMP around the end of July in Jakarta (17:00 UTC): utility (tiered), marketing, authentication-international.
    for i in range(9):
        category = ["utility", "utility", "marketing", "utility", "authentication-international"][i % 5]
        delivered = ts(2025, 7, 31, 16, 58) + rng.randrange(240)
        pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}
        wamid = f"wamid.gen.pmp.{i}"
        emit(wamid, "sent", delivered - 2, pricing)
        if i % 3 != 2:
            emit(wamid, "delivered", delivered, pricing)
        emit(wamid, "read", delivered + 90 + rng.randrange(60), None if i % 2 else pricing)
    # The same organization's other WABA (a fixture number): its utility messages share the month's volume.
    for i in range(4):
        delivered = ts(2025, 7, 31, 16, 50) + rng.randrange(900)
        pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
        wamid = f"wamid.gen.waba2.{i}"
        emit(wamid, "delivered", delivered, pricing, number=SECOND_WABA)
        emit(wamid, "read", delivered + 30 + rng.randrange(60), pricing, number=SECOND_WABA)
    # CBP in the free tier era (October 2023): service conversations of two messages, the later one delivered first.
    for c in range(4):
        opened = ts(2023, 10, 10 + c, 9)
        conversation = {"id": f"conv-svc-{c}", "origin": {"type": "service"}}
        pricing = {"billable": True, "pricing_model": "CBP", "category": "service"}
        for m, offset in enumerate([30, 0]):
            wamid = f"wamid.gen.cbp.{c}.{m}"
            emit(
                wamid,
                "sent",
                opened + offset - 1,
                pricing,
                dict(conversation, expiration_timestamp=str(opened + 86460)),
            )
            emit(wamid, "delivered", opened + offset, pricing, conversation)
    # Around the service-free switch (1 Nov 2024, Jakarta) and the PMP switch (1 Jul 2025, Jakarta), no model sent.
    for k, at in enumerate([ts(2024, 10, 31, 16, 59), ts(2024, 10, 31, 17, 1)]):
        emit(
            f"wamid.gen.sw1.{k}",
            "delivered",
            at,
            {"billable": True, "category": "service"},
            {"id": f"conv-sw1-{k}", "origin": {"type": "service"}},
        )
    for k, at in enumerate([ts(2025, 6, 30, 16, 59), ts(2025, 6, 30, 17, 1)]):
        emit(
            f"wamid.gen.sw2.{k}",
            "delivered",
            at,
            {"billable": True, "category": "marketing"},
            {"id": f"conv-sw2-{k}", "origin": {"type": "marketing"}},
        )
    return bodies


def apply_in_batches(bodies: list[bytes], cuts: list[int]) -> None:
    numbers = {n.phone_number_id: n for n in WhatsAppNumber.objects.all()}
    bounds = sorted({0, len(bodies), *[c % (len(bodies) + 1) for c in cuts]})
    for start, end in zip(bounds, bounds[1:], strict=False):
        updates = [u for body in bodies[start:end] for u in rating.parse_delivery(body).statuses]
        statuses_apply(updates=updates, numbers=numbers)


def outcome() -> tuple:
    conversations = sorted(
        Conversation.objects.values_list(
            "phone_number_id", "pricing_model", "key", "message_id", "opened_at", "month", "category",
            "rate_category", "market", "rate_card_id", "price", "free_reason", "tier_position",
        )
    )  # fmt: skip
    totals = sorted(Conversation.objects.values_list("organization_id", "month").annotate(total=Sum("price")))
    return conversations, totals


@pytest.fixture
def world(number, fixture_numbers, monkeypatch):
    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 2)
    preview = rate_card_import_preview(
        file_name="t.csv", content=TIERS.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    rate_card_import_apply(rate_card_import=preview, actor=None)
    bodies = real_bodies() + generated_bodies()
    with transaction.atomic():
        apply_in_batches(sorted(bodies), [])
        reference = outcome()
        transaction.set_rollback(True)
    assert len(reference[0]) >= 20  # the set really charges things
    assert {row[12] for row in reference[0]} >= {1, 2, 3}  # volume tiers reached
    assert "free_tier" in {row[11] for row in reference[0]}
    # Volume tiers count across the organization's WABAs: the second WABA's messages sit past its own count.
    second = [row for row in reference[0] if row[0] == SECOND_WABA[0] and row[7] == "utility"]
    assert second and any(row[12] > sum(1 for r in second if r[5] == row[5]) for row in second)
    return bodies, reference


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_any_duplicates_any_batches_give_the_same_bill(world, data):
    bodies, reference = world
    order = data.draw(st.permutations(range(len(bodies))), label="order")
    duplicates = data.draw(st.lists(st.integers(0, len(bodies) - 1), max_size=len(bodies)), label="duplicates")
    cuts = data.draw(st.lists(st.integers(0, 10_000), max_size=6), label="batch cuts")
    stream = [bodies[i] for i in order]
    for position, index in enumerate(duplicates):
        stream.insert((position * 7919) % (len(stream) + 1), bodies[index])
    with transaction.atomic():
        apply_in_batches(stream, cuts)
        assert outcome() == reference
        assert full_recount_changes() == 0  # each batch settled only from its earliest change: nothing left over
        transaction.set_rollback(True)


def full_recount_changes() -> int:
    """Volume tier positions counted again over every whole month: what the batches' incremental settlement
    (from the earliest moment each changed) missed, if anything."""
    groups = (
        Conversation.objects.filter(pricing_model="PMP", rate_category__in=rating.TIERED_CATEGORIES)
        .values_list("organization_id", "waba_id", "market", "rate_category", "month")
        .distinct()
    )
    return sum(
        volume_tier_settle(
            organization_id=org, waba_id="" if org else waba, market=market, rate_category=category, month=month
        )
        for org, waba, market, category, month in groups
    )
