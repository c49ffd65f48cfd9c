"""Review queues: failed webhooks (payments, WhatsApp) and unknown WhatsApp numbers, each resolved by an
action that calls a service and leaves an audit entry (who, why); only the role that may change them can."""

import hashlib
import json
from datetime import date

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from billing.models import PaymentNotification
from conversations.models import Conversation, UnknownNumber, WebhookEvent, WhatsAppNumber
from credits.selectors import balance_for
from tests.billing.conftest import make_purchase, sandbox_notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_notification(organization):
    purchase = make_purchase(organization, credits=1000)
    return PaymentNotification.objects.create(
        gateway="sandbox",
        key="k1",
        gateway_ref=purchase.gateway_ref,
        body=json.dumps(sandbox_notification(purchase)),
        status="failed",
        error="gateway timeout",
    )


def test_finance_reprocesses_a_failed_payment_notification_and_it_is_audited(
    login_as, finance, support, organization, failed_notification
):
    url = "/admin/billing/paymentnotification/"
    data = {"action": "reprocess", "_selected_action": [failed_notification.pk]}
    login_as(support).post(url, data)
    failed_notification.refresh_from_db()
    assert failed_notification.status == "failed"  # Support reads money, does not move it
    login_as(finance).post(url, data)
    failed_notification.refresh_from_db()
    assert failed_notification.status == "processed" and balance_for(organization) == 1000
    entry = AuditEntry.objects.get(action="payment_notification.reprocess")
    assert entry.actor == finance and entry.before["error"] == "gateway timeout"
    assert entry.after["status"] == "processed" and entry.organization == organization


@pytest.fixture
def failed_event():
    body = json.dumps({"object": "whatsapp_business_account", "entry": []})
    return WebhookEvent.objects.create(
        body=body, body_sha256=hashlib.sha256(body.encode()).hexdigest(), status="failed", error="database was down"
    )


def test_support_processes_a_failed_whatsapp_delivery_again(login_as, support, finance, failed_event):
    url = "/admin/conversations/webhookevent/"
    data = {"action": "reprocess", "_selected_action": [failed_event.pk]}
    assert b'value="reprocess"' not in login_as(finance).get(url).content
    login_as(support).post(url, data)
    failed_event.refresh_from_db()
    assert failed_event.status != "failed"
    entry = AuditEntry.objects.get(action="whatsapp_event.reprocess")
    assert entry.actor == support and entry.before["error"] == "database was down"


@pytest.fixture
def unknown_number():
    now = timezone.now()
    Conversation.objects.create(
        phone_number_id="pn-new",
        pricing_model="PMP",
        key="wamid.x",
        market="ID",
        category="marketing",
        opened_at=now,
        month=date(now.year, now.month, 1),
        price=657,
    )
    return UnknownNumber.objects.create(phone_number_id="pn-new", waba_id="waba-9", display_number="+62 21 555 0100")


def test_support_assigns_an_unknown_number_with_a_reason(login_as, support, organization, unknown_number):
    client = login_as(support)
    url = "/admin/conversations/unknownnumber/"
    data = {"action": "assign_to_organization", "_selected_action": [unknown_number.pk]}
    assert b"Organization (slug)" in client.post(url, data).content
    response = client.post(url, {**data, "apply": "1", "organization": "no-such-org", "reason": "x"})
    assert b"No organization with this slug" in response.content
    client.post(url, {**data, "apply": "1", "organization": organization.slug, "reason": "ticket #7: new number"})
    number = WhatsAppNumber.objects.get(phone_number_id="pn-new")
    assert number.organization == organization and number.waba_id == "waba-9"
    unknown_number.refresh_from_db()
    assert unknown_number.resolved_at is not None
    assert Conversation.objects.get(key="wamid.x").organization == organization  # its traffic follows it
    entry = AuditEntry.objects.get(action="whatsapp_number.assign")
    assert entry.actor == support and entry.reason == "ticket #7: new number" and entry.organization == organization


def test_finance_cannot_assign_numbers(login_as, finance, organization, unknown_number):
    client = login_as(finance)
    assert b"assign_to_organization" not in client.get("/admin/conversations/unknownnumber/").content
    client.post(
        "/admin/conversations/unknownnumber/",
        {
            "action": "assign_to_organization",
            "_selected_action": [unknown_number.pk],
            "apply": "1",
            "organization": organization.slug,
            "reason": "x",
        },
    )
    assert not WhatsAppNumber.objects.exists()
