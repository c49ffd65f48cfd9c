"""The top-up flow pages: choose → summary → Pay Now → sandbox page → status → dashboard."""

import re

import pytest
from django.test import Client

from billing.models import Purchase
from credits.selectors import balance_for
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def pay_form(client, credits=5000, **overrides):
    page = client.get(f"/credits/top-up/summary/?credits={credits}").content.decode()
    data = {
        "credits": credits,
        "idempotency_key": key_of(page),
        "legal_name": "PT Toko Maju",
        "npwp": "01.234.567.8-999.000",
        "address": "Jl. Thamrin No. 1",
        "email": "finance@tokomaju.id",
    }
    data.update(overrides)
    return data


def test_it_shows_presets_and_prices(owner_client):
    response = owner_client.get("/credits/top-up/")
    assert response.status_code == 200
    html = response.content.decode()
    for preset in ("1.000", "5.000", "10.000", "50.000"):
        assert f'<div class="amount">{preset}</div>' in html
    assert "Rp 555.000" in html  # 5,000 credits incl. PPN


def test_it_sends_a_valid_choice_to_the_summary(owner_client):
    response = owner_client.get("/credits/top-up/?credits=7000")
    assert response.status_code == 302 and response.url == "/credits/top-up/summary/?credits=7000"


def test_it_refuses_a_custom_amount_that_is_not_a_multiple_of_1000(owner_client):
    response = owner_client.get("/credits/top-up/?credits=1500")
    assert response.status_code == 200
    assert "multiple" in response.content.decode()
    assert owner_client.get("/credits/top-up/summary/?credits=1500").status_code == 302


def test_it_summarizes_the_figures_and_prefills_billing_details(owner_client, organization):
    html = owner_client.get("/credits/top-up/summary/?credits=5000").content.decode()
    for figure in ("5.000", "Rp 100", "Rp 500.000", "Rp 55.000", "Rp 555.000", "PPN 12%", "Rp 458.333,33", "30 days"):
        assert figure in html
    assert organization.legal_name in html and organization.npwp in html and organization.invoice_email in html


def test_it_gives_two_tabs_the_same_idempotency_key(owner_client):
    first = key_of(owner_client.get("/credits/top-up/summary/?credits=5000").content.decode())
    second = key_of(owner_client.get("/credits/top-up/summary/?credits=5000").content.decode())
    assert first == second


def test_pay_now_twice_makes_one_purchase_and_goes_to_the_gateway(owner_client):
    data = pay_form(owner_client)
    first = owner_client.post("/credits/top-up/pay/", data)
    second = owner_client.post("/credits/top-up/pay/", data)
    assert Purchase.objects.count() == 1
    purchase = Purchase.objects.get()
    assert first.status_code == 302 and first.url == f"/credits/sandbox/{purchase.gateway_ref}/"
    assert second.url == first.url
    assert purchase.invoice.buyer_legal_name == "PT Toko Maju"


def test_after_payment_a_new_summary_gets_a_new_key(owner_client):
    data = pay_form(owner_client)
    owner_client.post("/credits/top-up/pay/", data)
    purchase = Purchase.objects.get()
    owner_client.post(f"/credits/sandbox/{purchase.gateway_ref}/", {"action": "pay"})
    assert pay_form(owner_client)["idempotency_key"] != data["idempotency_key"]


def test_it_can_save_the_billing_details_to_the_organization(owner_client, organization):
    owner_client.post("/credits/top-up/pay/", pay_form(owner_client, legal_name="PT Baru", save_details="on"))
    organization.refresh_from_db()
    assert organization.legal_name == "PT Baru"


def test_it_rejects_a_bad_npwp(owner_client):
    response = owner_client.post("/credits/top-up/pay/", pay_form(owner_client, npwp="123"))
    assert response.status_code == 400
    assert Purchase.objects.count() == 0


