"""Meta's pricing rules, one at a time, through the real endpoint."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from conversations import rating
from conversations.models import Conversation, RateCard
from conversations.rating import market_for

from .helpers import post, status_payload

pytestmark = pytest.mark.django_db


def ts(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def cbp(client, *, wamid, conv, category, at, status="delivered", recipient="6281234567890", expiration=None):
    return post(
        client,
        status_payload(
            wamid=wamid,
            status=status,
            timestamp=at,
            recipient=recipient,
            conversation_id=conv,
            category=category,
            pricing_model="CBP",
            expiration=expiration,
        ),
    )


def pmp(client, *, wamid, category, at, status="delivered", recipient="6281234567890", pricing_type="regular"):
    return post(
        client,
        status_payload(
            wamid=wamid,
            status=status,
            timestamp=at,
            recipient=recipient,
            category=category,
            pricing_model="PMP",
            pricing_type=pricing_type,
        ),
    )


@pytest.mark.parametrize(
    ("number", "country", "calling_code"),
    [
        ("6281234567890", "ID", 62),
        ("16505551234", "US", 1),
        ("14165551234", "CA", 1),
        ("+65 8123 4567", "SG", 65),
        ("PHONE_NUMBER", "", None),
        ("", "", None),
        ("999", "", None),
    ],
)
def test_it_reads_the_market_from_the_recipient_number(number, country, calling_code):
    assert market_for(number) == rating.Market(country, calling_code)


@pytest.mark.parametrize(("category", "price"), [("marketing", 657), ("utility", 321), ("authentication", 430)])
def test_a_cbp_conversation_in_indonesia_is_rated_by_its_category(client, number, category, price):
    cbp(client, wamid="w1", conv="c1", category=category, at=ts(2025, 3, 10, 8))
    conversation = Conversation.objects.get()
    assert (conversation.category, conversation.market, conversation.price) == (category, "ID", Decimal(price))


def test_messages_of_one_conversation_count_once_and_categories_count_apart(client, number):
    cbp(client, wamid="w1", conv="c-mkt", category="marketing", at=ts(2025, 3, 10, 8))
    cbp(client, wamid="w2", conv="c-mkt", category="marketing", at=ts(2025, 3, 10, 9))
    cbp(client, wamid="w3", conv="c-utl", category="utility", at=ts(2025, 3, 10, 9))
    assert sorted(Conversation.objects.values_list("category", "price")) == [
        ("marketing", Decimal("657")),
        ("utility", Decimal("321")),
    ]


def test_sent_then_failed_never_charges(client, number):
    cbp(client, wamid="w1", conv="c1", category="marketing", at=ts(2025, 3, 10, 8), status="sent")
    post(client, status_payload(wamid="w1", status="failed", timestamp=ts(2025, 3, 10, 8, 1)))
    pmp(client, wamid="w2", category="marketing", at=ts(2025, 8, 1), status="sent")
    post(client, status_payload(wamid="w2", status="failed", timestamp=ts(2025, 8, 1, 0, 1)))
    assert Conversation.objects.count() == 0


def test_service_conversations_are_free_from_november_2024(client, number):
    cbp(client, wamid="w1", conv="c1", category="service", at=ts(2024, 11, 2))
    conversation = Conversation.objects.get()
    assert (conversation.price, conversation.free_reason) == (0, "free_service")


def test_service_conversations_before_the_free_tier_are_paid(client, number):
    cbp(client, wamid="w1", conv="c1", category="service", at=ts(2023, 5, 20))
    conversation = Conversation.objects.get()
    assert (conversation.price, conversation.free_reason) == (Decimal("341"), "")


def test_the_first_1000_service_conversations_of_a_waba_month_are_free(client, number, monkeypatch):
    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 2)
    # Arrive out of order: the free ones are the first two that opened, not the first two that arrived.
    for i, day in enumerate([5, 3, 9, 1]):
        cbp(client, wamid=f"w{i}", conv=f"c-day{day}", category="service", at=ts(2024, 2, day))
    cbp(client, wamid="w-mkt", conv="c-mkt", category="marketing", at=ts(2024, 2, 1))
    free = dict(Conversation.objects.filter(category="service").values_list("key", "free_reason"))
    assert free == {"c-day1": "free_tier", "c-day3": "free_tier", "c-day5": "", "c-day9": ""}
    # Another month starts again.
    cbp(client, wamid="w-march", conv="c-march", category="service", at=ts(2024, 3, 1))
    assert Conversation.objects.get(key="c-march").free_reason == "free_tier"


def test_free_entry_point_conversations_are_free_for_72_hours(client, number):
    post(
        client,
        status_payload(
            wamid="w1",
            status="delivered",
            timestamp=ts(2024, 6, 1, 10),
            conversation_id="fep",
            category="referral_conversion",
            origin="referral_conversion",
            pricing_model="CBP",
            expiration=ts(2024, 6, 4, 10),
            billable=False,
        ),
    )
    conversation = Conversation.objects.get()
    assert (conversation.price, conversation.free_reason) == (0, "free_entry_point")
    assert conversation.opened_at == datetime(2024, 6, 1, 10, tzinfo=UTC)


def test_pmp_charges_each_delivered_template_message(client, number):
    pmp(client, wamid="w1", category="marketing", at=ts(2025, 7, 2))
    pmp(client, wamid="w2", category="marketing", at=ts(2025, 7, 2, 0, 1))
    pmp(client, wamid="w2", category="marketing", at=ts(2025, 7, 2, 0, 1), status="read")
    pmp(client, wamid="w3", category="utility", at=ts(2025, 7, 2), pricing_type="free_customer_service")
    pmp(client, wamid="w4", category="marketing", at=ts(2025, 7, 2), pricing_type="free_entry_point")
    pmp(client, wamid="w5", category="service", at=ts(2025, 7, 2), pricing_type="free_customer_service")
    rows = sorted(Conversation.objects.values_list("key", "category", "price", "free_reason"))
    assert rows == [
        ("w1", "marketing", Decimal("657"), ""),
        ("w2", "marketing", Decimal("657"), ""),
        ("w3", "utility", Decimal("0"), "free_customer_service"),
        ("w4", "marketing", Decimal("0"), "free_entry_point"),
        ("w5", "service", Decimal("0"), "free_customer_service"),
    ]


def test_without_a_pricing_model_the_date_decides(client, number):
    post(
        client,
        status_payload(
            wamid="w1", status="delivered", timestamp=ts(2025, 6, 30, 16), conversation_id="c1", category="marketing"
        ),
    )
    # 17:00 UTC is midnight on 1 July in Jakarta, the WABA's time zone: per-message pricing from then on.
    post(client, status_payload(wamid="w2", status="delivered", timestamp=ts(2025, 6, 30, 17), category="marketing"))
    assert sorted(Conversation.objects.values_list("pricing_model", "key")) == [("CBP", "c1"), ("PMP", "w2")]


def test_old_category_spellings_are_understood(client, number):
    cbp(client, wamid="w1", conv="c1", category="business_initiated", at=ts(2023, 3, 1))
    cbp(client, wamid="w2", conv="c2", category="user_initiated", at=ts(2023, 3, 1))
    pmp(client, wamid="w3", category="marketing_lite", at=ts(2025, 8, 1))
    assert sorted(Conversation.objects.values_list("key", "category")) == [
        ("c1", "marketing"),
        ("c2", "service"),
        ("w3", "marketing"),
    ]


def test_the_card_in_force_when_the_conversation_opened_rates_it(client, number):
    RateCard.objects.create(
        market="ID", category="marketing", price=Decimal("700"), effective_from=datetime(2025, 8, 1, tzinfo=UTC)
    )
    pmp(client, wamid="july", category="marketing", at=ts(2025, 7, 31, 16, 59))
    pmp(client, wamid="august", category="marketing", at=ts(2025, 8, 1, 0, 1))
    # Statuses for the July message arriving in August do not re-rate it.
    pmp(client, wamid="july", category="marketing", at=ts(2025, 8, 2), status="read")
    prices = dict(Conversation.objects.values_list("key", "price"))
    assert prices == {"july": Decimal("657"), "august": Decimal("700")}


def test_a_market_without_its_own_card_uses_the_other_market(client, number):
    pmp(client, wamid="w1", category="utility", at=ts(2025, 8, 1), recipient="6591234567")
    conversation = Conversation.objects.get()
    assert (conversation.country, conversation.market, conversation.price) == ("SG", "other", Decimal("126"))


def test_traffic_for_an_unknown_number_is_kept_and_given_to_the_organization_that_adds_it(client, organization):
    from conversations.services import whatsapp_number_add

    pmp(client, wamid="w1", category="marketing", at=ts(2025, 8, 1))
    conversation = Conversation.objects.get()
    assert conversation.organization is None
    whatsapp_number_add(organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="1")
    conversation.refresh_from_db()
    assert conversation.organization == organization
