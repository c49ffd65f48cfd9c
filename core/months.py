"""Months: one value type for "a calendar month", parsed from ``YYYY-MM``, stepped back and forth, turned into the
aware bounds of the month in a time zone, or taken from a moment.

Billing months are Asia/Jakarta months unless a caller says otherwise (a WhatsApp Business Account may have its
own time zone). Models store a month as its first day (a ``DateField``); :attr:`Month.first_day` and
:meth:`Month.from_date` convert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["JAKARTA", "Month"]

JAKARTA = ZoneInfo("Asia/Jakarta")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Months Saldo accepts from people and machines: anything outside is a typo or an attack, never a billing month.
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and MIN_YEAR <= self.year <= MAX_YEAR):
            raise ValueError(f"not a month Saldo bills: {self.year}-{self.month}")

    @classmethod
    def parse(cls, raw: str | None) -> Month | None:
        """``"2025-07"`` → ``Month(2025, 7)``; ``None`` for anything else (wrong shape, month 13, year 9999)."""
        match = _MONTH_RE.match((raw or "").strip()) if isinstance(raw, str) else None
        if not match:
            return None
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError:
            return None

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo = JAKARTA) -> Month:
        """The month a moment belongs to, in ``tz``."""
        local = moment.astimezone(tz)
        return cls(local.year, local.month)

    @classmethod
    def from_date(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def start(self, tz: tzinfo = JAKARTA) -> datetime:
        """Midnight of the first day, in ``tz``."""
        return datetime(self.year, self.month, 1, tzinfo=tz)

    def bounds(self, tz: tzinfo = JAKARTA) -> tuple[datetime, datetime]:
        """``[start, end)`` of the month in ``tz``, as aware datetimes."""
        following = self.next() if (self.year, self.month) != (MAX_YEAR, 12) else None
        end = following.start(tz) if following else datetime(MAX_YEAR + 1, 1, 1, tzinfo=tz)
        return self.start(tz), end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
