from decimal import Decimal

import pytest
from django.template import Context, Template
from hypothesis import given
from hypothesis import strategies as st

from core.money import format_rupiah, format_thousands, round_rupiah


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234567, "Rp 1.234.567"),
        (0, "Rp 0"),
        (Decimal("111000.00"), "Rp 111.000"),
        (Decimal("999.5"), "Rp 1.000"),
        (-5000, "-Rp 5.000"),
        ("x", ""),
    ],
)
def test_it_shows_rupiah_with_dots(value, shown):
    assert format_rupiah(value) == shown


def test_it_is_available_in_every_template_without_load():
    assert Template("{{ v|rupiah }}").render(Context({"v": 1500000})) == "Rp 1.500.000"


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(Decimal("10.5"), 11), (Decimal("10.49"), 10), (Decimal("-10.5"), -11), (Decimal("0.5"), 1), (7, 7), ("2.5", 3)],
)
def test_it_rounds_half_up_to_whole_rupiah(value, rounded):
    assert round_rupiah(value) == rounded


@given(st.decimals(min_value=-(10**15), max_value=10**15, places=4, allow_nan=False))
def test_rounding_is_within_half_a_rupiah_and_ties_go_away_from_zero(value):
    rounded = round_rupiah(value)
    assert abs(Decimal(rounded) - value) <= Decimal("0.5")
    if abs(value - int(value)) == Decimal("0.5"):
        assert abs(rounded) > abs(value)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_the_thousands_format_reads_back_as_the_number(n):
    text = format_thousands(n)
    assert int(text.replace(".", "")) == n
    assert all(len(group) == 3 for group in text.lstrip("-").split(".")[1:])
