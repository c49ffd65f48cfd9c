"""Invoice PDFs: the text a reader (and a tax office) needs, no fetches outside static/, regeneration."""

import io
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import time_machine
from pypdf import PdfReader

from core.money import terbilang
from invoices import pdf as invoice_pdf
from invoices.models import Invoice
from invoices.services import invoice_create, invoice_mark_paid, invoice_pdf_bytes, invoice_render_pdf, invoice_void

JAKARTA = ZoneInfo("Asia/Jakarta")
REPO = Path(__file__).resolve().parents[2]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def sample(organization, no_pdf):
    organization.name = "Toko Maju"
    organization.legal_name = "PT Toko Maju Sejahtera"
    organization.npwp = "02.345.678.9-012.000"
    organization.address = "Jl. Gajah Mada No. 12\nJakarta Pusat 10130"
    organization.invoice_email = "finance@tokomaju.id"
    organization.save()
    with time_machine.travel(datetime(2026, 11, 3, 10, 15, tzinfo=JAKARTA), tick=False):
        invoice = invoice_create(
            organization=organization,
            lines=[
                {"description": "10.000 kredit pesan chatbot · berlaku 30 hari", "quantity": 10000, "unit_price": 100}
            ],
        )
        return invoice_mark_paid(invoice=invoice, payment_reference="VA 8808 1234 5678 9012")


def test_it_prints_number_buyer_tax_and_total(sample):
    text = pdf_text(invoice_pdf.render_invoice_pdf(sample))
    assert "INV/2026/11/000001" in text
    assert "PT Toko Maju Sejahtera" in text
    assert "02.345.678.9-012.000" in text
    assert "PPN 12%" in text and "DPP Nilai Lain" in text and "Rp 916.666,67" in text  # PMK 131/2024
    assert "Rp 1.000.000" in text and "Rp 110.000" in text and "Rp 1.110.000" in text
    assert "satu juta seratus sepuluh ribu rupiah" in text.lower()
    assert "LUNAS" in text and "PAID" in text
    assert "VA 8808 1234 5678 9012" in text


def test_it_is_a4(sample):
    page = PdfReader(io.BytesIO(invoice_pdf.render_invoice_pdf(sample))).pages[0]
    width_mm, height_mm = float(page.mediabox.width) / 72 * 25.4, float(page.mediabox.height) / 72 * 25.4
    assert round(width_mm) == 210 and round(height_mm) == 297


def test_it_stamps_unpaid_and_void(organization, no_pdf):
    invoice = invoice_create(organization=organization, lines=[{"description": "x", "quantity": 1, "unit_price": 1000}])
    assert "BELUM DIBAYAR" in pdf_text(invoice_pdf.render_invoice_pdf(invoice))
    invoice = invoice_void(invoice=invoice, reason="Payment session expired")
    text = pdf_text(invoice_pdf.render_invoice_pdf(invoice))
    assert "BATAL" in text and "VOID" in text and "Payment session expired" in text
    assert "Sesi pembayaran kedaluwarsa" in text  # Saldo's own reason in Indonesian beside the stored English


def test_a_hostile_name_renders_as_text_and_fetches_nothing(organization, no_pdf, monkeypatch):
    hostile = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://evil.example/x.css">'
    organization.name = hostile
    organization.legal_name = ""
    organization.address = '<img src="http://169.254.169.254/latest/meta-data/">'
    organization.save()
    invoice = invoice_create(
        organization=organization, lines=[{"description": "<img src='/etc/shadow'>", "quantity": 1, "unit_price": 5}]
    )
    fetcher = invoice_pdf.safe_url_fetcher()
    asked = []
    original = type(fetcher).fetch

    def spy(self, url, headers=None):
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(type(fetcher), "fetch", spy)
    text = pdf_text(invoice_pdf.render_invoice_pdf(invoice, url_fetcher=fetcher))
    assert '<img src="file:///etc/passwd">' in text.replace("\n", "")
    assert fetcher.refused == []
    static = invoice_pdf.STATIC_DIR.as_uri()
    assert asked and all(url.startswith(static) for url in asked), asked
    assert not any(bad in url for url in asked for bad in ("passwd", "shadow", "169.254", "evil.example")), asked


def test_the_fetcher_refuses_everything_outside_static():
    fetcher = invoice_pdf.safe_url_fetcher()
    for url in [
        "file:///etc/passwd",
        "http://example.com/logo.png",
        "https://example.com/x.css",
        invoice_pdf.STATIC_DIR.as_uri() + "/../config/settings/base.py",
        "data:text/plain,hi",
    ]:
        with pytest.raises(invoice_pdf.UnsafeURL):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 5
    response = fetcher.fetch(invoice_pdf.STATIC_DIR.as_uri() + "/img/logo.svg")
    response.close()


