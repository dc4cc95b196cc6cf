"""Calendar periods (month, quarter, year) in a policy's time zone.

A period is a half-open interval ``[start, end)`` of instants; an event belongs to the period whose
local calendar contains its ``at``. ``2023-05`` is a month, ``2023-Q2`` a quarter, ``2023`` a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rulesengine.errors import PeriodError

KINDS = ("month", "quarter", "year")
_PATTERN = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")
ONE_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`PeriodError` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeriodError(f"unknown time zone '{name}'") from exc


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar period: ``kind`` is month, quarter or year; ``index`` is 1-12, 1-4 or 1."""

    year: int
    kind_order: int
    index: int

    @property
    def kind(self) -> str:
        """``month``, ``quarter`` or ``year``."""
        return KINDS[self.kind_order]

    @property
    def id(self) -> str:
        """The period as written: ``2023-05``, ``2023-Q2`` or ``2023``."""
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}"

    def __str__(self) -> str:
        return self.id

    def first_day(self) -> date:
        """The local calendar date the period starts on."""
        if self.kind == "month":
            return date(self.year, self.index, 1)
        if self.kind == "quarter":
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, 1, 1)

    def next_first_day(self) -> date:
        """The local date the following period starts on."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        first = self.first_day()
        m = first.month - 1 + months
        return date(first.year + m // 12, m % 12 + 1, 1)

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """``(start, end)`` instants in ``tz``: start included, end excluded."""
        z = zone(tz)
        s, e = self.first_day(), self.next_first_day()
        return (
            datetime(s.year, s.month, s.day, tzinfo=z),
            datetime(e.year, e.month, e.day, tzinfo=z),
        )

    def months(self) -> list[Period]:
        """The months inside this period, in order."""
        first = self.first_day().month
        count = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        return [month(self.year, m) for m in range(first, first + count)]

    def within(self, kind: str) -> list[Period]:
        """The periods of ``kind`` inside this one (none if ``kind`` is longer than it)."""
        if KINDS.index(kind) > self.kind_order:
            return []
        if kind == "month":
            return self.months()
        if kind == "quarter":
            return sorted({Period(m.year, 1, (m.index - 1) // 3 + 1) for m in self.months()})
        return [Period(self.year, 2, 1)]

    def next(self) -> Period:
        """The period of the same kind just after this one."""
        if self.kind == "month":
            return month(self.year + 1, 1) if self.index == 12 else month(self.year, self.index + 1)
        if self.kind == "quarter":
            return (
                Period(self.year + 1, 1, 1)
                if self.index == 4
                else Period(self.year, 1, self.index + 1)
            )
        return Period(self.year + 1, 2, 1)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "month":
            return month(self.year - 1, 12) if self.index == 1 else month(self.year, self.index - 1)
        if self.kind == "quarter":
            return (
                Period(self.year - 1, 1, 4)
                if self.index == 1
                else Period(self.year, 1, self.index - 1)
            )
        return Period(self.year - 1, 2, 1)

    def contains(self, other: Period) -> bool:
        """Whether ``other`` lies inside this period."""
        return (
            other.first_day() >= self.first_day()
            and other.next_first_day() <= self.next_first_day()
        )


def month(year: int, index: int) -> Period:
    """The month ``index`` (1-12) of ``year``."""
    return Period(year, 0, index)


def parse_period(text: str) -> Period:
    """Parse ``2023-05``, ``2023-Q2`` or ``2023``; raises :class:`PeriodError` otherwise."""
    m = _PATTERN.match(text.strip())
    if not m:
        raise PeriodError(
            f"'{text}' is not a period; "
            "write a month as 2023-05, a quarter as 2023-Q2, a year as 2023"
        )
    year = int(m.group(1))
    if m.group(2):
        return Period(year, 0, int(m.group(2)))
    if m.group(3):
        return Period(year, 1, int(m.group(3)))
    return Period(year, 2, 1)


def period_of(at: datetime, kind: str, tz: str) -> Period:
    """The period of ``kind`` containing the instant ``at`` in local time ``tz``."""
    local = at.astimezone(zone(tz))
    if kind == "month":
        return Period(local.year, 0, local.month)
    if kind == "quarter":
        return Period(local.year, 1, (local.month - 1) // 3 + 1)
    return Period(local.year, 2, 1)
