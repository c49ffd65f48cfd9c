"""Changelists and pages stay O(1) in queries whatever the number of rows: the count with 15 organizations'
worth of data equals the count with 3 (no N+1), and stays under a fixed bound."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import api_key_create, audit_record
from billing.models import PaymentNotification
from conversations.models import Conversation
from credits.services import lot_grant, usage_charge
from tests.billing.conftest import make_purchase, sandbox_notification
from tests.billing.test_admin import paid
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/accounts/organization/",
    "/admin/accounts/user/",
    "/admin/accounts/membership/",
    "/admin/accounts/apikey/",
    "/admin/accounts/auditentry/",
    "/admin/credits/creditbalance/",
    "/admin/credits/creditlot/",
    "/admin/credits/ledgerentry/",
    "/admin/credits/messageusage/",
    "/admin/billing/purchase/",
    "/admin/billing/purchasereview/",
    "/admin/billing/paymentsession/",
    "/admin/billing/paymentnotification/",
    "/admin/invoices/invoice/",
    "/admin/conversations/conversation/",
]


def customer(i: int, staff):
    org = OrganizationFactory()
    MembershipFactory(organization=org)
    lot_grant(organization=org, credits=5000, source="purchase", reference=f"r{i}", created_by=staff)
    for n in range(2):
        usage_charge(organization=org, message_id=f"{i}-{n}", direction="outbound")
    purchase = paid(make_purchase(org, credits=1000, key=f"p{i}"))
    paid(make_purchase(org, credits=1000, key=f"q{i}"), amount=1)  # needs review
    PaymentNotification.objects.create(
        gateway="sandbox",
        key=f"n{i}",
        gateway_ref=purchase.gateway_ref,
        body=json.dumps(sandbox_notification(purchase)),
        purchase=purchase,
    )
    api_key_create(organization=org, name=f"key {i}", created_by=staff)
    audit_record(action="credits.grant", actor=staff, organization=org, target=purchase, reason="test")
    now = timezone.now()
    Conversation.objects.create(
        organization=org,
        phone_number_id=f"pn{i}",
        pricing_model="PMP",
        key=f"w{i}",
        market="ID",
        category="marketing",
        opened_at=now,
        month=date(now.year, now.month, 1),
        price=657,
        rated_price=657,
        customer="6281234567890",
        calling_code=62,
    )
    return org


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.fixture
def superuser_client(client, staff):
    client.force_login(staff)
    return client


def test_busy_changelists_do_not_grow_with_rows(superuser_client, staff):
    orgs = [customer(i, staff) for i in range(3)]
    count_queries(superuser_client, "/admin/")  # warm the content type cache
    small = {url: count_queries(superuser_client, url) for url in CHANGELISTS}
    orgs += [customer(i, staff) for i in range(3, 15)]
    for url in CHANGELISTS:
        large = count_queries(superuser_client, url)
        assert large == small[url], f"{url}: {small[url]} queries with 3 organizations, {large} with 15"
        assert large <= 14, f"{url}: {large} queries"


def test_the_organization_page_and_home_do_not_grow_with_rows(superuser_client, staff):
    org = customer(0, staff)
    url = f"/admin/accounts/organization/{org.pk}/change/"
    count_queries(superuser_client, url)  # warm the content type cache
    small, home_small = count_queries(superuser_client, url), count_queries(superuser_client, "/admin/")
    for n in range(20):
        usage_charge(organization=org, message_id=f"more-{n}", direction="inbound")
        lot_grant(
            organization=org, credits=1000, source="grant", reason="x", expires_at=timezone.now() + timedelta(days=3)
        )
    for i in range(1, 6):
        customer(i, staff)
    assert count_queries(superuser_client, url) == small <= 30
    assert count_queries(superuser_client, "/admin/") == home_small <= 25


def test_the_admin_home_stays_under_its_query_budget(superuser_client, staff, django_assert_max_num_queries):
    for i in range(5):
        customer(i, staff)
    superuser_client.get("/admin/")
    with django_assert_max_num_queries(25):
        superuser_client.get("/admin/")
