"""Meta's rate card as XLSX, read as published: the first worksheet, through the same parser as the CSV.

The workbooks are built here with openpyxl from ``tests/fixtures/whatsapp/rate_card_idr_sample.csv`` (Meta's
layout, test figures), numbers typed as Meta's sheets type them (int, float, Decimal) or kept as text."""

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.models import RateCard, RateCardImport
from conversations.services import (
    RateCardFileError,
    parse_rate_card,
    rate_card_import_apply,
    rate_card_import_preview,
    xlsx_rows,
)
from conversations.services.rate_cards import _cell_text

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp" / "rate_card_idr_sample.csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _typed(cell: str, number_type):
    plain = cell.replace(",", "")
    try:
        value = Decimal(plain)
    except ArithmeticError:
        return cell
    if not plain or not value.is_finite():
        return cell
    if number_type is int and value == value.to_integral_value():
        return int(value)
    if number_type is float:
        return float(plain)
    return value if number_type is Decimal else cell


def xlsx_from_csv(text: str, *, number_type=Decimal, extra_sheet: bool = False) -> bytes:
    """The CSV's cells in the first worksheet of a workbook, numbers as ``number_type`` (``str``: as text)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "IDR"
    for line in csv.reader(io.StringIO(text)):
        sheet.append([_typed(cell, number_type) if cell else None for cell in line])
    if extra_sheet:  # a second sheet is not read (Meta's notes, another table)
        workbook.create_sheet("Notes").append(["Market", "Currency", "Marketing"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rates(rows: list[dict]) -> list[tuple]:
    return [(r["market"], r["category"], r["tier_from"], r["tier_to"], Decimal(r["price"])) for r in rows]


@pytest.mark.parametrize("number_type", [Decimal, int, float, str])
def test_it_reads_an_xlsx_as_the_same_rates_as_its_csv(number_type):
    text = SAMPLE.read_text()
    content = xlsx_from_csv(text, number_type=number_type, extra_sheet=True)
    currency, csv_rows, csv_warnings = parse_rate_card(text)
    preview = rate_card_import_preview(
        file_name="IDR rate card.xlsx", content=content, effective_from=date(2025, 7, 1), actor=None
    )
    assert (preview.currency, preview.file_name) == (currency, "IDR rate card.xlsx")
    assert _rates(preview.rows) == _rates(csv_rows)
    assert preview.warnings == csv_warnings  # the same line numbers: one row per CSV line
    assert not RateCard.objects.filter(imported_from=preview).exists()  # a preview rates nothing


def test_applying_the_xlsx_creates_the_same_cards_as_the_csv():
    text = SAMPLE.read_text()
    from_csv = rate_card_import_preview(
        file_name="idr.csv", content=text.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    from_xlsx = rate_card_import_preview(
        file_name="idr.xlsx", content=xlsx_from_csv(text), effective_from=date(2025, 8, 1), actor=None
    )
    assert rate_card_import_apply(rate_card_import=from_csv, actor=None) == len(from_csv.rows)
    assert rate_card_import_apply(rate_card_import=from_xlsx, actor=None) == len(from_xlsx.rows)

    def cards(rate_card_import):
        return sorted(
            RateCard.objects.filter(imported_from=rate_card_import).values_list(
                "market", "category", "tier_from", "tier_to", "price", "currency"
            )
        )

    assert cards(from_xlsx) == cards(from_csv)
    assert ("ID", "authentication_international", 1, None, Decimal("2217.00"), "IDR") in cards(from_xlsx)
    assert rate_card_import_apply(rate_card_import=from_xlsx, actor=None) == 0  # applied once


def test_staff_upload_the_xlsx_in_the_admin_preview_then_apply(staff_client):
    upload = SimpleUploadedFile("IDR.xlsx", xlsx_from_csv(SAMPLE.read_text()), content_type=XLSX_TYPE)
    response = staff_client.post(
        "/admin/conversations/ratecardimport/add/", {"file": upload, "effective_date": "2025-07-01"}
    )
    assert response.status_code == 302
    page = staff_client.get(response["Location"])
    assert b"rate-card-preview" in page.content and b"Rest of Asia Pacific" in page.content
    assert RateCard.objects.filter(market="IN").count() == 0
    assert staff_client.post(response["Location"]).status_code == 302
    assert RateCard.objects.filter(market="IN").count() == 5
    assert RateCardImport.objects.get().status == "applied"


def test_the_admin_form_says_it_takes_xlsx(staff_client):
    page = staff_client.get("/admin/conversations/ratecardimport/add/")
    assert b"XLSX" in page.content
    assert b"Save Meta" not in page.content


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (657, "657"),
        (657.5, "657.5"),
        (0.1, "0.1"),  # str(0.1), not the binary float's 0.1000000000000000055...
        (1e-05, "0.00001"),  # plain notation, never "1e-05" (whose digits would read as 105)
        (1e16, "10000000000000000"),
        (Decimal("2217.00"), "2217.00"),
        (float("inf"), ""),
        (float("nan"), ""),
        ("1,284.00", "1,284.00"),
        (None, ""),
    ],
)
def test_spreadsheet_numbers_become_exact_text(value, text):
    assert _cell_text(value) == text


def test_a_price_that_a_card_cannot_store_is_reported_not_rounded():
    text = "Market,Currency,Marketing,Utility\nIndonesia,IDR,657.123,321\n"
    preview = rate_card_import_preview(
        file_name="idr.xlsx",
        content=xlsx_from_csv(text, number_type=float),
        effective_from=date(2025, 7, 1),
        actor=None,
    )
    assert _rates(preview.rows) == [("ID", "utility", 1, None, Decimal(321))]
    assert any("marketing price '657.123' not understood" in w for w in preview.warnings)


@pytest.mark.parametrize("cell", ["-5", "Rp -657", "\u2212321", "- 430"])
def test_a_negative_price_is_reported_never_read_as_positive(cell):
    text = f"Market,Currency,Marketing,Utility\nIndonesia,IDR,{cell},321\n"
    preview = rate_card_import_preview(
        file_name="idr.csv", content=text.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    assert _rates(preview.rows) == [("ID", "utility", 1, None, Decimal(321))]
    assert any("marketing price" in w and "not understood" in w for w in preview.warnings)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _empty_workbook() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


BAD_FILES = [
    pytest.param("card.xlsx", b"Market,Currency\nthis is a CSV renamed", "not a readable XLSX", id="not-a-zip"),
    pytest.param("card.xlsx", xlsx_from_csv(SAMPLE.read_text())[:3000], "not a readable XLSX", id="truncated-xlsx"),
    pytest.param("card.xlsx", _zip({"readme.txt": b"hello"}), "not a readable XLSX", id="a-zip-that-is-no-workbook"),
    pytest.param(
        "card.xlsx",
        _zip({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<<<"}),
        "not a readable XLSX",
        id="broken-xml",
    ),
    pytest.param("card.xlsx", _empty_workbook(), "worksheet of the XLSX file is empty", id="empty-sheet"),
    pytest.param("card.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000), "Old Excel files \\(.xls\\)", id="xls"),
    pytest.param("card.xls", b"whatever", "not a readable XLSX", id="xls-name-not-xls-content"),
    pytest.param(
        "card.xlsx",
        xlsx_from_csv("Some title\n\nMarket,Currency,Marketing\nIndia,USD,0.01\n"),
        "bills in IDR",
        id="usd-xlsx",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_a_bad_file_is_a_clear_error(name, content, message):
    with pytest.raises(RateCardFileError, match=message):
        rate_card_import_preview(file_name=name, content=content, effective_from=date(2025, 7, 1), actor=None)
    assert RateCardImport.objects.count() == 0


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_a_bad_file_is_a_form_error_in_the_admin_never_a_500(staff_client, name, content, message):
    upload = SimpleUploadedFile(name, content, content_type=XLSX_TYPE)
    response = staff_client.post(
        "/admin/conversations/ratecardimport/add/", {"file": upload, "effective_date": "2025-07-01"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert RateCardImport.objects.count() == 0


def test_a_sheet_bomb_is_refused_without_reading_it():
    # A few KB that unpack to far more than any rate card: refused before openpyxl unpacks it.
    bomb = _zip({"xl/worksheets/sheet1.xml": b" " * (60 * 1024 * 1024)})
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(RateCardFileError, match="more than 50 MB"):
        xlsx_rows(bomb)


def test_a_csv_with_a_field_over_the_csv_limit_is_a_file_error():
    content = b'Market,Currency,Marketing\n"' + b"x" * 200_000 + b'",IDR,1\n'
    with pytest.raises(RateCardFileError, match="CSV file cannot be read"):
        rate_card_import_preview(file_name="card.csv", content=content, effective_from=date(2025, 7, 1), actor=None)


_VALID = xlsx_from_csv(SAMPLE.read_text())


@st.composite
def damaged_xlsx(draw) -> bytes:
    """A real workbook with a few bytes overwritten, then cut short: corrupt zips, CRCs and XML."""
    content = bytearray(_VALID)
    for _ in range(draw(st.integers(1, 8))):
        content[draw(st.integers(0, len(content) - 1))] = draw(st.integers(0, 255))
    return bytes(content[: draw(st.integers(1, len(content)))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=512).map(lambda tail: b"PK\x03\x04" + tail),
        damaged_xlsx(),
    )
)
def test_any_bytes_uploaded_as_xlsx_raise_only_the_modules_error(content):
    try:
        preview = rate_card_import_preview(
            file_name="card.xlsx", content=content, effective_from=date(2025, 7, 1), actor=None
        )
    except RateCardFileError:
        return
    # A damaged copy can still be a readable workbook: then it is an ordinary preview.
    assert preview.currency == "IDR"


def test_an_upload_over_2_mb_is_a_form_error(staff_client):
    upload = SimpleUploadedFile("card.xlsx", b"PK\x03\x04" + bytes(2 * 1024 * 1024), content_type=XLSX_TYPE)
    response = staff_client.post(
        "/admin/conversations/ratecardimport/add/", {"file": upload, "effective_date": "2025-07-01"}
    )
    assert response.status_code == 200
    assert "larger than 2 MB" in str(response.context["adminform"].form.errors)
    assert RateCardImport.objects.count() == 0
