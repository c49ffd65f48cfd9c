"""NPWP, NIK, NITKU and passport numbers: what people type, what Coretax wants."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from core.tax_ids import (
    clean_tax_identity,
    nitku_for,
    normalize_document_number,
    normalize_nik,
    normalize_nitku,
    normalize_npwp,
    validate_npwp,
)


@pytest.mark.parametrize(
    ("typed", "npwp"),
    [
        ("01.234.567.8-901.000", "0012345678901000"),  # legacy 15 digits: a 0 in front, as DJP converts
        ("012345678901000", "0012345678901000"),
        ("0123 4567 8901 2345", "0123456789012345"),
        ("3171012345678901", "3171012345678901"),  # a NIK used as NPWP (16 digits)
        ("", ""),
    ],
)
def test_npwp_is_16_digits(typed, npwp):
    assert normalize_npwp(typed) == npwp


@pytest.mark.parametrize("typed", ["12345", "01.234.567.8-901.00", "01234567890123456", "0000000000000000", "NPWP 1"])
def test_bad_npwp_is_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as exc:
        validate_npwp(typed)
    assert "NPWP" in " ".join(exc.value.messages)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15).filter(lambda d: set(d) != {"0"}))
def test_any_legacy_npwp_converts_by_a_leading_zero(digits):
    dotted = f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}.{digits[8]}-{digits[9:12]}.{digits[12:]}"
    assert normalize_npwp(dotted) == "0" + digits
    assert normalize_nitku("", npwp=dotted) == "0" + digits + "000000"


@given(st.text(max_size=40))
def test_npwp_parsing_never_crashes_and_keeps_only_digit_forms(value):
    try:
        npwp = normalize_npwp(value)
    except ValidationError:
        return
    assert npwp == "" or (len(npwp) == 16 and npwp.isdigit())


@given(st.text(max_size=40))
def test_nitku_parsing_never_crashes(value):
    try:
        nitku = normalize_nitku(value)
    except ValidationError:
        return
    assert nitku == "" or (len(nitku) == 22 and nitku.isdigit())


def test_nitku_is_the_npwp_and_a_place_code():
    assert nitku_for("0123456789012345") == "0123456789012345000000"
    assert nitku_for("0123456789012345", "000123") == "0123456789012345000123"
    assert normalize_nitku("000123", npwp="0123456789012345") == "0123456789012345000123"
    assert normalize_nitku("0123456789012345-000001", npwp="0123 4567 8901 2345") == "0123456789012345000001"
    with pytest.raises(ValidationError, match="must start with the NPWP"):
        normalize_nitku("9999999999999999000000", npwp="0123456789012345")
    with pytest.raises(ValidationError, match="22 digits"):
        normalize_nitku("12345")
    with pytest.raises(ValidationError):
        nitku_for("0123456789012345", "12")


def test_nik_passport_and_other_ids():
    assert normalize_nik("3171-0123-4567-8901") == "3171012345678901"
    with pytest.raises(ValidationError, match="NIK"):
        normalize_nik("317101234567890")
    assert normalize_document_number("Passport", " a 1234567 ") == "A1234567"
    assert normalize_document_number("Other", "kitas2c11") == "KITAS2C11"
    with pytest.raises(ValidationError):
        normalize_document_number("Passport", "A1")
    with pytest.raises(ValidationError):
        normalize_document_number("Passport", "A12-345/67")
    with pytest.raises(ValidationError):
        normalize_document_number("KTP", "1")


def test_a_form_identity_is_validated_field_by_field():
    assert clean_tax_identity(
        document_type="TIN", npwp="01.234.567.8-901.000", document_number="x", nitku="000001"
    ) == {
        "document_type": "TIN",
        "npwp": "01.234.567.8-901.000",
        "document_number": "",
        "nitku": "0012345678901000000001",
    }
    with pytest.raises(ValidationError) as exc:
        clean_tax_identity(document_type="TIN", npwp="", document_number="", nitku="0012345678901000000001")
    assert set(exc.value.error_dict) == {"nitku"}
    with pytest.raises(ValidationError) as exc:
        clean_tax_identity(document_type="National ID", npwp="", document_number="", nitku="")
    assert set(exc.value.error_dict) == {"tax_document_number"}
    with pytest.raises(ValidationError) as exc:
        clean_tax_identity(document_type="National ID", npwp="123", document_number="12", nitku="")
    assert set(exc.value.error_dict) == {"npwp", "tax_document_number"}
    nik = clean_tax_identity(document_type="National ID", npwp="", document_number="3171012345678901", nitku="1")
    assert nik["document_number"] == "3171012345678901" and nik["nitku"] == ""
