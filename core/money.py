"""Money: whole rupiah, rounded half-up, shown as ``Rp 1.234.567`` and spelled out in Indonesian (terbilang).

Saldo keeps money as integer rupiah or ``Decimal``, never ``float`` (DESIGN invariant 8). Every rounding to whole
rupiah goes through :func:`round_rupiah`, every display through :func:`format_thousands` / :func:`format_rupiah`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["round_rupiah", "format_thousands", "format_rupiah", "format_rupiah_sen", "terbilang"]


def round_rupiah(value: Decimal | int | str) -> int:
    """Half-up to whole rupiah: ``Decimal("10.5")`` → 11, ``Decimal("-10.5")`` → -11."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_thousands(value: object) -> str:
    """``1234567`` → ``1.234.567`` (Indonesian grouping), rounded half-up; ``""`` for what is not a number."""
    try:
        number = round_rupiah(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign = "-" if number < 0 else ""
    return sign + f"{abs(number):,}".replace(",", ".")


def format_rupiah(value: object) -> str:
    """``1234567`` → ``Rp 1.234.567``; ``-500`` → ``-Rp 500``."""
    text = format_thousands(value)
    if not text:
        return ""
    if text.startswith("-"):
        return "-Rp " + text[1:]
    return "Rp " + text


def format_rupiah_sen(value: object) -> str:
    """An amount kept to the sen (DPP Nilai Lain): ``Decimal("91666.67")`` → ``Rp 91.666,67``, a whole amount
    without decimals (``Rp 11``)."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign = "-" if number < 0 else ""
    whole, sen = divmod(abs(number), 1)
    text = f"{int(whole):,}".replace(",", ".")
    if sen:
        text += "," + f"{sen:.2f}"[2:]
    return f"{sign}Rp {text}"


# --- amount in Indonesian words (terbilang) -----------------------------------------------------------

_UNITS = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"]
_SCALES = [(10**12, "triliun"), (10**9, "miliar"), (10**6, "juta")]


def _below_thousand(n: int) -> str:
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append("seratus" if hundreds == 1 else f"{_UNITS[hundreds]} ratus")
    if rest < 12:
        if rest:
            words.append(_UNITS[rest])
    elif rest < 20:
        words.append(f"{_UNITS[rest - 10]} belas")
    else:
        tens, ones = divmod(rest, 10)
        words.append(f"{_UNITS[tens]} puluh")
        if ones:
            words.append(_UNITS[ones])
    return " ".join(words)


def _words(n: int) -> str:
    if n == 0:
        return ""
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return " ".join(filter(None, [f"{_words(head)} {name}", _words(rest)]))
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts.append("seribu" if thousands == 1 else f"{_below_thousand(thousands)} ribu")
    if rest:
        parts.append(_below_thousand(rest))
    return " ".join(parts)


def terbilang(amount: int) -> str:
    """``111000`` → ``seratus sebelas ribu rupiah`` (whole rupiah)."""
    amount = int(amount)
    if amount == 0:
        return "nol rupiah"
    prefix = "minus " if amount < 0 else ""
    return f"{prefix}{_words(abs(amount))} rupiah"
