"""Invoice PDFs with plain WeasyPrint: an A4 Indonesian tax invoice from one template
(``templates/invoices/pdf/invoice.html``) with bundled fonts.

WeasyPrint never touches the network or the file system outside ``static/``: :func:`safe_url_fetcher`
refuses every other URL, and every organization-provided value goes through the template's autoescape,
so a name like ``<img src="file:///etc/passwd">`` prints as text.

Speed: the stylesheet with its fonts is parsed once per process and shared by every render; the template is
laid out in simple blocks. ``bench/invoices_bench.py`` measures it (target: p95 <= 0.3 s).
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.money import format_rupiah, format_rupiah_sen, terbilang

from .selectors import invoice_open_payment

__all__ = ["render_invoice_pdf", "render_html_pdf", "safe_url_fetcher", "UnsafeURL"]

JAKARTA = ZoneInfo("Asia/Jakarta")
# WeasyPrint logs every rendering step at INFO; keep its warnings only.
for _name in ("weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)
STATIC_DIR = (Path(settings.BASE_DIR) / "static").resolve()
CSS_TEMPLATE = Path(settings.BASE_DIR) / "templates" / "invoices" / "pdf" / "invoice.css"


class UnsafeURL(ValueError):
    """WeasyPrint asked for something outside the static folder."""


def _static_path(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parsed.path)).resolve()
    return path if path.is_relative_to(STATIC_DIR) and path.is_file() else None


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class StaticOnlyURLFetcher(URLFetcher):
        """Serve files from ``static/`` only; anything else (http, a file outside static, data:) is refused
        before any I/O happens. ``refused`` lists what was asked for and refused."""

        def __init__(self):
            super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if _static_path(url) is None:
                self.refused.append(url)
                raise UnsafeURL(f"Refused to fetch {url[:200]!r}: invoices only load files from static/.")
            return super().fetch(url, headers)

    return StaticOnlyURLFetcher


def safe_url_fetcher():
    """A new static-only URL fetcher."""
    return _fetcher_class()()


# Fonts are loaded once per process: the stylesheet with its @font-face rules and the font configuration
# are shared by every render, which is most of what makes a render cheap.
_shared = threading.local()


@atexit.register
def _drop_fonts() -> None:
    # Let WeasyPrint clean its temporary font files while the interpreter is still whole.
    _shared.__dict__.clear()


def _stylesheet():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    if getattr(_shared, "css", None) is None:
        font_config = FontConfiguration()
        css = CSS(
            string=CSS_TEMPLATE.read_text(encoding="utf-8"),
            base_url=STATIC_DIR.as_uri() + "/",
            url_fetcher=safe_url_fetcher(),
            font_config=font_config,
        )
        _shared.css, _shared.font_config = css, font_config
    return _shared.css, _shared.font_config


def render_html_document(html: str, *, stylesheets: bool = True, url_fetcher=None):
    """Lay out ``html`` with the shared stylesheet and fonts: a WeasyPrint ``Document``."""
    from weasyprint import HTML

    css, font_config = _stylesheet()
    url_fetcher = url_fetcher or safe_url_fetcher()
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=url_fetcher)
    return document.render(stylesheets=[css] if stylesheets else None, font_config=font_config)


def render_html_pdf(html: str, *, stylesheets: bool = True, url_fetcher=None) -> bytes:
    return render_html_document(html, stylesheets=stylesheets, url_fetcher=url_fetcher).write_pdf()


# --- the invoice ----------------------------------------------------------------------------------------


def tax_summary(invoice) -> list[tuple[str, str]]:
    """The tax block of the page and the PDF: DPP, DPP Nilai Lain (when the invoice's rule uses it), PPN and
    its rate, as the e-Faktur export declares them (labels bilingual: an Indonesian tax document)."""
    rows = [("Subtotal (DPP)", format_rupiah(invoice.subtotal))]
    if invoice.uses_other_tax_base:
        factor = f"{invoice.tax_base_numerator}/{invoice.tax_base_denominator}"
        rows.append((f"DPP Nilai Lain ({factor} × DPP)", format_rupiah_sen(invoice.other_tax_base)))
    rows.append((f"PPN {invoice.tax_percent}%", format_rupiah(invoice.tax)))
    return rows


def tax_identity(invoice) -> dict:
    """The buyer's identity line (NPWP and NITKU, or NIK, or passport / other ID) and the seller's NITKU."""
    labels = {"National ID": "NIK", "Passport": "Paspor · Passport", "Other": "ID"}
    if invoice.buyer_document_type in labels and invoice.buyer_document_number:
        buyer = f"{labels[invoice.buyer_document_type]} {invoice.buyer_document_number}"
    else:
        buyer = f"NITKU {invoice.buyer_nitku}" if invoice.buyer_nitku else ""
    return {"buyer": buyer, "seller_nitku": invoice.seller_nitku}


def _payment(invoice) -> dict | None:
    payment = invoice_open_payment(invoice)
    if payment and payment.get("expires_at"):
        payment = {**payment, "expires_at": timezone.localtime(payment["expires_at"], JAKARTA)}
    return payment


def invoice_context(invoice) -> dict:
    lines = list(invoice.lines.all())
    rates = {line.tax_rate for line in lines}
    single_rate = (next(iter(rates)) * 100).normalize() if len(rates) == 1 else None
    local = lambda dt: timezone.localtime(dt, JAKARTA) if dt else None  # noqa: E731
    return {
        "invoice": invoice,
        "lines": lines,
        "tax_percent": single_rate,
        "issued_at": local(invoice.issued_at),
        "due_at": local(invoice.due_at),
        "paid_at": local(invoice.paid_at),
        "voided_at": local(invoice.voided_at),
        "amount_in_words": terbilang(invoice.total),
        "corrects": invoice.corrects,
        "payment": _payment(invoice),
        "pay_url": f"{settings.SITE_URL}/billing/invoices/{invoice.pk}/",
        "site_url": settings.SITE_URL,
        "logo": "img/invoice-logo.svg",
        "totals": tax_summary(invoice),
        "tax_identity": tax_identity(invoice),
    }


def _render_template(name: str, context: dict) -> str:
    # Invoices are Indonesian tax documents: labels are bilingual whatever the request's language.
    with translation.override("id"):
        return render_to_string(f"invoices/pdf/{name}.html", context)


def render_invoice_html(invoice, *, context: dict | None = None) -> str:
    return _render_template("invoice", context or invoice_context(invoice))


def render_invoice_pdf(invoice, *, url_fetcher=None) -> bytes:
    """The invoice as one WeasyPrint document."""
    return render_html_pdf(render_invoice_html(invoice), url_fetcher=url_fetcher)