def test_it_stores_the_pdf_and_serves_it_without_rendering(sample, monkeypatch):
    invoice_render_pdf(invoice=sample)
    sample.refresh_from_db()
    assert sample.pdf.name.endswith(".pdf") and sample.pdf_status == "paid"
    stored = sample.pdf.read()
    sample.pdf.close()

    def boom(*args, **kwargs):
        raise AssertionError("rendered while a stored PDF exists")

    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", boom)
    assert invoice_pdf_bytes(invoice=sample) == stored


def test_a_missing_stored_pdf_is_regenerated(sample):
    invoice_render_pdf(invoice=sample)
    sample.refresh_from_db()
    sample.pdf.storage.delete(sample.pdf.name)
    content = invoice_pdf_bytes(invoice=sample)
    assert "INV/2026/11/000001" in pdf_text(content)
    sample.refresh_from_db()
    assert sample.pdf.storage.exists(sample.pdf.name)


def test_a_status_change_rerenders(organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create(
            organization=organization, lines=[{"description": "x", "quantity": 1, "unit_price": 1000}]
        )
    invoice.refresh_from_db()
    assert invoice.pdf_status == "issued" and "BELUM DIBAYAR" in pdf_text(invoice.pdf.read())
    with django_capture_on_commit_callbacks(execute=True):
        invoice_mark_paid(invoice=invoice, payment_reference="TRX-1")
    invoice.refresh_from_db()
    assert invoice.pdf_status == "paid" and "LUNAS" in pdf_text(invoice.pdf.read())
    assert Invoice.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "nol rupiah"),
        (1, "satu rupiah"),
        (11, "sebelas rupiah"),
        (15, "lima belas rupiah"),
        (100, "seratus rupiah"),
        (111, "seratus sebelas rupiah"),
        (1000, "seribu rupiah"),
        (1_110_000, "satu juta seratus sepuluh ribu rupiah"),
        (111_000, "seratus sebelas ribu rupiah"),
        (2_500_321, "dua juta lima ratus ribu tiga ratus dua puluh satu rupiah"),
        (1_000_000_000, "satu miliar rupiah"),
        (7_000_001_000_000, "tujuh triliun satu juta rupiah"),
    ],
)
def test_terbilang(amount, words):
    assert terbilang(amount) == words


