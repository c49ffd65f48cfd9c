"""The organization page: everything about a customer in one place, its tools, and the CSV exports."""

import csv
import io
from datetime import date

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import api_key_create, organization_api_access_set
from conversations.models import Conversation
from credits.services import lot_grant, usage_charge
from tests.billing.conftest import make_purchase
from tests.billing.test_admin import paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_org(organization, staff):
    lot_grant(organization=organization, credits=5000, source="grant", reason="welcome", reference="w1")
    for n in range(3):
        usage_charge(organization=organization, message_id=f"m{n}", direction="outbound")
    paid(make_purchase(organization, credits=1000))
    api_key_create(organization=organization, name="chatbot")
    now = timezone.now()
    Conversation.objects.create(
        organization=organization,
        phone_number_id="pn1",
        pricing_model="PMP",
        key="wamid.1",
        market="ID",
        category="marketing",
        opened_at=now,
        month=date(now.year, now.month, 1),
        price=657,
        rated_price=657,
        customer="6281234567890",
        calling_code=62,
    )
    return organization


def rows(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_it_shows_balance_lots_ledger_purchases_invoices_conversations_and_keys(client, staff, busy_org):
    client.force_login(staff)
    html = client.get(f"/admin/accounts/organization/{busy_org.pk}/change/").content.decode()
    for text in [
        "Spendable balance",
        "5.997",
        "Open credit lots",
        "Latest ledger entries",
        "Purchases",
        "Invoices",
        "WhatsApp conversations",
        "+62 812",
        "API keys",
        "chatbot",
        "Grant or adjust credits",
        "Suspend API access",
        f"/admin/credits/creditbalance/adjust/?organization={busy_org.pk}",
        f"/admin/credits/ledgerentry/?organization__id__exact={busy_org.pk}",
        "Download CSV",
    ]:
        assert text in html, text
    assert "6281234567890" not in html  # customers' numbers stay masked


def test_suspend_and_restore_the_api_with_a_reason(client, staff, busy_org, api_client):
    client.force_login(staff)
    url = f"/admin/accounts/organization/{busy_org.pk}/api-access/"
    assert client.post(url, {"reason": ""}).status_code == 200  # a reason is required
    busy_org.refresh_from_db()
    assert not busy_org.api_suspended
    client.post(url, {"reason": "unpaid invoices"})
    message = {"message_id": "after-suspension", "direction": "outbound"}
    response = api_client.post("/api/v1/usage/messages", message, format="json")
    assert response.status_code == 403 and response.json()["error"] == "api_suspended"
    assert "Restore API access" in client.get(f"/admin/accounts/organization/{busy_org.pk}/change/").content.decode()
    client.post(url, {"reason": "paid"})
    assert api_client.post("/api/v1/usage/messages", message, format="json").status_code == 201
    actions = list(
        AuditEntry.objects.filter(organization=busy_org, action__startswith="organization.")
        .order_by("id")
        .values_list("action", "reason")
    )
    assert actions == [("organization.api_suspend", "unpaid invoices"), ("organization.api_restore", "paid")]


def test_bulk_suspension_from_the_list_asks_for_a_reason(client, staff, busy_org, other_organization):
    client.force_login(staff)
    data = {"action": "suspend_api", "_selected_action": [busy_org.pk, other_organization.pk]}
    assert b"Reason" in client.post("/admin/accounts/organization/", data).content
    client.post("/admin/accounts/organization/", {**data, "apply": "1", "reason": "fraud ring"})
    busy_org.refresh_from_db()
    other_organization.refresh_from_db()
    assert busy_org.api_suspended and other_organization.api_suspended
    assert AuditEntry.objects.filter(action="organization.api_suspend", reason="fraud ring").count() == 2


def test_setting_the_same_state_again_records_nothing(busy_org, staff):
    organization_api_access_set(organization=busy_org, suspended=False, actor=staff, reason="noop")
    assert not AuditEntry.objects.filter(action__startswith="organization.").exists()


def test_the_api_flag_is_not_an_editable_field(client, staff, busy_org):
    client.force_login(staff)
    html = client.get(f"/admin/accounts/organization/{busy_org.pk}/change/").content.decode()
    assert 'name="api_suspended"' not in html


def test_the_ledger_csv_streams_every_row_oldest_first(client, staff, busy_org):
    client.force_login(staff)
    data = rows(client.get(f"/admin/accounts/organization/{busy_org.pk}/ledger.csv"))
    assert data[0][:4] == ["ID", "Time (WIB)", "Kind", "Delta"]
    kinds = [row[2] for row in data[1:]]
    assert kinds == ["grant", "usage", "usage", "usage", "purchase"]
    assert data[-1][4] == "5997"


def test_the_conversations_csv_streams_one_month(client, staff, busy_org, other_organization):
    client.force_login(staff)
    month = timezone.localdate().strftime("%Y-%m")
    data = rows(client.get(f"/admin/accounts/organization/{busy_org.pk}/conversations.csv?month={month}"))
    assert len(data) == 2 and data[1][1] == busy_org.name and data[1][7].startswith("+62 812")
    assert rows(client.get(f"/admin/accounts/organization/{busy_org.pk}/conversations.csv?month=2001-01"))[1:] == []
    everyone = rows(client.get(f"/admin/accounts/organization/conversations.csv?month={month}"))
    assert len(everyone) == 2


def test_exports_need_the_view_permission(client, busy_org):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="nobody@saldo.local", is_staff=True))
    assert client.get(f"/admin/accounts/organization/{busy_org.pk}/ledger.csv").status_code == 403
    assert client.get(f"/admin/accounts/organization/{busy_org.pk}/conversations.csv").status_code == 403


def test_the_invoice_export_streams(client, staff, busy_org):
    from invoices.models import Invoice

    client.force_login(staff)
    ids = list(Invoice.objects.values_list("pk", flat=True))
    response = client.post("/admin/invoices/invoice/", {"action": "export_csv", "_selected_action": ids})
    data = rows(response)
    assert data[0][13:16] == ["Subtotal (DPP)", "PPN", "Total"] and len(data) == 2


def test_the_grant_form_preselects_the_organization_without_listing_them_all(
    client, staff, busy_org, other_organization
):
    client.force_login(staff)
    html = client.get(f"/admin/credits/creditbalance/adjust/?organization={busy_org.pk}").content.decode()
    assert f'value="{busy_org.pk}"' in html and "vForeignKeyRawIdAdminField" in html
    assert other_organization.name not in html
    for link in [
        f"/admin/credits/creditlot/?organization__id__exact={busy_org.pk}",
        f"/admin/credits/ledgerentry/?organization__id__exact={busy_org.pk}",
        f"/admin/billing/purchase/?organization__id__exact={busy_org.pk}",
        f"/admin/invoices/invoice/?organization__id__exact={busy_org.pk}",
        f"/admin/accounts/auditentry/?organization__id__exact={busy_org.pk}",
        f"/admin/accounts/apikey/?organization__id__exact={busy_org.pk}",
        f"/admin/conversations/conversation/?organization__id__exact={busy_org.pk}",
    ]:
        response = client.get(link)
        assert response.status_code == 200 and b"errornote" not in response.content, link
