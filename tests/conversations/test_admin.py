from datetime import UTC, datetime

import pytest

from conversations.models import Conversation, RateCard, UnknownNumber, WebhookEvent

from .helpers import load_fixture, post, status_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def traffic(client, number):
    post(
        client,
        status_payload(
            wamid="w1",
            status="delivered",
            timestamp=int(datetime(2025, 8, 1, tzinfo=UTC).timestamp()),
            category="marketing",
            pricing_model="PMP",
            pricing_type="regular",
        ),
    )
    post(client, load_fixture("08_status_sent_marketing_PMP_regular_meta_docs.json"))  # an unknown number


@pytest.mark.parametrize(
    "url",
    [
        "/admin/conversations/whatsappnumber/",
        "/admin/conversations/whatsappnumber/add/",
        "/admin/conversations/unknownnumber/",
        "/admin/conversations/unknownnumber/?resolved=no",
        "/admin/conversations/webhookevent/",
        "/admin/conversations/webhookevent/?status__exact=flagged",
        "/admin/conversations/conversation/",
        "/admin/conversations/conversation/?closed=open",
        "/admin/conversations/messagestatus/",
        "/admin/conversations/ratecard/",
        "/admin/conversations/ratecard/add/",
        "/admin/conversations/monthlystatement/",
    ],
)
def test_admin_pages_render(staff_client, traffic, url):
    assert staff_client.get(url).status_code == 200


def test_admin_detail_pages_render(staff_client, traffic):
    for obj in [
        WebhookEvent.objects.first(),
        Conversation.objects.first(),
        UnknownNumber.objects.first(),
        RateCard.objects.first(),
    ]:
        url = f"/admin/conversations/{obj._meta.model_name}/{obj.pk}/change/"
        assert staff_client.get(url).status_code == 200, url


def test_reprocess_action_is_idempotent(staff_client, traffic):
    ids = list(WebhookEvent.objects.values_list("pk", flat=True))
    response = staff_client.post(
        "/admin/conversations/webhookevent/", {"action": "reprocess", "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200
    assert Conversation.objects.count() == 1
    assert all(e.attempts == 2 for e in WebhookEvent.objects.all())


def test_reprocessing_after_adding_the_unknown_number_gives_it_its_traffic(staff_client, traffic, organization):
    from conversations.services import whatsapp_number_add

    whatsapp_number_add(
        organization=organization,
        phone_number_id="106540352242922",
        waba_id="102290129340398",
        display_number="15550783881",
    )
    assert UnknownNumber.objects.get().resolved_at is not None
    event = WebhookEvent.objects.get(phone_number_ids="106540352242922")
    staff_client.post("/admin/conversations/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED


def test_a_rate_card_that_rated_conversations_is_frozen(staff_client, traffic):
    used = Conversation.objects.get().rate_card
    html = staff_client.get(f"/admin/conversations/ratecard/{used.pk}/change/").content.decode()
    assert 'name="price"' not in html
    unused = RateCard.objects.create(
        market="SG", category="marketing", price=1000, effective_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    html = staff_client.get(f"/admin/conversations/ratecard/{unused.pk}/change/").content.decode()
    assert 'name="price"' in html


def test_staff_add_a_number_in_the_admin(staff_client, organization):
    response = staff_client.post(
        "/admin/conversations/whatsappnumber/add/",
        {"organization": organization.pk, "phone_number_id": "777", "waba_id": "888", "display_number": "+62 1"},
    )
    assert response.status_code == 302
    assert organization.whatsapp_numbers.get().phone_number_id == "777"
