"""The admin home: tiles per role, links to filtered changelists, the 90-day chart."""

import json
import re

import pytest

from tests.billing.conftest import make_purchase
from tests.billing.test_admin import paid

pytestmark = pytest.mark.django_db


def chart(response):
    match = re.search(rb'<script id="saldo-kpi-data" type="application/json">(.*?)</script>', response.content)
    return json.loads(match.group(1)) if match else None


def test_finance_sees_revenue_credits_queues_and_the_chart(login_as, finance, organization):
    paid(make_purchase(organization, credits=1000), amount=1)
    response = login_as(finance).get("/admin/")
    html = response.content.decode()
    for label in [
        "Revenue today",
        "Revenue this month",
        "Credits sold",
        "Credits consumed",
        "Credits expired",
        "Lots expiring this week",
        "Active organizations",
        "Needs review",
        "Pending payment sessions",
        "Failed payment webhooks",
        "Failed WhatsApp webhooks",
        "Unknown WhatsApp numbers",
    ]:
        assert label in html, label
    assert 'href="/admin/billing/purchasereview/"' in html
    assert "/admin/invoices/invoice/?status__exact=paid&amp;paid_at__date__gte=" in html
    assert "/admin/credits/ledgerentry/?kind__exact=usage&amp;created_at__date__gte=" in html
    data = chart(response)
    assert len(data["labels"]) == 90 and len(data["revenue"]) == 90 and len(data["consumed"]) == 90
    assert "vendor/chart-4.6.1.umd.min.js" in html


def test_support_reads_the_figures_but_gets_no_money_tools(login_as, support):
    html = login_as(support).get("/admin/").content.decode()
    assert "Revenue this month" in html and "Needs review" in html  # Support reads money, read-only
    assert "Grant or adjust credits" not in html


def test_tiles_follow_permissions(login_as, organization):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(email="wa@saldo.local", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    response = login_as(user).get("/admin/")
    html = response.content.decode()
    assert "Failed WhatsApp webhooks" in html
    assert "Revenue" not in html and "Credits sold" not in html and "Needs review" not in html
    assert chart(response) is None


def test_every_tile_link_opens(login_as, finance, organization):
    client = login_as(finance)
    html = client.get("/admin/").content.decode()
    links = re.findall(r'<a class="saldo-kpi[^"]*" href="([^"]+)"', html)
    assert len(links) == 14  # with "Overdue invoices" (issue 15)
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        assert b"errornote" not in response.content, link


def test_the_home_keeps_a_fixed_number_of_queries(login_as, finance, organization, django_assert_max_num_queries):
    client = login_as(finance)
    for i in range(5):
        paid(make_purchase(organization, credits=1000, key=f"k{i}"))
    client.get("/admin/")
    with django_assert_max_num_queries(25):
        assert client.get("/admin/").status_code == 200


def test_figures_are_shared_for_a_minute_and_refresh_on_demand(login_as, finance, organization, settings):
    from django.core.cache import cache

    from credits.services import lot_grant

    settings.SALDO_CONSOLE_CACHE_SECONDS = 60
    cache.clear()
    client = login_as(finance)
    assert "Figures as of" in client.get("/admin/").content.decode()
    lot_grant(organization=organization, credits=7000, source="purchase", reference="after-first-visit")
    assert "7.000" not in client.get("/admin/").content.decode()
    assert "7.000" in client.get("/admin/?refresh=1").content.decode()
    cache.clear()
