"""Rate cards from Meta's published files: read and preview, then apply once.

Meta publishes its WhatsApp Business Platform rates as one file per currency (rate card: a row per market,
a column per category) and, from July 2025, the volume tiers of utility and authentication (a row per market,
category and tier). Staff upload the IDR file with the date it takes effect; Saldo shows what it read
(markets, categories, tiers, anything it could not read) and applies it only when staff confirm.

Files read: Meta's XLSX as published (the first worksheet, read with openpyxl in read-only mode) or a CSV (Meta's
download, or the XLSX saved as CSV). Both become one stream of rows of text cells for one parser, so both are
validated alike; spreadsheet numbers become text through ``str()`` (exact for int, float's shortest repr and
Decimal), never float arithmetic. Header rows before the table are skipped. Tables read:
- rate card: ``Market, Currency, Marketing, Utility, Authentication, Authentication-International, Service``
  (column names in any case and order; an empty, ``n/a`` or ``-`` cell means Meta has no such rate there);
- volume tiers: ``Market, Currency, Category, Tier, Rate`` where ``Tier`` is ``1-100,000``, ``100,001+`` or
  Meta's webhook form ``100001:500000``.
Both tables may be in one file, one after the other, each with its header row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record

from ..markets import market_key_for_name
from ..models import Conversation, RateCard, RateCardImport, RateCategory

BILLING_CURRENCY = "IDR"
MAX_FILE_BYTES = 2 * 1024 * 1024
# An XLSX is a zip: what it may unpack to, and how much of its first sheet is read (Meta's card is ~30 rows of
# 7 columns plus the tier table), so a small upload cannot make the parser unpack or walk gigabytes.
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_SHEET_ROWS = 20_000
MAX_SHEET_COLUMNS = 64
# What RateCard stores: ``price`` is DecimalField(max_digits=12, decimal_places=2), tiers PositiveBigIntegerField.
_CENT = Decimal("0.01")
_MAX_PRICE = Decimal(10) ** 10
_MAX_TIER = 2**63 - 1
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003)

_CATEGORY_COLUMNS = {
    "marketing": RateCategory.MARKETING,
    "utility": RateCategory.UTILITY,
    "authentication": RateCategory.AUTHENTICATION,
    "authentication-international": RateCategory.AUTHENTICATION_INTERNATIONAL,
    "authentication international": RateCategory.AUTHENTICATION_INTERNATIONAL,
    "authentication_international": RateCategory.AUTHENTICATION_INTERNATIONAL,
    "service": RateCategory.SERVICE,
}
_EMPTY = {"", "n/a", "na", "-", "–", "—", "not available"}


class RateCardFileError(ValueError):
    """The file cannot be read as a Meta rate card (shown to staff; nothing is stored)."""


def _clean(cell: str) -> str:
    return re.sub(r"\s+", " ", (cell or "").replace("\ufeff", "")).strip()


def _price(cell: str) -> Decimal | None:
    """A price cell: ``None`` when Meta has no rate there, ``ValueError`` when it holds something that is not a
    price a card can store."""
    text = _clean(cell).lower()
    if text in _EMPTY:
        return None
    if re.match(r"^[^0-9]*[-\u2212]", text):  # "-5", "Rp -5", "−5": a negative rate is an error, never 5
        raise ValueError(text)
    text = re.sub(r"[^0-9.,]", "", text)
    if not text:
        return None
    # "1,234.56" (Meta's files) or "1.234,56": the last separator is the decimal one when two kinds appear.
    if "," in text and "." in text:
        text = text.replace(",", "") if text.rfind(".") > text.rfind(",") else text.replace(".", "").replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = head.replace(",", "") + ("." + tail if len(tail) != 3 else tail)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    # Only what a card can store exactly: below 10^10 rupiah and whole cents (never rounded silently).
    if not value.is_finite() or value < 0 or value >= _MAX_PRICE or value != value.quantize(_CENT):
        raise ValueError(text)
    return value


def _tier(cell: str) -> tuple[int, int | None] | None:
    numbers = [int(n.replace(",", "").replace(".", "")) for n in re.findall(r"\d[\d,.]*", _clean(cell))]
    if not numbers:
        return None
    start = max(numbers[0], 1)
    end = numbers[1] if len(numbers) > 1 else None
    if start > _MAX_TIER or (end is not None and end > _MAX_TIER):
        return None
    return start, end


def parse_rate_card(text: str) -> tuple[str, list[dict], list[str]]:
    """Read Meta's rate card and/or volume tier table from CSV text: see ``parse_rate_card_rows``."""
    try:
        # Read whole here so a malformed CSV (a field over csv's limit) is a file error, not a crash mid-parse.
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RateCardFileError(f"The CSV file cannot be read ({exc}).") from exc
    return parse_rate_card_rows(lines)


