"""Invoice PDFs with WeasyPrint: an A4 Indonesian tax invoice with bundled fonts.

WeasyPrint never touches the network or the file system outside ``static/``: :func:`safe_url_fetcher`
refuses every other URL, and every organization-provided value goes through the template's autoescape,
so a name like ``<img src="file:///etc/passwd">`` prints as text.

Speed: WeasyPrint's cost grows with every box it lays out and draws, and most of an invoice is the same on
every invoice of a kind and status: logo, seller, title, labels, status stamp, the table header, the boxes and
labels of the totals and payment blocks, the note. Those are three fixed layers (``letterhead.html`` for page 1,
``continued.html`` for the table header of pages 2+, ``closing.html`` for the closing block), each rendered once
per process and per distinct text, and laid under the per-invoice layer (``invoice.html``) as form XObjects
(pikepdf, about a millisecond). The per-invoice layer holds only what belongs to that invoice. All share
``invoice.css``, so their blocks line up; ``bench/invoices_bench.py`` measures it.
"""

from __future__ import annotations

import atexit
import functools
import io
import logging
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.money import terbilang

__all__ = ["render_invoice_pdf", "render_html_pdf", "safe_url_fetcher", "UnsafeURL"]

JAKARTA = ZoneInfo("Asia/Jakarta")
# WeasyPrint logs every rendering step at INFO; keep its warnings only.
for _name in ("weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)
STATIC_DIR = (Path(settings.BASE_DIR) / "static").resolve()
CSS_TEMPLATE = Path(settings.BASE_DIR) / "templates" / "billing" / "pdf" / "invoice.css"


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
        "site_url": settings.SITE_URL,
        "logo": "img/invoice-logo.svg",
    }


def _render_template(name: str, context: dict) -> str:
    # Invoices are Indonesian tax documents: labels are bilingual whatever the request's language.
    with translation.override("id"):
        return render_to_string(f"billing/pdf/{name}.html", context)


def render_invoice_html(invoice, *, context: dict | None = None) -> str:
    """The per-invoice layer's HTML."""
    return _render_template("invoice", context or invoice_context(invoice))


def render_letterhead_html(invoice, *, context: dict | None = None) -> str:
    """Page 1's fixed layer: logo, seller, title, labels, stamp and table header; nothing an organization typed."""
    return _render_template("letterhead", context or invoice_context(invoice))


def render_continued_html(invoice, *, context: dict | None = None) -> str:
    """The table header repeated at the top of pages 2 and after."""
    return _render_template("continued", context or invoice_context(invoice))


def render_closing_html(invoice, *, context: dict | None = None) -> str:
    """The boxes and labels of the totals and payment blocks, and the note."""
    return _render_template("closing", context or invoice_context(invoice))


ANCHOR = "closing"
_LAYERS_MAX = 64
_layers: dict[str, tuple[bytes, tuple[int, float] | None]] = {}
_layers_lock = threading.Lock()


def _anchor(document) -> tuple[int, float] | None:
    """(page index, y in PDF points from the top) of the element with id ``closing``."""
    for index, page in enumerate(document.pages):
        if ANCHOR in page.anchors:
            return index, page.anchors[ANCHOR][1] * 0.75  # CSS px → pt
    return None


def static_layer(html: str) -> tuple[bytes, tuple[int, float] | None]:
    """A fixed layer, rendered once and cached by its own HTML (seller settings or labels that change make a
    new entry, never a stale one): its PDF and where its anchor landed."""
    with _layers_lock:
        cached = _layers.get(html)
    if cached is None:
        document = render_html_document(html)
        cached = (document.write_pdf(), _anchor(document))
        with _layers_lock:
            if len(_layers) >= _LAYERS_MAX:
                _layers.clear()
            _layers[html] = cached
    return cached


def compose(
    content: bytes,
    *,
    first: bytes,
    others: bytes | None = None,
    closing: bytes | None = None,
    closing_to: tuple[int, float] | None = None,
    closing_from: float = 0.0,
) -> bytes:
    """Lay page 1 of ``first`` under page 1 of ``content``, page 1 of ``others`` under every later page, and
    page 1 of ``closing`` under page ``closing_to[0]`` moved down by ``closing_to[1] - closing_from`` points;
    each as a form XObject (no content stream is parsed)."""
    import pikepdf

    with pikepdf.Pdf.open(io.BytesIO(content)) as pdf, pikepdf.Pdf.open(io.BytesIO(first)) as letterhead:
        pages = pdf.pages
        page = pages[0]
        page.add_underlay(pdf.copy_foreign(letterhead.pages[0].as_form_xobject()), pikepdf.Rectangle(*page.mediabox))
        if others is not None and len(pages) > 1:
            with pikepdf.Pdf.open(io.BytesIO(others)) as continued:
                header = pdf.copy_foreign(continued.pages[0].as_form_xobject())
                for page in pages[1:]:
                    page.add_underlay(header, pikepdf.Rectangle(*page.mediabox))
        if closing is not None and closing_to is not None:
            with pikepdf.Pdf.open(io.BytesIO(closing)) as labels:
                page = pages[closing_to[0]]
                box = pikepdf.Rectangle(page.mediabox)  # page geometry in points, not money
                down = closing_to[1] - closing_from
                page.add_underlay(
                    pdf.copy_foreign(labels.pages[0].as_form_xobject()),
                    pikepdf.Rectangle(box.llx, box.lly - down, box.urx, box.ury - down),
                )
        out = io.BytesIO()
        # WeasyPrint compressed its streams already: pass them through rather than decode and re-encode them.
        pdf.save(out, compress_streams=True, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return out.getvalue()


def render_invoice_pdf(invoice, *, url_fetcher=None) -> bytes:
    """The invoice's own layer, rendered now, with the cached fixed layers laid under it."""
    context = invoice_context(invoice)
    document = render_html_document(render_invoice_html(invoice, context=context), url_fetcher=url_fetcher)
    letterhead, _ = static_layer(render_letterhead_html(invoice, context=context))
    continued = static_layer(render_continued_html(invoice, context=context))[0] if len(document.pages) > 1 else None
    closing, closing_at = static_layer(render_closing_html(invoice, context=context))
    return compose(
        document.write_pdf(),
        first=letterhead,
        others=continued,
        closing=closing,
        closing_to=_anchor(document),
        closing_from=closing_at[1] if closing_at else 0.0,
    )