def test_it_renders_a_sample_picture(sample, tmp_path):
    # docs/screenshots/ is refreshed only on purpose (SALDO_SCREENSHOTS=1); a normal run leaves the tree clean.
    out = REPO / "docs" / "screenshots" if os.environ.get("SALDO_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(invoice_pdf.render_invoice_pdf(sample))
    page = document[0]
    width, height = page.get_size()
    assert round(width / 72 * 25.4) == 210 and round(height / 72 * 25.4) == 297  # A4, in millimetres
    picture = page.render(scale=90 / 72).to_pil().convert("L")
    picture.save(out / "invoice-sample.png")
    # A real page: ink in the letterhead (top fifth) and in the body, a white margin at the bottom edge.
    w, h = picture.size

    def ink(box):
        return picture.crop(box).point(lambda value: 255 if value < 128 else 0).histogram()[255]

    assert ink((0, 0, w, h // 5)) > 2_000
    assert ink((0, h // 5, w, h * 3 // 4)) > 5_000
    assert ink((0, h - 10, w, h)) == 0


def test_each_invoice_is_one_plain_weasyprint_document(organization, no_pdf, monkeypatch):
    first = invoice_create(
        organization=organization, lines=[{"description": "first", "quantity": 1, "unit_price": 1000}]
    )
    second = invoice_create(
        organization=organization, lines=[{"description": "second", "quantity": 2, "unit_price": 700}]
    )
    rendered = []
    real = invoice_pdf.render_html_document
    monkeypatch.setattr(
        invoice_pdf, "render_html_document", lambda html, **kw: rendered.append(html) or real(html, **kw)
    )
    text_first = pdf_text(invoice_pdf.render_invoice_pdf(first))
    text_second = pdf_text(invoice_pdf.render_invoice_pdf(second))
    assert len(rendered) == 2
    assert "first" in text_first and "Rp 1.000" in text_first
    assert "second" in text_second and "Rp 1.400" in text_second and "first" not in text_second
    for text in (text_first.lower(), text_second.lower()):
        assert (
            "ditagihkan kepada" in text and "harga satuan" in text and "pembayaran" in text and "bayar sebelum" in text
        )


SIX_LINE_ADDRESS = "\n".join(
    [
        "Gedung Menara Sentraya Lantai 23, Unit 2301-2305, Sayap Timur, Kompleks Blok M",
        "Jl. Iskandarsyah Raya No. 1A, RT 003 / RW 001, dekat Pintu Masuk Utara dan Halte Transjakarta",
        "Kelurahan Melawai, Kecamatan Kebayoran Baru, Kota Administrasi Jakarta Selatan",
        "Daerah Khusus Ibukota Jakarta 12160, Indonesia (penerimaan dokumen: bagian keuangan)",
        "Up. Ibu Ratna Kusumawardhani, Manajer Keuangan, telp. +62 21 5099 1234 ext. 221",
        "Cantumkan nomor PO 4500123456 dan kontrak KTR/2026/0042 pada setiap tagihan",
    ]
)


def test_a_six_line_address_of_500_characters_prints_in_full(organization, no_pdf, tmp_path):
    assert len(SIX_LINE_ADDRESS.splitlines()) == 6 and 450 <= len(SIX_LINE_ADDRESS) <= 500
    organization.legal_name = "PT Sentosa Makmur Abadi"
    organization.npwp = "0123456789012345"
    organization.address = SIX_LINE_ADDRESS
    organization.save()
    with time_machine.travel(datetime(2026, 11, 3, 10, 15, tzinfo=JAKARTA), tick=False):
        invoice = invoice_create(
            organization=organization,
            lines=[
                {"description": "25.000 kredit pesan chatbot · berlaku 30 hari", "quantity": 25000, "unit_price": 100}
            ],
        )
    content = invoice_pdf.render_invoice_pdf(invoice)
    flat = " ".join(pdf_text(content).split())
    for line in SIX_LINE_ADDRESS.splitlines():
        assert " ".join(line.split()) in flat, line
    out = REPO / "docs" / "screenshots" if os.environ.get("SALDO_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page = pdfium.PdfDocument(content)[0]
    page.render(scale=110 / 72).to_pil().convert("RGB").save(out / "invoice-six-line-address.png")


def test_a_long_invoice_keeps_its_labels_on_the_page_where_the_totals_land(organization, no_pdf):
    lines = [
        {"description": f"Percakapan WhatsApp kategori {i} · Indonesia", "quantity": 100 + i, "unit_price": 321}
        for i in range(40)
    ]
    invoice = invoice_create(organization=organization, lines=lines)
    reader = PdfReader(io.BytesIO(invoice_pdf.render_invoice_pdf(invoice)))
    assert len(reader.pages) >= 2
    first, last = reader.pages[0].extract_text().lower(), reader.pages[-1].extract_text().lower()
    assert "ditagihkan kepada" in first and "pembayaran" not in first
    assert "pembayaran" in last and "terbilang" in last and "total" in last
    assert "kategori 39" in " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_every_page_has_the_table_header_the_number_and_a_page_count(organization, no_pdf):
    lines = [
        {"description": f"Percakapan WhatsApp kategori {i} · Indonesia", "quantity": 100 + i, "unit_price": 321}
        for i in range(40)
    ]
    invoice = invoice_create(organization=organization, lines=lines)
    pages = [
        " ".join(page.extract_text().split()).lower()
        for page in PdfReader(io.BytesIO(invoice_pdf.render_invoice_pdf(invoice))).pages
    ]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        # The table header repeats on every page that carries lines (a page holding only the totals needs none).
        if "kategori" in text:
            assert "harga satuan" in text and "jumlah" in text, number
        assert invoice.number.lower() in text, number
        assert f"halaman {number} dari {len(pages)}" in text, number
    # The letterhead is on page 1 only.
    assert "ditagihkan kepada" in pages[0] and not any("ditagihkan kepada" in text for text in pages[1:])


def test_a_one_page_invoice_says_page_1_of_1_and_repeats_nothing(sample):
    reader = PdfReader(io.BytesIO(invoice_pdf.render_invoice_pdf(sample)))
    text = " ".join(reader.pages[0].extract_text().split()).lower()
    assert len(reader.pages) == 1
    assert "halaman 1 dari 1" in text and text.count("harga satuan") == 1


def test_it_renders_the_tax_sample_picture(sample, staff, tmp_path):
    """PMK 131/2024 on paper: DPP, DPP Nilai Lain 11/12, PPN 12 %, the NITKUs and the recorded NSFP
    (docs/screenshots/invoice-tax-ppn12.png with SALDO_SCREENSHOTS=1)."""
    from invoices.services import invoice_record_nsfp

    sample = invoice_record_nsfp(invoice=sample, nsfp="04002600000012345", actor=staff)
    pdf = invoice_pdf.render_invoice_pdf(sample)
    text = pdf_text(pdf)
    for figure in ("DPP Nilai Lain (11/12 × DPP)", "Rp 916.666,67", "PPN 12%", "Rp 110.000", "04002600000012345"):
        assert figure in text
    assert "0023456789012000000000" in text and "0012345678901000000000" in text  # buyer's and seller's NITKU
    out = REPO / "docs" / "screenshots" if os.environ.get("SALDO_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page = pdfium.PdfDocument(pdf)[0]
    picture = page.render(scale=110 / 72).to_pil().convert("L")
    picture.save(out / "invoice-tax-ppn12.png")
    w, h = picture.size
    assert picture.crop((0, h - 10, w, h)).point(lambda v: 255 if v < 128 else 0).histogram()[255] == 0
