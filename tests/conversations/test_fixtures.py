"""Every published Meta example, signed with the test app secret, through the real endpoint."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from conversations.models import Conversation, MessageStatus, WebhookEvent

from .helpers import load_fixture, post, with_status

pytestmark = pytest.mark.django_db


def test_01_an_inbound_message_is_stored_and_charges_nothing(client, fixture_numbers):
    response = post(client, load_fixture("01_inbound_text_meta_docs.json"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.messages_count == 1
    assert Conversation.objects.count() == 0


def test_04_a_cbp_service_conversation_counts_once_across_sent_delivered_read_failed(
    client, fixture_numbers, organization
):
    payloads = load_fixture("04_status_CBP_service_sent_delivered_read_failed_pywa_fixture.json")
    for name in ["sent", "delivered", "read", "failed", "delivered", "read"]:
        assert post(client, payloads[name]).status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.organization == organization
    assert conversation.pricing_model == "CBP"
    assert conversation.key == "7270432eae37498234f4444b35ffc5"
    assert conversation.category == "service"
    assert conversation.country == "IL"
    assert conversation.calling_code == 972
    assert conversation.market == "other"
    # October 2023 was inside the free tier era; it is the WABA's first service conversation of the month.
    assert conversation.free_reason == "free_tier"
    assert conversation.price == 0
    assert conversation.rated_price == Decimal("188")
    assert conversation.meta_billable is True
    # Opened when its message was delivered (Meta's rule), not 24 hours before the (minute-rounded) expiry, and
    # not at the read webhook's (earlier, in this captured fixture) timestamp.
    assert conversation.opened_at == datetime.fromtimestamp(1698266945, tz=UTC)
    assert str(conversation.month) == "2023-10-01"
    assert WebhookEvent.objects.count() == 4  # the repeats were Meta retries of the same bodies


def test_04_failed_alone_charges_nothing(client, fixture_numbers):
    payloads = load_fixture("04_status_CBP_service_sent_delivered_read_failed_pywa_fixture.json")
    post(client, payloads["sent"])
    post(client, payloads["failed"])
    status = MessageStatus.objects.get()
    assert status.failed_at is not None and status.errors[0]["code"] == 130472
    assert Conversation.objects.count() == 0


def test_04_paid_service_beyond_the_free_tier(client, fixture_numbers, monkeypatch):
    from conversations import rating

    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 0)
    post(client, load_fixture("04_status_CBP_service_sent_delivered_read_failed_pywa_fixture.json")["delivered"])
    conversation = Conversation.objects.get()
    assert (conversation.price, conversation.free_reason) == (Decimal("188"), "")


def test_08_a_sent_pmp_marketing_message_is_not_charged_until_delivered(client, fixture_numbers):
    sent = load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json")
    post(client, sent)
    assert Conversation.objects.count() == 0
    post(client, with_status(sent, "delivered"))
    post(client, with_status(sent, "read"))
    conversation = Conversation.objects.get()
    assert conversation.pricing_model == "PMP"
    assert conversation.key == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    assert (conversation.category, conversation.country, conversation.market) == ("marketing", "US", "other")
    assert conversation.price == Decimal("985")
    assert conversation.free_reason == ""


def test_09_a_status_without_conversation_or_pricing_uses_the_pricing_seen_before(client, fixture_numbers):
    post(client, load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"))
    bare = load_fixture("09_status_read_v24_no_conversation_no_pricing_meta_docs.json")
    post(client, bare)
    assert Conversation.objects.count() == 0  # as published it is another "sent"
    post(client, with_status(bare, "read"))  # what Meta's text says it illustrates: a v24 read
    conversation = Conversation.objects.get()
    assert (conversation.category, conversation.price) == ("marketing", Decimal("985"))


def test_09_read_before_delivered_still_charges_once(client, fixture_numbers):
    sent = load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json")
    bare = load_fixture("09_status_read_v24_no_conversation_no_pricing_meta_docs.json")
    post(client, with_status(bare, "read"))
    assert Conversation.objects.count() == 0  # no pricing known yet: waits
    post(client, with_status(sent, "delivered"))
    post(client, sent)
    assert Conversation.objects.count() == 1


def test_10_a_failed_marketing_message_is_never_charged(client, fixture_numbers):
    post(client, load_fixture("10_status_failed_131049_meta_docs.json"))
    status = MessageStatus.objects.get()
    assert status.errors[0]["code"] == 131049
    assert Conversation.objects.count() == 0
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_12_a_utility_template_inside_the_service_window_is_free(client, fixture_numbers):
    post(client, load_fixture("12_status_delivered_utility_PMP_free_customer_service_real_CO_2025.json"))
    conversation = Conversation.objects.get()
    assert conversation.pricing_model == "PMP"
    assert (conversation.category, conversation.country, conversation.market) == ("utility", "CO", "other")
    assert conversation.price == 0
    assert conversation.free_reason == "free_customer_service"
    assert conversation.meta_billable is False
    assert str(conversation.month) == "2025-08-01"


def test_14_placeholder_values_are_kept_and_flagged(client):
    response = post(client, load_fixture("14_status_sent_referral_conversion_FEP_CBP_360dialog_docs.json"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FLAGGED
    assert any("bad timestamp" in flag for flag in event.flags)
    assert "unknown number: PHONE_NUMBER_ID" in event.flags
    assert Conversation.objects.count() == 0


def test_14_a_delivered_free_entry_point_conversation_is_free(client, organization):
    from conversations.services import whatsapp_number_add

    whatsapp_number_add(organization=organization, phone_number_id="PHONE_NUMBER_ID", waba_id="W", display_number="1")
    payload = load_fixture("14_status_sent_referral_conversion_FEP_CBP_360dialog_docs.json")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(status="delivered", timestamp="1717200000", recipient_id="6281234567890")
    status["conversation"]["expiration_timestamp"] = str(1717200000 + 72 * 3600)
    post(client, payload)
    conversation = Conversation.objects.get()
    assert conversation.category == "service"
    assert conversation.meta_category == "referral_conversion"
    assert (conversation.country, conversation.market) == ("ID", "ID")
    assert (conversation.price, conversation.free_reason) == (0, "free_entry_point")
    assert conversation.opened_at == datetime.fromtimestamp(1717200000, tz=UTC)


def test_15_a_bare_pricing_fragment_is_flagged_not_a_500(client):
    response = post(client, load_fixture("15_pricing_fragment_authentication_international_meta_docs.json"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.FLAGGED


@pytest.mark.parametrize("spelling", ["authentication_international", "authentication-international", "authentication"])
def test_15_authentication_international_has_its_own_rate_in_both_spellings(client, fixture_numbers, spelling):
    fragment = load_fixture("15_pricing_fragment_authentication_international_meta_docs.json")
    payload = with_status(load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"), "delivered")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["pricing"] = dict(fragment["pricing"], category=spelling)
    status["recipient_id"] = "6281234567890"
    post(client, payload)
    conversation = Conversation.objects.get()
    # Reported as authentication; charged at the authentication-international rate when Meta says so.
    expected = Decimal("430") if spelling == "authentication" else Decimal("2217")
    assert (conversation.category, conversation.market, conversation.price) == ("authentication", "ID", expected)
    assert conversation.rate_category == spelling.replace("-", "_")
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_several_entries_and_changes_in_one_delivery_are_all_read(client, fixture_numbers):
    a = with_status(load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"), "delivered")
    b = load_fixture("12_status_delivered_utility_PMP_free_customer_service_real_CO_2025.json")
    inbound = load_fixture("01_inbound_text_meta_docs.json")
    a["entry"][0]["changes"].append(inbound["entry"][0]["changes"][0])
    a["entry"].append(b["entry"][0])
    post(client, a)
    event = WebhookEvent.objects.get()
    assert (event.statuses_count, event.messages_count) == (2, 1)
    assert sorted(Conversation.objects.values_list("category", flat=True)) == ["marketing", "utility"]
