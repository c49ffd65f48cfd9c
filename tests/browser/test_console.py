"""The staff console in Debian's Chromium: a Finance user approves a late payment from the review queue,
finds the credits on the organization page and the decision in the audit log.
Screenshots: docs/screenshots/admin-home.png and admin-organization.png (with SALDO_SCREENSHOTS=1)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import AuditEntry, Organization
from billing.models import Purchase
from billing.services import purchase_cancel
from credits.selectors import balance_for
from tests.billing.conftest import make_purchase
from tests.billing.test_admin import paid
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def admin_login(page, email, password):
    page.goto(page.base_url + "/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url(page.base_url + "/admin/")


def test_finance_approves_a_late_payment_and_finds_it_in_the_audit_log(page, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    org = Organization.objects.get(slug="demo")
    # A buyer cancelled, then paid anyway: the money is credited and the purchase waits for review.
    purchase = make_purchase(org, credits=10_000, key="late-payment")
    purchase_cancel(purchase=purchase)
    purchase = paid(purchase)
    assert purchase.status == Purchase.Status.NEEDS_REVIEW
    balance = balance_for(org)
    finance = UserFactory(email="finance@saldo.id", full_name="Fina Finance", is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))

    admin_login(page, "finance@saldo.id", DEFAULT_PASSWORD)
    assert page.locator(".saldo-kpi", has_text="Revenue this month").is_visible()
    page.wait_for_function("document.querySelector('#saldo-kpi-chart') && Chart.getChart('saldo-kpi-chart')")
    page.wait_for_timeout(400)  # the chart's entry animation
    screenshot(page, "admin-home")

    page.click(".saldo-kpi:has-text('Needs review')")
    page.wait_for_url("**/admin/billing/purchasereview/")
    row = page.locator("#result_list tbody tr", has_text=purchase.order_id)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "purchase_review_approve")
    page.click("button[name=index]")
    page.fill("textarea[name=note]", "Paid 2 hours after cancelling; customer confirmed by phone")
    page.click("#content form input[type=submit].default")
    page.wait_for_selector(".messagelist")
    assert "1 purchase(s)" in page.locator(".messagelist").inner_text()

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID and purchase.reviewed_by == finance
    assert balance_for(org) == balance  # credited once, when the money arrived

    page.goto(page.base_url + f"/admin/accounts/organization/{org.pk}/change/")
    assert (
        page.locator(".saldo-kpi", has_text="Spendable balance").inner_text().find(f"{balance:,}".replace(",", ".")) > 0
    )
    assert page.locator(".saldo-panel", has_text="Purchases").locator("tr", has_text=purchase.order_id).count() == 1
    screenshot(page, "admin-organization")

    page.click("#content-main .object-tools a:has-text('Audit log')")
    entry = page.locator("#result_list tbody tr", has_text="purchase.review_approve")
    assert entry.count() == 1 and "finance@saldo.id" in entry.inner_text()
    assert AuditEntry.objects.get(action="purchase.review_approve").actor == finance
