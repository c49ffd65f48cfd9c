"""One test per role: what Finance, Support and the Superuser group can and cannot do in the admin."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEntry
from billing.models import Purchase
from credits.models import LedgerEntry
from credits.selectors import balance_for
from tests.billing.conftest import make_purchase
from tests.billing.test_admin import paid

pytestmark = pytest.mark.django_db
REVIEW = "/admin/billing/purchasereview/"


@pytest.fixture
def mismatch(organization):
    return paid(make_purchase(organization, credits=1000), amount=100_000)


def approve(client, purchase):
    return client.post(
        REVIEW,
        {
            "action": "purchase_review_approve",
            "_selected_action": [purchase.pk],
            "apply": "1",
            "note": "accepted after a call",
        },
    )


def grant(client, organization, credits=500):
    return client.post(
        "/admin/credits/creditbalance/adjust/",
        {"organization": organization.pk, "kind": "grant", "credits": credits, "reason": "goodwill"},
    )


def test_the_migration_created_the_three_role_groups():
    groups = {
        g.name: set(g.permissions.values_list("content_type__app_label", "codename")) for g in Group.objects.all()
    }
    assert {"Finance", "Support", "Superuser"} <= set(groups)
    assert ("billing", "change_purchasereview") in groups["Finance"]
    assert ("billing", "change_purchasereview") not in groups["Support"]
    assert ("accounts", "change_organization") in groups["Support"]
    assert ("credits", "add_creditlot") not in groups["Support"]


def test_finance_approves_payments_grants_credits_and_exports_but_does_not_manage_access(
    login_as, finance, organization, mismatch
):
    client = login_as(finance)
    for url in [
        "/admin/",
        REVIEW,
        "/admin/invoices/invoice/",
        "/admin/credits/ledgerentry/",
        "/admin/credits/creditbalance/adjust/",
        f"/admin/accounts/organization/{organization.pk}/change/",
        "/admin/accounts/auditentry/",
        f"/admin/accounts/organization/{organization.pk}/ledger.csv",
    ]:
        assert client.get(url).status_code == 200, url
    approve(client, mismatch)
    mismatch.refresh_from_db()
    assert mismatch.status == Purchase.Status.PAID and mismatch.reviewed_by == finance
    grant(client, organization)
    assert balance_for(organization) == 1500
    assert AuditEntry.objects.filter(actor=finance, action="credits.grant").exists()
    # Access is Support's: users, API suspension, memberships.
    assert client.get("/admin/accounts/user/add/").status_code == 403
    assert client.get(f"/admin/accounts/organization/{organization.pk}/api-access/").status_code == 403
    assert client.get("/admin/accounts/apikey/").status_code == 403


def test_support_sees_money_read_only_and_manages_api_access(login_as, support, organization, mismatch):
    client = login_as(support)
    for url in [
        "/admin/",
        REVIEW,
        "/admin/invoices/invoice/",
        "/admin/credits/ledgerentry/",
        f"/admin/accounts/organization/{organization.pk}/change/",
        "/admin/accounts/apikey/",
        "/admin/conversations/webhookevent/",
        "/admin/conversations/unknownnumber/",
    ]:
        assert client.get(url).status_code == 200, url
    # No review decision, no grant: the review actions are not offered and the adjust view refuses.
    assert b"purchase_review_approve" not in client.get(REVIEW).content
    approve(client, mismatch)
    mismatch.refresh_from_db()
    assert mismatch.status == Purchase.Status.NEEDS_REVIEW and mismatch.reviewed_at is None
    before = LedgerEntry.objects.count()
    response = grant(client, organization)
    assert response.status_code == 302 and LedgerEntry.objects.count() == before
    assert client.get("/admin/billing/pricelist/add/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403
    # Suspending the API is an access decision Support takes, with a reason, audited.
    url = f"/admin/accounts/organization/{organization.pk}/api-access/"
    assert client.get(url).status_code == 200
    client.post(url, {"reason": "abuse report #42"})
    organization.refresh_from_db()
    assert organization.api_suspended
    entry = AuditEntry.objects.get(action="organization.api_suspend")
    assert entry.actor == support and entry.reason == "abuse report #42"


def test_the_superuser_role_runs_the_whole_back_office(login_as, back_office, organization, mismatch):
    client = login_as(back_office)
    for url in [
        "/admin/",
        "/admin/billing/pricelist/add/",
        "/admin/accounts/user/add/",
        "/admin/credits/creditbalance/adjust/",
        f"/admin/accounts/organization/{organization.pk}/api-access/",
        "/admin/django_celery_beat/periodictask/",
    ]:
        assert client.get(url).status_code == 200, url
    approve(client, mismatch)
    mismatch.refresh_from_db()
    assert mismatch.status == Purchase.Status.PAID
    # Still not a Django superuser: groups and permissions are edited by one.
    assert client.get("/admin/auth/group/").status_code == 403


def test_a_customer_cannot_open_the_admin(client, owner):
    client.force_login(owner)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
