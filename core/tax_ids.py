"""Indonesian tax identifiers as people type them, and as DJP's Coretax wants them.

- **NPWP**: 16 digits since 2024. A legacy 15-digit NPWP (``01.234.567.8-901.000``) is still accepted and
  converted as DJP does: a ``0`` in front (``0012345678901000``). Dots, dashes and spaces are allowed.
- **NIK** (Nomor Induk Kependudukan): 16 digits, the identity number of an Indonesian individual.
- **NITKU** (Nomor Identitas Tempat Kegiatan Usaha): 22 digits, the 16-digit NPWP followed by a 6-digit place
  of business code; ``000000`` is the head office (the default).
- **Passport / other ID** of a foreign buyer: letters and digits, 3 to 32 characters.

Coretax's buyer document types are ``TIN`` (an NPWP), ``National ID`` (NIK), ``Passport`` and ``Other``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "DOCUMENT_TIN",
    "DOCUMENT_NATIONAL_ID",
    "DOCUMENT_PASSPORT",
    "DOCUMENT_OTHER",
    "DOCUMENT_TYPES",
    "DEFAULT_PLACE_CODE",
    "validate_npwp",
    "normalize_npwp",
    "validate_nik",
    "normalize_nik",
    "normalize_nitku",
    "validate_nitku",
    "nitku_for",
    "normalize_document_number",
    "clean_tax_identity",
]

DOCUMENT_TIN = "TIN"
DOCUMENT_NATIONAL_ID = "National ID"
DOCUMENT_PASSPORT = "Passport"
DOCUMENT_OTHER = "Other"
DOCUMENT_TYPES = (
    (DOCUMENT_TIN, _("NPWP (TIN)")),
    (DOCUMENT_NATIONAL_ID, _("NIK (national ID, individuals)")),
    (DOCUMENT_PASSPORT, _("Passport")),
    (DOCUMENT_OTHER, _("Other ID")),
)
DEFAULT_PLACE_CODE = "000000"

_SEPARATORS = set(".- ")
_DOCUMENT_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")


def _digits(value: str, code: str, message: StrOrPromise) -> str:
    value = (value or "").strip()
    if any(not (ch.isdigit() or ch in _SEPARATORS) for ch in value) or any(
        ch.isdigit() and ch not in "0123456789" for ch in value
    ):
        raise ValidationError(message, code=code)
    return "".join(ch for ch in value if ch in "0123456789")


def normalize_npwp(value: str) -> str:
    """The 16-digit NPWP of what someone typed: separators dropped, a legacy 15-digit NPWP prefixed with
    ``0`` (DJP's conversion). ``""`` stays ``""``. Raises ``ValidationError`` for anything else."""
    message = _("An NPWP has 15 or 16 digits (a legacy 15-digit NPWP gets a 0 in front).")
    digits = _digits(value, "npwp", message)
    if not digits and not (value or "").strip():
        return ""
    if len(digits) == 15:
        digits = "0" + digits
    if len(digits) != 16:
        raise ValidationError(message, code="npwp")
    if set(digits) == {"0"}:
        raise ValidationError(_("An NPWP cannot be all zeros."), code="npwp")
    return digits


def validate_npwp(value: str) -> None:
    """An NPWP has 16 digits or the legacy 15; separators are allowed, anything else is not."""
    normalize_npwp(value)


def normalize_nik(value: str) -> str:
    """A NIK: exactly 16 digits (separators allowed), not all zeros."""
    message = _("A NIK has 16 digits.")
    digits = _digits(value, "nik", message)
    if len(digits) != 16 or set(digits) == {"0"}:
        raise ValidationError(message, code="nik")
    return digits


def validate_nik(value: str) -> None:
    normalize_nik(value)


def nitku_for(npwp: str, place_code: str = DEFAULT_PLACE_CODE) -> str:
    """The NITKU of a place of business: the 16-digit NPWP and its 6-digit code (head office ``000000``)."""
    npwp = normalize_npwp(npwp)
    if not npwp:
        return ""
    if not re.fullmatch(r"\d{6}", place_code or ""):
        raise ValidationError(_("A place of business code has 6 digits."), code="nitku")
    return npwp + place_code


def normalize_nitku(value: str, *, npwp: str = "") -> str:
    """A NITKU of 22 digits (separators allowed). Blank with an NPWP gives the head office's
    (NPWP + ``000000``); just the 6-digit place code is completed with the NPWP. With ``npwp`` the NITKU must
    start with that NPWP."""
    message = _("A NITKU has 22 digits: the 16-digit NPWP and a 6-digit place of business code.")
    digits = _digits(value, "nitku", message)
    npwp_digits = normalize_npwp(npwp) if npwp else ""
    if not digits:
        return nitku_for(npwp_digits) if npwp_digits else ""
    if len(digits) == 6 and npwp_digits:
        return npwp_digits + digits
    if len(digits) == 21:  # a legacy 15-digit NPWP with its code: converted like the NPWP
        digits = "0" + digits
    if len(digits) != 22:
        raise ValidationError(message, code="nitku")
    if npwp_digits and not digits.startswith(npwp_digits):
        raise ValidationError(
            _("The NITKU must start with the NPWP (%(npwp)s)."), code="nitku", params={"npwp": npwp_digits}
        )
    return digits


def validate_nitku(value: str) -> None:
    normalize_nitku(value)


def normalize_document_number(document_type: str, value: str) -> str:
    """The identity number for a Coretax buyer document type: an NPWP, a NIK, or a passport / other ID
    (letters and digits, 3 to 32)."""
    if document_type == DOCUMENT_TIN:
        return normalize_npwp(value)
    if document_type == DOCUMENT_NATIONAL_ID:
        return normalize_nik(value)
    if document_type in (DOCUMENT_PASSPORT, DOCUMENT_OTHER):
        cleaned = "".join((value or "").split()).upper()
        if not _DOCUMENT_RE.fullmatch(cleaned):
            raise ValidationError(_("An ID number has 3 to 32 letters and digits."), code="document_number")
        return cleaned
    raise ValidationError(_("Unknown document type %(type)s."), code="document_type", params={"type": document_type})


def clean_tax_identity(*, document_type: str, npwp: str, document_number: str, nitku: str) -> dict:
    """Validate a buyer's tax identity as a form has it and return it normalized: ``npwp`` as typed (checked),
    ``nitku`` in 22 digits (blank stays blank: the head office is assumed), ``document_number`` normalized for
    a NIK / passport / other ID and required for them. Raises ``ValidationError`` with a dict of field errors."""
    errors: dict[str, list] = {}
    document_type = document_type or DOCUMENT_TIN
    npwp16 = ""
    try:
        npwp16 = normalize_npwp(npwp)
    except ValidationError as exc:
        errors["npwp"] = exc.error_list
    if document_type == DOCUMENT_TIN:
        document_number = ""
        if (nitku or "").strip():
            if not npwp16 and "npwp" not in errors:
                errors["nitku"] = [ValidationError(_("Enter the NPWP the NITKU belongs to."), code="nitku")]
            elif npwp16:
                try:
                    nitku = normalize_nitku(nitku, npwp=npwp16)
                except ValidationError as exc:
                    errors["nitku"] = exc.error_list
    else:
        nitku = ""
        if not (document_number or "").strip():
            errors["tax_document_number"] = [
                ValidationError(_("Enter the number of the chosen identity document."), code="required")
            ]
        else:
            try:
                document_number = normalize_document_number(document_type, document_number)
            except ValidationError as exc:
                errors["tax_document_number"] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return {
        "document_type": document_type,
        "npwp": (npwp or "").strip(),
        "document_number": document_number,
        "nitku": nitku,
    }
