"""Money formatting: ``{{ amount|rupiah }}`` → ``Rp 1.234.567``; ``{{ n|thousands }}`` → ``1.234``."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()


def format_thousands(value) -> str:
    try:
        number = Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign = "-" if number < 0 else ""
    return sign + f"{abs(int(number)):,}".replace(",", ".")


def format_rupiah(value) -> str:
    text = format_thousands(value)
    if not text:
        return ""
    if text.startswith("-"):
        return "-Rp " + text[1:]
    return "Rp " + text


register.filter("rupiah", format_rupiah)
register.filter("thousands", format_thousands)