def parse_rate_card_rows(lines: Iterable[Sequence[str]]) -> tuple[str, list[dict], list[str]]:
    """Read Meta's rate card and/or volume tier table from rows of text cells (a CSV's lines or an XLSX
    sheet's rows): ``(currency, rows, warnings)``.

    Each row is ``{"market", "market_name", "category", "tier_from", "tier_to", "price"}`` (price a string, to
    store as JSON). Raises ``RateCardFileError`` when no table is found or currencies are mixed."""
    rows: list[dict] = []
    warnings: list[str] = []
    currencies: set[str] = set()
    header: dict[str, int] | None = None
    kind = ""
    for line_number, raw in enumerate(lines, start=1):
        cells = [_clean(c) for c in raw]
        lowered = [c.lower() for c in cells]
        if "market" in lowered:
            header = {name: index for index, name in enumerate(lowered) if name}
            kind = "tiers" if "tier" in header else "card"
            continue
        if header is None or not any(cells):
            continue

        def cell(name: str, cells: list[str] = cells, header: dict[str, int] = header) -> str:
            index = header.get(name)
            return cells[index] if index is not None and index < len(cells) else ""

        market_name = cell("market")
        if not market_name:
            continue
        market = market_key_for_name(market_name)
        if market is None:
            warnings.append(f"line {line_number}: unknown market {market_name[:60]!r}, skipped")
            continue
        currency = cell("currency").upper()
        if currency:
            currencies.add(currency)
        if kind == "card":
            for column, category in _CATEGORY_COLUMNS.items():
                if column not in header:
                    continue
                try:
                    price = _price(cell(column))
                except ValueError:
                    warnings.append(f"line {line_number}: {column} price {cell(column)[:30]!r} not understood, skipped")
                    continue
                if price is None:
                    continue
                rows.append(_row(market, market_name, category, 1, None, price))
        else:
            tier_category = _CATEGORY_COLUMNS.get(cell("category").lower())
            tier = _tier(cell("tier"))
            try:
                price = _price(cell("rate") or cell("price"))
            except ValueError:
                price = None
            if tier_category is None or tier is None or price is None:
                warnings.append(f"line {line_number}: tier row not understood, skipped")
                continue
            rows.append(_row(market, market_name, tier_category, tier[0], tier[1], price))
    if header is None:
        raise RateCardFileError("No table with a Market column was found: is this Meta's rate card file?")
    if len(currencies) > 1:
        raise RateCardFileError(f"The file mixes currencies ({', '.join(sorted(currencies))}): one file per currency.")
    if not rows:
        raise RateCardFileError("No rates were found in the file.")
    # A tier row starting at 1 replaces the card's list rate for that market and category.
    unique: dict[tuple, dict] = {}
    for row in rows:
        unique[(row["market"], row["category"], row["tier_from"])] = row
    ordered = sorted(unique.values(), key=lambda r: (r["market"], r["category"], r["tier_from"]))
    return (currencies.pop() if currencies else BILLING_CURRENCY), ordered, warnings


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV would hold. Numbers go through ``str()`` into ``Decimal`` and are
    written out in plain notation (``1e-05`` → ``0.00001``): exact, no float arithmetic."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        return format(number, "f") if number.is_finite() else ""
    return str(value)


