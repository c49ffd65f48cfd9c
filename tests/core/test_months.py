from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.months import JAKARTA, Month

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("raw", "month"),
    [
        ("2025-07", Month(2025, 7)),
        (" 2024-12 ", Month(2024, 12)),
        ("2025-13", None),
        ("2025-00", None),
        ("9999-01", None),
        ("2025-7", None),
        ("", None),
        (None, None),
        ("2025-07-01", None),
        ("2025-07\x00", None),
    ],
)
def test_it_parses_only_real_months(raw, month):
    assert Month.parse(raw) == month


def test_the_month_of_a_moment_is_its_jakarta_month():
    # 17:30 UTC on 31 January is 00:30 on 1 February in Jakarta.
    assert Month.of(datetime(2025, 1, 31, 17, 30, tzinfo=UTC)) == Month(2025, 2)
    assert Month.of(datetime(2025, 1, 31, 17, 30, tzinfo=UTC), UTC) == Month(2025, 1)


def test_it_steps_across_years_and_gives_jakarta_bounds():
    assert Month(2024, 12).next() == Month(2025, 1)
    assert Month(2025, 1).previous() == Month(2024, 12)
    start, end = Month(2025, 2).bounds()
    assert (start, end) == (datetime(2025, 2, 1, tzinfo=JAKARTA), datetime(2025, 3, 1, tzinfo=JAKARTA))
    assert str(Month(2025, 2)) == "2025-02" and Month(2025, 2).first_day == date(2025, 2, 1)
    assert Month.from_date(date(2025, 2, 17)) == Month(2025, 2)


@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2100, 11, 30), timezones=st.just(UTC)))
def test_every_moment_lies_within_the_bounds_of_its_month(moment):
    month = Month.of(moment)
    start, end = month.bounds()
    assert start <= moment < end
    assert month.next().previous() == month
    assert Month.of(end - timedelta(microseconds=1)) == month
