"""Indonesian tax identifiers as people type them: NPWP with or without dots and dashes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["validate_npwp"]


def validate_npwp(value: str) -> None:
    """An NPWP has 15 digits (the legacy form, ``01.234.567.8-901.000``) or 16 (since 2024); separators are
    allowed, anything else is not."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.strip() and (len(digits) not in (15, 16) or any(ch not in "0123456789.- " for ch in value)):
        raise ValidationError(_("An NPWP has 15 or 16 digits."), code="npwp")