def xlsx_rows(content: bytes) -> list[list[str]]:
    """The first worksheet of an XLSX file as rows of text cells, for ``parse_rate_card_rows``.

    Anything openpyxl cannot read (not a zip, a damaged or foreign zip, an empty sheet) is a
    ``RateCardFileError`` with a sentence for staff, never another exception."""
    unreadable = "This is not a readable XLSX file: download Meta's rate card again, or upload it as CSV."
    if content.startswith(_OLE2_MAGIC):
        raise RateCardFileError("Old Excel files (.xls) are not read: save the file as .xlsx or CSV and upload that.")
    if not content.startswith(_ZIP_MAGIC):
        raise RateCardFileError(unreadable)
    # Imported here: openpyxl takes ~0.2 s to import, which every web and worker process would pay at start.
    import openpyxl

    rows: list[list[str]] = []
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED_BYTES:
                raise RateCardFileError("The XLSX file unpacks to more than 50 MB: is this Meta's rate card?")
        # openpyxl raises many kinds of error on damaged input (zip, XML, KeyError for missing parts, ...):
        # each one is the same answer for staff.
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                raise RateCardFileError("The XLSX file has no worksheet.")
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(max_col=MAX_SHEET_COLUMNS, values_only=True):
                if len(rows) >= MAX_SHEET_ROWS:
                    raise RateCardFileError(f"The first worksheet has more than {MAX_SHEET_ROWS:,} rows.")
                cells = [_cell_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()  # read-only sheets pad every row to max_col
                rows.append(cells)
        finally:
            workbook.close()
    except RateCardFileError:
        raise
    except Exception as exc:  # noqa: BLE001 — untrusted file, third-party parser: every failure is "unreadable"
        raise RateCardFileError(unreadable) from exc
    if not any(any(_clean(cell) for cell in row) for row in rows):
        raise RateCardFileError("The first worksheet of the XLSX file is empty.")
    return rows


def _row(market: str, market_name: str, category: str, tier_from: int, tier_to: int | None, price: Decimal) -> dict:
    return {
        "market": market,
        "market_name": market_name[:60],
        "category": str(category),
        "tier_from": tier_from,
        "tier_to": tier_to,
        "price": str(price),
    }


def rate_card_import_preview(
    *, file_name: str, content: bytes, effective_from: date, actor: User | None
) -> RateCardImport:
    """Read an uploaded file and keep what was read for staff to check; nothing is rated with it yet.

    The same file uploaded again returns its earlier import (a file is applied at most once)."""
    if len(content) > MAX_FILE_BYTES:
        raise RateCardFileError("The file is larger than 2 MB.")
    name = file_name.lower()
    if name.endswith((".xlsx", ".xlsm", ".xls")) or content.startswith((_ZIP_MAGIC, _OLE2_MAGIC)):
        currency, rows, warnings = parse_rate_card_rows(xlsx_rows(content))
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
        currency, rows, warnings = parse_rate_card(text)
    if currency != BILLING_CURRENCY:
        raise RateCardFileError(
            f"Saldo bills in {BILLING_CURRENCY}: upload Meta's {BILLING_CURRENCY} file, not {currency}."
        )
    digest = hashlib.sha256(content).hexdigest()
    moment = datetime(effective_from.year, effective_from.month, effective_from.day, tzinfo=UTC)
    with transaction.atomic():
        found = RateCardImport.objects.filter(sha256=digest).first()
        if found is not None:
            return found
        return RateCardImport.objects.create(
            file_name=file_name[:255],
            sha256=digest,
            currency=currency,
            effective_from=moment,
            rows=rows,
            warnings=warnings,
            uploaded_by=actor if actor is not None and actor.pk else None,
        )


@transaction.atomic
def rate_card_import_apply(*, rate_card_import: RateCardImport, actor: User | None, reason: str = "") -> int:
    """Create the import's cards from its effective date (its markets, categories and volume tiers); returns
    how many cards were created or changed. Applying twice changes nothing. A card that already rated
    traffic is frozen: it is kept as it is and reported.

    Effective dates are local midnights in each business's time zone (see ``RateBook``)."""
    rate_card_import = RateCardImport.objects.select_for_update().get(pk=rate_card_import.pk)
    if rate_card_import.status == RateCardImport.Status.APPLIED:
        return 0
    existing = {
        (c.market, c.category, c.tier_from): c
        for c in RateCard.objects.filter(effective_from=rate_card_import.effective_from)
    }
    used = set(
        Conversation.objects.filter(rate_card__in=[c.pk for c in existing.values()])
        .values_list("rate_card_id", flat=True)
        .distinct()
    )
    created, changed, frozen = [], 0, []
    note = f"Meta rate card {rate_card_import.file_name}"[:200]
    for row in rate_card_import.rows:
        price = Decimal(row["price"])
        key = (row["market"], row["category"], int(row["tier_from"]))
        card = existing.get(key)
        if card is None:
            created.append(
                RateCard(
                    market=row["market"],
                    category=row["category"],
                    price=price,
                    currency=rate_card_import.currency,
                    effective_from=rate_card_import.effective_from,
                    tier_from=key[2],
                    tier_to=row["tier_to"],
                    imported_from=rate_card_import,
                    note=note,
                )
            )
        elif (card.price, card.tier_to) != (price, row["tier_to"]):
            if card.pk in used:
                frozen.append(str(card))
                continue
            card.price, card.tier_to, card.imported_from, card.note = price, row["tier_to"], rate_card_import, note
            card.save(update_fields=["price", "tier_to", "imported_from", "note"])
            changed += 1
    RateCard.objects.bulk_create(created)
    rate_card_import.status = RateCardImport.Status.APPLIED
    rate_card_import.applied_at = timezone.now()
    if frozen:
        rate_card_import.warnings = [
            *rate_card_import.warnings,
            *[f"kept (already rated traffic): {card}" for card in frozen[:50]],
        ]
    rate_card_import.save(update_fields=["status", "applied_at", "warnings"])
    audit_record(
        action="rate_card_import.apply",
        actor=actor,
        target=rate_card_import,
        before={},
        after={
            "effective_from": rate_card_import.effective_from.date().isoformat(),
            "created": len(created),
            "changed": changed,
            "frozen": len(frozen),
            "markets": len({r["market"] for r in rate_card_import.rows}),
        },
        reason=reason or "Meta rate card imported",
    )
    return len(created) + changed


def rate_card_is_frozen(card: RateCard) -> bool:
    """A card that has rated traffic keeps its price, market, category and date: history stays as billed."""
    return card.pk is not None and Conversation.objects.filter(rate_card=card).exists()
