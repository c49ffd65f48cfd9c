"""Invoice pages and API: scoped to the organization (invariant 7), owners and admins only, PDFs from storage."""

import io

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from invoices import pdf as invoice_pdf
from invoices.models import Invoice
from invoices.services import invoice_create, invoice_mark_paid, invoice_render_pdf

LINES = [{"description": "10.000 message credits", "quantity": 10000, "unit_price": 100}]


@pytest.fixture
def invoice(organization, no_pdf):
    invoice = invoice_mark_paid(
        invoice=invoice_create(organization=organization, lines=LINES), payment_reference="TRX-9"
    )
    invoice_render_pdf(invoice=invoice)
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def others_invoice(other_organization, no_pdf):
    return invoice_create(organization=other_organization, lines=LINES)


def test_the_owner_sees_the_invoice_page(owner_client, invoice):
    response = owner_client.get(f"/billing/invoices/{invoice.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert invoice.number in body and "Rp 1.110.000" in body and "TRX-9" in body


def test_the_pdf_downloads_with_a_sensible_name_from_storage(owner_client, invoice, monkeypatch):
    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", lambda *a, **k: pytest.fail("rendered"))
    response = owner_client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    filename = invoice.number.replace("/", "-") + ".pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert filename.startswith("INV-") and len(filename) == len("INV-2026-11-000001.pdf")
    assert response.content == invoice.pdf.storage.open(invoice.pdf.name).read()


def test_a_missing_pdf_is_rendered_on_download(owner_client, organization, no_pdf):
    invoice = invoice_create(organization=organization, lines=LINES)
    response = owner_client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert invoice.number in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.pdf_status == "issued"


def test_other_organizations_invoices_answer_404(owner_client, others_invoice, api_client):
    for url in [f"/billing/invoices/{others_invoice.pk}/", f"/billing/invoices/{others_invoice.pk}/pdf/"]:
        assert owner_client.get(url).status_code == 404
    for url in [f"/api/v1/invoices/{others_invoice.pk}", f"/api/v1/invoices/{others_invoice.pk}/pdf"]:
        response = api_client.get(url)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api_client.get("/api/v1/invoices").json()["results"] == []


def test_members_cannot_see_invoices(client, member, invoice):
    client.force_login(member)
    assert client.get(f"/billing/invoices/{invoice.pk}/").status_code == 403
    assert client.get(f"/billing/invoices/{invoice.pk}/pdf/").status_code == 403
    assert client.get("/billing/subscription/").status_code == 403


def test_admins_can(client, admin_user, invoice):
    client.force_login(admin_user)
    assert client.get(f"/billing/invoices/{invoice.pk}/").status_code == 200


def test_anonymous_users_go_to_login(client, invoice):
    response = client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_drafts_are_not_shown(owner_client, organization, api_client, no_pdf):
    draft = invoice_create(organization=organization, lines=LINES, issue=False)
    assert owner_client.get(f"/billing/invoices/{draft.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/invoices/{draft.pk}").status_code == 404


def test_the_api_lists_invoices_in_the_design_shape(api_client, invoice):
    response = api_client.get("/api/v1/invoices")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    for key in ["id", "number", "status", "subtotal", "tax", "total", "issued_at", "paid_at", "pdf_url", "lines"]:
        assert key in item
    assert item["id"] == str(invoice.pk) and item["number"] == invoice.number and item["status"] == "paid"
    assert (item["subtotal"], item["tax"], item["total"]) == (1_000_000, 110_000, 1_110_000)
    assert item["pdf_url"].endswith(f"/api/v1/invoices/{invoice.pk}/pdf") and item["pdf_url"].startswith("http")
    assert item["issued_at"].endswith("+07:00") or item["issued_at"][-6] in "+-"
    assert item["lines"] == [
        {
            "description": "10.000 message credits",
            "quantity": 10000,
            "unit_price": 100,
            "amount": 1_000_000,
            "tax_rate": "0.1200",
            "tax": 110_000,
        }
    ]
    # PMK 131/2024: PPN 12 % of DPP Nilai Lain = 11/12 × DPP.
    assert (item["tax_base"], item["other_tax_base"], item["tax_rate"]) == (1_000_000, "916666.67", "0.1200")
    assert api_client.get(f"/api/v1/invoices/{invoice.pk}").json() == item


def test_the_api_filters_by_status_and_month(api_client, invoice, organization, no_pdf):
    invoice_create(organization=organization, lines=LINES)
    assert len(api_client.get("/api/v1/invoices?status=issued").json()["results"]) == 1
    assert len(api_client.get("/api/v1/invoices?status=paid").json()["results"]) == 1
    month = invoice.issued_at.astimezone(invoice_pdf.JAKARTA).strftime("%Y-%m")
    assert len(api_client.get(f"/api/v1/invoices?month={month}").json()["results"]) == 2
    assert api_client.get("/api/v1/invoices?month=2001-01").json()["results"] == []
    assert api_client.get("/api/v1/invoices?month=nope").status_code == 400


def test_the_api_serves_the_stored_pdf(api_client, invoice):
    invoice.pdf.save(invoice.pdf_filename, ContentFile(b"%PDF-1.7 stored"), save=True)
    response = api_client.get(f"/api/v1/invoices/{invoice.pk}/pdf", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response.content == b"%PDF-1.7 stored"
    assert response["Content-Type"] == "application/pdf"


def test_the_api_needs_a_key(invoice):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/invoices").status_code == 401


def test_the_subscription_page_lists_invoices_with_filters(owner_client, invoice, organization, no_pdf):
    for _ in range(25):
        invoice_create(organization=organization, lines=LINES)
    response = owner_client.get("/billing/subscription/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "spend-chart" in body and "chart-4.6.1.umd.min.js" in body
    assert "26 invoices" in body and "Page 1 of 2" in body
    paid = owner_client.get("/billing/subscription/?status=paid").content.decode()
    assert invoice.number in paid and "1 invoice" in paid
    page2 = owner_client.get("/billing/subscription/?page=2")
    assert page2.status_code == 200 and "Page 2 of 2" in page2.content.decode()


def test_spend_per_month_counts_paid_invoices_less_credit_notes(organization, invoice, staff):
    from invoices.selectors import spend_per_month
    from invoices.services import invoice_credit_note

    months = spend_per_month(organization)
    assert len(months) == 12 and months[-1]["total"] == 1_110_000
    invoice_credit_note(invoice=invoice, reason="refund", actor=staff)
    assert spend_per_month(organization)[-1]["total"] == 0
    assert Invoice.objects.count() == 2
