"""Issue 17, a test per rule: the delivered moment decides, each category has its rate, rate cards for every
market from Meta's file, volume tiers, the WABA's time zone. Payloads are Meta's documented shapes
(``helpers.status_payload`` follows fixture 08) or the fixtures under ``tests/fixtures/whatsapp/``."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.models import AuditEntry
from conversations import rating
from conversations.models import (
    ChargeCorrection,
    Conversation,
    RateCard,
    RateCardImport,
    VolumeTierUpdate,
    WebhookEvent,
)
from conversations.services import (
    RateCardFileError,
    rate_card_import_apply,
    rate_card_import_preview,
    whatsapp_number_add,
)

from .helpers import post, status_payload

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"


def ts(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def pmp(client, *, wamid, category="marketing", at, status="delivered", recipient="6281234567890", **extra):
    payload = status_payload(
        wamid=wamid,
        status=status,
        timestamp=at,
        recipient=recipient,
        category=category,
        pricing_model="PMP",
        pricing_type=extra.pop("pricing_type", "regular"),
        **extra,
    )
    return post(client, payload)


def import_card(text: str, *, effective=date(2025, 7, 1), name="card.csv") -> RateCardImport:
    preview = rate_card_import_preview(file_name=name, content=text.encode(), effective_from=effective, actor=None)
    rate_card_import_apply(rate_card_import=preview, actor=None)
    return preview


# --- The delivered moment decides ------------------------------------------------------------------------


def test_a_pmp_message_is_charged_in_the_month_it_was_delivered_even_when_read_arrives_first(client, number):
    # Delivered at 23:59 on 31 July in Jakarta, read at 00:01 on 1 August; the read webhook comes first.
    pmp(client, wamid="w1", at=ts(2025, 7, 31, 17, 1), status="read")
    guessed = Conversation.objects.get()
    assert str(guessed.month) == "2025-08-01"  # the best guess while no delivered status is known
    pmp(client, wamid="w1", at=ts(2025, 7, 31, 16, 59), status="delivered")
    conversation = Conversation.objects.get()  # corrected, never charged twice
    assert conversation.pk == guessed.pk
    assert conversation.opened_at == datetime(2025, 7, 31, 16, 59, tzinfo=UTC)
    assert str(conversation.month) == "2025-07-01"
    correction = ChargeCorrection.objects.get()
    assert correction.conversation == conversation and correction.reason == "late delivered status"
    assert correction.before["month"] == "2025-08-01" and correction.after["month"] == "2025-07-01"
    # Repeats of either status change nothing more.
    pmp(client, wamid="w1", at=ts(2025, 7, 31, 17, 1), status="read", billable=True)
    assert ChargeCorrection.objects.count() == 1 and Conversation.objects.count() == 1


def test_a_message_never_reported_delivered_is_charged_at_its_read_time(client, number):
    pmp(client, wamid="w1", at=ts(2025, 8, 3, 10), status="sent")
    pmp(client, wamid="w1", at=ts(2025, 8, 3, 11), status="read")
    assert Conversation.objects.get().opened_at == datetime(2025, 8, 3, 11, tzinfo=UTC)


def test_a_cbp_conversation_opens_at_delivery_not_expiry_minus_24_hours(client, number):
    # Delivered 23:59:30 on 31 March (Jakarta); Meta rounds the expiry up to the minute: 24 h after 00:00 1 April.
    delivered = ts(2025, 3, 31, 16, 59, 30)
    expiration = ts(2025, 4, 1, 17, 0)
    post(
        client,
        status_payload(
            wamid="w1",
            status="delivered",
            timestamp=delivered,
            conversation_id="c1",
            category="marketing",
            pricing_model="CBP",
            expiration=expiration,
        ),
    )
    conversation = Conversation.objects.get()
    assert conversation.opened_at == datetime.fromtimestamp(delivered, tz=UTC)
    assert str(conversation.month) == "2025-03-01"


def test_a_cbp_conversation_opens_at_its_earliest_delivered_message_whatever_arrives_first(client, number):
    for wamid, at in [("w-late", ts(2025, 3, 10, 12)), ("w-early", ts(2025, 3, 10, 9))]:
        post(
            client,
            status_payload(
                wamid=wamid,
                status="delivered",
                timestamp=at,
                conversation_id="c1",
                category="utility",
                pricing_model="CBP",
            ),
        )
    conversation = Conversation.objects.get()
    assert (conversation.opened_at, conversation.message_id) == (datetime(2025, 3, 10, 9, tzinfo=UTC), "w-early")


# --- Every category by its own rate ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "rate_category", "price"),
    [
        ("marketing", "marketing", 657),
        ("marketing_lite", "marketing", 657),
        ("utility", "utility", 321),
        ("authentication", "authentication", 430),
        ("authentication_international", "authentication_international", 2217),
        ("authentication-international", "authentication_international", 2217),
    ],
)
def test_each_category_is_charged_at_its_own_rate(client, number, category, rate_category, price):
    pmp(client, wamid="w1", category=category, at=ts(2025, 8, 5))
    conversation = Conversation.objects.get()
    assert (conversation.rate_category, conversation.price) == (rate_category, Decimal(price))


def test_an_unknown_category_is_stored_flagged_and_not_charged(client, number):
    pmp(client, wamid="w1", category="marketing_ultra", at=ts(2025, 8, 5))
    assert Conversation.objects.count() == 0
    flags = WebhookEvent.objects.get().flags
    assert "unknown category: marketing_ultra" in flags
    assert any(flag.startswith("delivered but cannot be rated") for flag in flags)


# --- Rate cards for every market ---------------------------------------------------------------------------


def test_metas_rate_card_file_is_previewed_then_applied_once():
    text = (FIXTURES / "rate_card_idr_sample.csv").read_text()
    preview = rate_card_import_preview(
        file_name="rate_card_idr_sample.csv", content=text.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    assert preview.status == "preview" and preview.currency == "IDR"
    assert not RateCard.objects.filter(imported_from=preview).exists()  # nothing rated with it yet
    markets = {row["market"] for row in preview.rows}
    assert {"ID", "IN", "BR", "MX", "north_america", "rest_of_asia_pacific", "other"} <= markets
    assert any("Atlantis" in w for w in preview.warnings)
    tiers = [
        (r["tier_from"], r["tier_to"], r["price"])
        for r in preview.rows
        if (r["market"], r["category"]) == ("ID", "utility")
    ]
    assert tiers == [(1, 100000, "321.00"), (100001, 500000, "305.00"), (500001, None, "289.00")]
    # The same file again is the same import; applying twice changes nothing.
    again = rate_card_import_preview(
        file_name="x.csv", content=text.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    assert again.pk == preview.pk
    created = rate_card_import_apply(rate_card_import=preview, actor=None)
    assert created == len(preview.rows)
    assert rate_card_import_apply(rate_card_import=preview, actor=None) == 0
    assert AuditEntry.objects.filter(action="rate_card_import.apply").count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just,some\n1,2\n", "Market column"),
        (b"Market,Currency,Marketing\nIndia,USD,0.01\n", "bills in IDR"),
        (b"Market,Currency,Marketing\nIndia,USD,0.01\nBrazil,EUR,0.02\n", "mixes currencies"),
    ],
)
def test_a_file_that_is_not_an_idr_rate_card_is_refused(content, message):
    with pytest.raises(RateCardFileError, match=message):
        rate_card_import_preview(file_name="f.csv", content=content, effective_from=date(2025, 7, 1), actor=None)
    assert RateCardImport.objects.count() == 0


@pytest.mark.parametrize(
    ("recipient", "market", "price"),
    [
        ("919876543210", "IN", 1284),  # India, priced alone
        ("5511987654321", "BR", 1019),
        ("16505551234", "north_america", 408),  # the United States, in Meta's North America
        ("6581234567", "rest_of_asia_pacific", 1195),  # Singapore
        ("4915112345678", "other", 985),  # Germany has no card in this file: Meta's "Other"
    ],
)
def test_rates_resolve_by_the_recipients_market(client, number, recipient, market, price):
    import_card((FIXTURES / "rate_card_idr_sample.csv").read_text())
    pmp(client, wamid="w1", at=ts(2025, 8, 5), recipient=recipient)
    conversation = Conversation.objects.get()
    assert (conversation.market, conversation.price) == (market, Decimal(price))


def test_a_rate_card_that_rated_traffic_is_frozen(client, number, staff_client):
    pmp(client, wamid="w1", at=ts(2025, 8, 5))
    card = Conversation.objects.get().rate_card
    response = staff_client.post(
        f"/admin/conversations/ratecard/{card.pk}/change/",
        {"market": "ID", "category": "marketing", "price": "1", "effective_from_0": "2022-06-01",
         "effective_from_1": "00:00:00", "tier_from": "1", "note": "x"},
    )  # fmt: skip
    card.refresh_from_db()
    assert card.price == Decimal("657")
    assert response.status_code in (200, 302, 403)
    assert staff_client.post(f"/admin/conversations/ratecard/{card.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RateCard.objects.filter(pk=card.pk).exists()
    # An import with the same date cannot change it either.
    import_card("Market,Currency,Marketing\nIndonesia,IDR,1\n", effective=date(2022, 6, 1))
    card.refresh_from_db()
    assert card.price == Decimal("657")
    assert any("kept" in w for w in RateCardImport.objects.get().warnings)


def test_staff_import_a_rate_card_in_the_admin_preview_then_apply(staff_client):
    text = (FIXTURES / "rate_card_idr_sample.csv").read_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = staff_client.post(
        "/admin/conversations/ratecardimport/add/",
        {"file": SimpleUploadedFile("idr.csv", text, content_type="text/csv"), "effective_date": "2025-07-01"},
    )
    assert response.status_code == 302
    preview_url = response["Location"]
    page = staff_client.get(preview_url)
    assert b"rate-card-preview" in page.content and b"Rest of Asia Pacific" in page.content
    assert RateCard.objects.filter(market="IN").count() == 0
    assert staff_client.post(preview_url).status_code == 302
    assert RateCard.objects.filter(market="IN").count() == 5  # four categories and authentication-international
    assert RateCardImport.objects.get().status == "applied"


# --- Volume tiers --------------------------------------------------------------------------------------------

TIERS = """Market,Currency,Category,Tier,Rate
Indonesia,IDR,Utility,1-2,321
Indonesia,IDR,Utility,3-4,305
Indonesia,IDR,Utility,5+,289
"""


def test_pmp_utility_is_priced_by_the_tier_the_months_volume_reached_in_delivery_order(client, number):
    import_card(TIERS)
    # Six charged messages, arriving in a scrambled order; one free message does not count toward the volume.
    for minute in [5, 1, 6, 3, 2, 4]:
        pmp(client, wamid=f"w{minute}", category="utility", at=ts(2025, 8, 5, 10, minute))
    pmp(client, wamid="w-free", category="utility", at=ts(2025, 8, 5, 10, 0), pricing_type="free_customer_service")
    prices = list(Conversation.objects.filter(price__gt=0).order_by("opened_at").values_list("tier_position", "price"))
    assert prices == [(1, 321), (2, 321), (3, 305), (4, 305), (5, 289), (6, 289)]
    # A new month starts at the first tier again.
    pmp(client, wamid="w-sept", category="utility", at=ts(2025, 9, 2))
    assert Conversation.objects.get(key="w-sept").price == 321


def test_tiers_count_per_market_and_category(client, number):
    import_card(TIERS)
    for i in range(3):
        pmp(client, wamid=f"u{i}", category="utility", at=ts(2025, 8, 5, 10, i))
        pmp(client, wamid=f"a{i}", category="authentication", at=ts(2025, 8, 5, 10, i))
    assert sorted(Conversation.objects.filter(rate_category="utility").values_list("price", flat=True)) == [
        305,
        321,
        321,
    ]
    assert set(Conversation.objects.filter(rate_category="authentication").values_list("price", flat=True)) == {430}


@pytest.mark.parametrize("arrival", ["interleaved", "waba_b_first", "reversed"])
def test_tiers_count_across_all_wabas_of_the_organization(client, organization, other_organization, arrival):
    """Meta counts a business portfolio's volume across all its WABAs; Saldo's organization is the portfolio.
    Two messages on each of two WABAs stay in the first tier (1-2) alone, but together reach the second (3-4)."""
    import_card(TIERS)
    for pnid, waba, org in [("PN-A", "WABA-A", organization), ("PN-B", "WABA-B", organization),
                            ("PN-X", "WABA-X", other_organization)]:  # fmt: skip
        whatsapp_number_add(organization=org, phone_number_id=pnid, waba_id=waba, display_number=pnid)
    deliveries = [
        ("PN-A", "WABA-A", "a1", ts(2025, 8, 5, 10, 1)),
        ("PN-B", "WABA-B", "b1", ts(2025, 8, 5, 10, 2)),
        ("PN-A", "WABA-A", "a2", ts(2025, 8, 5, 10, 3)),
        ("PN-B", "WABA-B", "b2", ts(2025, 8, 5, 10, 4)),
        # Another organization's traffic in the same market and month counts toward its own volume only.
        ("PN-X", "WABA-X", "x1", ts(2025, 8, 5, 10, 0)),
        ("PN-X", "WABA-X", "x2", ts(2025, 8, 5, 10, 5)),
    ]
    order = {
        "interleaved": deliveries,
        "waba_b_first": sorted(deliveries, key=lambda d: d[0] != "PN-B"),
        "reversed": deliveries[::-1],
    }[arrival]
    for pnid, waba, wamid, at in order:
        pmp(client, wamid=wamid, category="utility", at=at, phone_number_id=pnid, waba_id=waba)
    positions = {c.key: (c.tier_position, int(c.price)) for c in Conversation.objects.filter(rate_category="utility")}
    assert positions == {
        "a1": (1, 321), "b1": (2, 321), "a2": (3, 305), "b2": (4, 305),  # one volume across WABA-A and WABA-B
        "x1": (1, 321), "x2": (2, 321),
    }  # fmt: skip
    # Counted per WABA, neither would have left the first tier.
    for waba in ("WABA-A", "WABA-B"):
        assert Conversation.objects.filter(waba_id=waba, rate_category="utility").count() == 2


def test_a_late_delivery_on_one_waba_moves_the_positions_on_the_organizations_other_waba(client, organization):
    import_card(TIERS)
    for pnid, waba in [("PN-A", "WABA-A"), ("PN-B", "WABA-B")]:
        whatsapp_number_add(organization=organization, phone_number_id=pnid, waba_id=waba, display_number=pnid)
    for minute, pnid, waba in [(2, "PN-B", "WABA-B"), (3, "PN-B", "WABA-B"), (4, "PN-B", "WABA-B")]:
        pmp(client, wamid=f"b{minute}", category="utility", at=ts(2025, 8, 5, 10, minute), phone_number_id=pnid,
            waba_id=waba)  # fmt: skip
    assert Conversation.objects.get(key="b4").tier_position == 3
    # WABA-A's message was read first, then reported delivered before all of WABA-B's.
    pmp(client, wamid="a1", category="utility", at=ts(2025, 8, 5, 10, 9), status="read", phone_number_id="PN-A",
        waba_id="WABA-A")  # fmt: skip
    pmp(client, wamid="a1", category="utility", at=ts(2025, 8, 5, 10, 1), phone_number_id="PN-A", waba_id="WABA-A")
    positions = dict(Conversation.objects.values_list("key", "tier_position"))
    assert positions == {"a1": 1, "b2": 2, "b3": 3, "b4": 4}
    assert Conversation.objects.get(key="b4").price == 305


def test_metas_volume_tier_webhook_is_stored_once_and_shown_to_staff(client, staff_client):
    payload = json.loads((FIXTURES / "account_update_volume_tier_meta_docs.json").read_text())["payload"]
    post(client, payload)
    retry = dict(payload, retried=True)  # another body, same announcement
    post(client, retry)
    update = VolumeTierUpdate.objects.get()
    assert (update.waba_id, update.market, update.pricing_category, update.tier) == (
        "216141188246170",
        "IN",
        "utility",
        "25000001:50000000",
    )
    assert update.effective_month == date(2025, 11, 1)
    page = staff_client.get("/admin/conversations/volumetierupdate/")
    assert page.status_code == 200 and b"25000001:50000000" in page.content


# --- The WABA's time zone ------------------------------------------------------------------------------------


@pytest.fixture
def sao_paulo_number(organization):
    return whatsapp_number_add(
        organization=organization,
        phone_number_id="PNID-SP",
        waba_id="WABA-SP",
        display_number="+55 11 0000",
        time_zone="America/Sao_Paulo",
    )


def test_pricing_switches_happen_at_midnight_in_the_wabas_time_zone(client, number, sao_paulo_number, monkeypatch):
    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 0)
    moment = ts(2024, 11, 1, 2)  # 09:00 on 1 November in Jakarta, 23:00 on 31 October in São Paulo
    for pnid, waba, conv in [("PNID-TEST", "WABA-TEST", "c-jkt"), ("PNID-SP", "WABA-SP", "c-sp")]:
        post(
            client,
            status_payload(
                wamid=f"w-{conv}",
                status="delivered",
                timestamp=moment,
                conversation_id=conv,
                category="service",
                pricing_model="CBP",
                phone_number_id=pnid,
                waba_id=waba,
            ),
        )
    jakarta, sao_paulo = Conversation.objects.get(key="c-jkt"), Conversation.objects.get(key="c-sp")
    assert (jakarta.free_reason, jakarta.price) == ("free_service", 0)
    assert sao_paulo.free_reason == "" and sao_paulo.price > 0
    assert (str(jakarta.month), str(sao_paulo.month)) == ("2024-11-01", "2024-10-01")
    # Per-message pricing starts on 1 July at midnight in São Paulo (03:00 UTC), not at 00:00 UTC.
    for wamid, at in [("w-before", ts(2025, 7, 1, 2)), ("w-after", ts(2025, 7, 1, 4))]:
        post(
            client,
            status_payload(
                wamid=wamid,
                status="delivered",
                timestamp=at,
                conversation_id=f"conv-{wamid}",
                category="marketing",
                phone_number_id="PNID-SP",
                waba_id="WABA-SP",
            ),
        )
    assert Conversation.objects.get(message_id="w-before").pricing_model == "CBP"
    assert Conversation.objects.get(message_id="w-after").pricing_model == "PMP"


def test_the_time_zone_must_be_a_real_one(staff_client, organization):
    response = staff_client.post(
        "/admin/conversations/whatsappnumber/add/",
        {"organization": organization.pk, "phone_number_id": "7", "waba_id": "8", "display_number": "1",
         "time_zone": "Mars/Olympus"},
    )  # fmt: skip
    assert response.status_code == 200 and b"not a time zone" in response.content