def test_the_sandbox_pay_button_credits_and_lands_on_the_dashboard(owner_client, organization):
    owner_client.post("/credits/top-up/pay/", pay_form(owner_client))
    purchase = Purchase.objects.get()
    page = owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/")
    assert page.status_code == 200 and "Rp 555.000" in page.content.decode()
    response = owner_client.post(f"/credits/sandbox/{purchase.gateway_ref}/", {"action": "pay"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Payment received" in response.content.decode()
    purchase.refresh_from_db()
    assert purchase.status == "paid" and purchase.invoice.status == "paid"
    assert balance_for(organization) == 5000


@pytest.mark.parametrize("action, status", [("expire", "expired"), ("cancel", "cancelled"), ("fail", "failed")])
def test_the_sandbox_buttons_close_the_purchase(owner_client, organization, action, status):
    purchase = make_purchase(organization)
    response = owner_client.post(f"/credits/sandbox/{purchase.gateway_ref}/", {"action": action}, follow=True)
    purchase.refresh_from_db()
    assert purchase.status == status
    assert purchase.invoice.status == "closed" and purchase.invoice.number is None
    assert response.status_code == 200


def test_the_status_page_polls_while_pending_and_redirects_once_paid(owner_client, organization):
    purchase = make_purchase(organization)
    html = owner_client.get(f"/billing/purchases/{purchase.pk}/?return=1").content.decode()
    assert 'hx-trigger="every 3s"' in html and "Pending" in html
    owner_client.post(f"/credits/sandbox/{purchase.gateway_ref}/", {"action": "pay"})
    poll = owner_client.get(f"/billing/purchases/{purchase.pk}/?return=1", HTTP_HX_REQUEST="true")
    assert poll.headers["HX-Redirect"] == "/"
    # without ?return=1 the page is a receipt
    html = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
    assert "Paid" in html and "every 3s" not in html


def test_resume_goes_back_to_the_payment_page(owner_client, organization):
    purchase = make_purchase(organization)
    response = owner_client.get(f"/billing/purchases/{purchase.pk}/resume/")
    assert response.url == purchase.sessions.get().redirect_url


def test_cancel_from_the_page(owner_client, organization):
    purchase = make_purchase(organization)
    response = owner_client.post(f"/billing/purchases/{purchase.pk}/cancel/", {"next": "/billing/subscription/"})
    assert response.url == "/billing/subscription/"
    purchase.refresh_from_db()
    assert purchase.status == "cancelled"
    assert owner_client.post(f"/billing/purchases/{purchase.pk}/cancel/").status_code == 302


def test_other_organizations_purchases_answer_404(organization, other_organization, other_org_owner):
    purchase = make_purchase(organization)
    client = Client()
    client.force_login(other_org_owner)
    assert client.get(f"/billing/purchases/{purchase.pk}/").status_code == 404
    assert client.post(f"/billing/purchases/{purchase.pk}/cancel/").status_code == 404
    assert client.get(f"/credits/sandbox/{purchase.gateway_ref}/").status_code == 404
    assert client.post(f"/credits/sandbox/{purchase.gateway_ref}/", {"action": "pay"}).status_code == 404
    purchase.refresh_from_db()
    assert purchase.status == "pending"


def test_members_cannot_buy(client, member):
    client.force_login(member)
    assert client.get("/credits/top-up/").status_code == 403
    assert client.post("/credits/top-up/pay/", {"credits": 1000}).status_code == 403


def test_anonymous_users_are_sent_to_login(client):
    assert "/accounts/login/" in client.get("/credits/top-up/").url


def test_the_sandbox_is_refused_in_production(owner_client, organization, settings):
    purchase = make_purchase(organization)
    settings.SETTINGS_MODULE = "config.settings.production"
    assert owner_client.get(f"/credits/sandbox/{purchase.gateway_ref}/").status_code == 404
    assert owner_client.post("/webhooks/payments/sandbox", {}, content_type="application/json").status_code == 404
