"""Read DJP's export of issued Faktur Pajak (CSV from Coretax, saved from its spreadsheet): for each row the
reference we sent (``RefDesc`` = our invoice number) and the Faktur Pajak number DJP assigned (NSFP).

Coretax's column titles differ between its screens and languages; the ones recognised are listed below
(case and spacing do not matter). Commas or semicolons, UTF-8 with or without a BOM."""

from __future__ import annotations

import csv
import io

__all__ = ["DjpExportError", "parse_djp_export", "REFERENCE_COLUMNS", "NSFP_COLUMNS"]

REFERENCE_COLUMNS = ("referensi", "reference", "refdesc", "nomor invoice", "invoice number", "ref")
NSFP_COLUMNS = (
    "nomor faktur pajak",
    "nomor faktur",
    "no faktur",
    "nsfp",
    "tax invoice number",
    "faktur pajak",
)
MAX_ROWS = 50_000


class DjpExportError(ValueError):
    """The file is not a DJP export Saldo can read."""


def _key(title: str) -> str:
    return " ".join(title.replace("_", " ").replace(".", " ").lower().split())


def parse_djp_export(content: bytes) -> list[tuple[int, str, str]]:
    """``(row number, reference, nsfp)`` per data row with both values (rows without an NSFP are skipped:
    DJP lists drafts too)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DjpExportError("The file is not UTF-8 text (save it as CSV UTF-8).") from exc
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise DjpExportError("The file is empty.")
    keys = [_key(title) for title in header]
    ref_col = next((keys.index(k) for k in REFERENCE_COLUMNS if k in keys), None)
    nsfp_col = next((keys.index(k) for k in NSFP_COLUMNS if k in keys), None)
    if ref_col is None or nsfp_col is None:
        raise DjpExportError(
            "The file needs a reference column (Referensi / Reference / RefDesc) and a Faktur Pajak number "
            "column (Nomor Faktur Pajak / NSFP)."
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        if number > MAX_ROWS + 1:
            raise DjpExportError(f"At most {MAX_ROWS} rows per file.")
        if len(row) <= max(ref_col, nsfp_col):
            continue
        reference, nsfp = row[ref_col].strip(), row[nsfp_col].strip()
        if reference and nsfp:
            rows.append((number, reference, nsfp))
    return rows
