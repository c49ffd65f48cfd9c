"""The buyer's tax identity in the organization's billing details and at checkout: NPWP (15 or 16 digits), NITKU,
NIK, passport or other ID, with clear form errors; frozen on the invoice."""

import pytest

from billing.models import Purchase
from tests.billing.test_pages import pay_form

pytestmark = pytest.mark.django_db

BASE = {"action": "billing", "billing-name": "Toko Maju", "billing-low_balance_threshold": 500}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"billing-npwp": "123"}, "15 or 16 digits"),
        ({"billing-npwp": "01.234.567.8-901.000", "billing-nitku": "12345"}, "A NITKU has 22 digits"),
        ({"billing-npwp": "01.234.567.8-901.000", "billing-nitku": "9999999999999999000000"}, "must start with"),
        ({"billing-nitku": "0012345678901000000000"}, "Enter the NPWP"),
        ({"billing-tax_document_type": "National ID", "billing-tax_document_number": "1234"}, "A NIK has 16 digits"),
        ({"billing-tax_document_type": "National ID"}, "Enter the number"),
        ({"billing-tax_document_type": "Passport", "billing-tax_document_number": "A1"}, "3 to 32 letters"),
        ({"billing-tax_document_type": "Passport", "billing-tax_country": "SG1"}, "3-letter"),
    ],
)
def test_the_settings_page_explains_a_wrong_tax_identity(owner_client, organization, fields, error):
    before = (organization.npwp, organization.nitku, organization.tax_document_type)
    response = owner_client.post("/settings/", {**BASE, **fields})
    assert response.status_code == 200 and error in response.content.decode()
    organization.refresh_from_db()
    assert (organization.npwp, organization.nitku, organization.tax_document_type) == before


def test_the_settings_page_saves_a_company_and_an_individual(owner_client, organization):
    owner_client.post("/settings/", {**BASE, "billing-npwp": "01.234.567.8-901.000", "billing-nitku": "000001"})
    organization.refresh_from_db()
    assert (organization.tax_document_type, organization.npwp, organization.nitku) == (
        "TIN",
        "01.234.567.8-901.000",
        "0012345678901000000001",
    )
    owner_client.post(
        "/settings/",
        {**BASE, "billing-tax_document_type": "National ID", "billing-tax_document_number": "3171 0123 4567 8901"},
    )
    organization.refresh_from_db()
    assert (organization.tax_document_type, organization.tax_document_number, organization.nitku) == (
        "National ID",
        "3171012345678901",
        "",
    )


def test_checkout_freezes_the_identity_on_the_invoice(owner_client, organization):
    response = owner_client.post(
        "/credits/top-up/pay/",
        pay_form(owner_client, npwp="", tax_document_type="Passport", tax_document_number="e 1234567"),
    )
    assert response.status_code == 302
    invoice = Purchase.objects.get().invoice
    assert (invoice.buyer_document_type, invoice.buyer_document_number, invoice.buyer_nitku) == (
        "Passport",
        "E1234567",
        "",
    )
    organization.tax_document_type = "TIN"
    organization.save()
    invoice.refresh_from_db()
    assert invoice.buyer_document_type == "Passport"


def test_checkout_refuses_a_nitku_of_another_npwp(owner_client):
    response = owner_client.post("/credits/top-up/pay/", pay_form(owner_client, nitku="9999999999999999000000"))
    assert response.status_code == 400 and "must start with" in response.content.decode()
    assert Purchase.objects.count() == 0


def test_checkout_gives_an_npwp_buyer_the_head_office_nitku(owner_client):
    owner_client.post("/credits/top-up/pay/", pay_form(owner_client))
    invoice = Purchase.objects.get().invoice
    assert invoice.buyer_npwp == "01.234.567.8-999.000" and invoice.buyer_nitku == "0012345678999000000000"
