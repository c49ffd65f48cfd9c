"""Staff tax tools in the admin: tax rules (edited, overlaps refused), e-Faktur settings, e-Faktur XML for
selected invoices or a month, the NSFP one by one or from DJP's export, and the accountant CSV's tax columns."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from lxml import etree

from accounts.models import AuditEntry
from invoices.efaktur import efaktur_validate
from invoices.models import EfakturSettings, Invoice, TaxRule
from invoices.services import invoice_create, invoice_mark_paid

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
URL = "/admin/invoices/invoice/"
LINES = [{"description": "1.000 message credits", "quantity": 1000, "unit_price": 100}]


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def month_invoices(organization, no_pdf):
    with time_machine.travel(datetime(2026, 10, 20, 9, 0, tzinfo=JAKARTA), tick=False):
        paid = invoice_mark_paid(invoice=invoice_create(organization=organization, lines=LINES))
        unpaid = invoice_create(organization=organization, lines=LINES)
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=JAKARTA), tick=False):
        november = invoice_create(organization=organization, lines=LINES)
    return paid, unpaid, november


def test_staff_edit_tax_rules_and_overlaps_are_refused(staff_client):
    assert staff_client.get("/admin/invoices/taxrule/").status_code == 200
    rule = TaxRule.objects.get(valid_from=date(2025, 1, 1))
    page = staff_client.get(f"/admin/invoices/taxrule/{rule.pk}/change/")
    assert page.status_code == 200 and "DPP Nilai Lain" in page.content.decode()
    overlapping = {
        "name": "PPN 12% full",
        "valid_from": "2026-01-01",
        "rate": "0.12",
        "base_kind": "dpp",
        "other_base_numerator": 11,
        "other_base_denominator": 12,
        "trx_code": "01",
    }
    response = staff_client.post("/admin/invoices/taxrule/add/", overlapping)
    assert response.status_code == 200 and "overlaps" in response.content.decode()
    # End the current rule, then the new one fits.
    staff_client.post(
        f"/admin/invoices/taxrule/{rule.pk}/change/",
        {
            "name": rule.name,
            "valid_from": "2025-01-01",
            "valid_to": "2025-12-31",
            "rate": "0.12",
            "base_kind": "dpp_nilai_lain",
            "other_base_numerator": 11,
            "other_base_denominator": 12,
            "trx_code": "04",
        },
    )
    response = staff_client.post("/admin/invoices/taxrule/add/", overlapping)
    assert response.status_code == 302
    assert TaxRule.objects.get(valid_from=date(2026, 1, 1)).base_kind == "dpp"


def test_staff_edit_the_efaktur_codes(staff_client):
    settings_row = EfakturSettings.load()
    response = staff_client.post(
        f"/admin/invoices/efaktursettings/{settings_row.pk}/change/", {"service_code": "620100", "unit_code": "UM.0030"}
    )
    assert response.status_code == 302
    assert (EfakturSettings.load().service_code, EfakturSettings.load().unit_code) == ("620100", "UM.0030")


def test_the_admin_action_exports_selected_invoices_as_one_xml(staff_client, month_invoices):
    paid, unpaid, november = month_invoices
    response = staff_client.post(URL, {"action": "export_efaktur", "_selected_action": [paid.pk, november.pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    efaktur_validate(response.content)
    refs = etree.fromstring(response.content).xpath("//RefDesc/text()")
    assert refs == [paid.number, november.number]


def test_a_month_downloads_as_one_xml(staff_client, month_invoices):
    paid, unpaid, november = month_invoices
    form = staff_client.get(f"{URL}efaktur/")
    assert form.status_code == 200
    response = staff_client.get(f"{URL}efaktur/?month=2026-10")
    assert response.status_code == 200 and 'filename="efaktur-2026-10.xml"' in response["Content-Disposition"]
    refs = etree.fromstring(response.content).xpath("//RefDesc/text()")
    assert sorted(refs) == sorted([paid.number, unpaid.number])
    empty = staff_client.get(f"{URL}efaktur/?month=2001-01")
    assert empty.status_code == 200 and "No tax invoice to export" in empty.content.decode()


def test_staff_record_an_nsfp_from_the_list(staff_client, staff, month_invoices):
    paid = month_invoices[0]
    page = staff_client.post(URL, {"action": "record_nsfp", "_selected_action": [paid.pk]})
    assert page.status_code == 200 and "Faktur Pajak" in page.content.decode()
    bad = staff_client.post(
        URL, {"action": "record_nsfp", "_selected_action": [paid.pk], "apply": "1", "nsfp": "12", "reason": ""}
    )
    assert bad.status_code == 200 and "16 or 17 digits" in bad.content.decode()
    staff_client.post(
        URL,
        {"action": "record_nsfp", "_selected_action": [paid.pk], "apply": "1", "nsfp": "04002600000000077"},
    )
    paid.refresh_from_db()
    assert paid.nsfp == "04002600000000077"
    assert AuditEntry.objects.get(action="invoice.nsfp").actor == staff


def test_staff_upload_djps_export(staff_client, month_invoices):
    paid, unpaid, _november = month_invoices
    content = f"Referensi,Nomor Faktur Pajak\n{paid.number},04002600000000001\n{unpaid.number},04002600000000002\n"
    response = staff_client.post(
        f"{URL}nsfp-upload/", {"file": SimpleUploadedFile("djp.csv", content.encode(), content_type="text/csv")}
    )
    assert response.status_code == 200 and "2 recorded" in response.content.decode()
    assert set(Invoice.objects.exclude(nsfp="").values_list("nsfp", flat=True)) == {
        "04002600000000001",
        "04002600000000002",
    }
    bad = staff_client.post(f"{URL}nsfp-upload/", {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    assert "reference column" in bad.content.decode()


def test_the_accountant_csv_carries_the_tax_breakdown_and_nsfp(staff_client, staff, month_invoices, organization):
    paid = month_invoices[0]
    from invoices.services import invoice_record_nsfp

    invoice_record_nsfp(invoice=paid, nsfp="04002600000000099", actor=staff)
    response = staff_client.post(URL, {"action": "export_csv", "_selected_action": [paid.pk]})
    (row,) = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert (row["DPP"], row["DPP Nilai Lain"], row["PPN rate (%)"], row["PPN"]) == ("100000", "91666.67", "12", "11000")
    assert row["Faktur Pajak number (NSFP)"] == "04002600000000099" and row["Tax date"] == "2026-10-20"
    assert row["Seller NITKU"] == "0012345678901000000000" and row["Transaction code"] == "04"
    assert row["Buyer NITKU"] == paid.buyer_nitku
    assert Decimal(row["DPP Nilai Lain"]) == paid.other_tax_base
