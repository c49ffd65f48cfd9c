from decimal import Decimal

import pytest
from django.template import Context, Template

from accounts.templatetags.money import format_rupiah


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
