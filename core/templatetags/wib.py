"""``{{ moment|wib }}``: a date and time in Western Indonesia Time, labelled, in the active language
("2 Desember 2026 14:05 WIB"). ``{{ moment|wib:"date" }}`` gives the date only."""

from datetime import datetime

from django import template
from django.utils import formats, timezone

from core.emails import WIB

register = template.Library()


@register.filter
def wib(value: datetime | None, arg: str = "") -> str:
    if not value:
        return ""
    local = timezone.localtime(value, WIB)
    if arg == "date":
        return formats.date_format(local, "j F Y")
    return f"{formats.date_format(local, 'j F Y H:i')} WIB"
