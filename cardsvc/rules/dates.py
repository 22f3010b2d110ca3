"""Calendar arithmetic for the rules: month/year steps that clamp to the month's end, ages, periods.

Rules never read the clock: every date is passed in.  Feb 29 steps to Feb 28 in common years, the
usual reading of "满 N 年/月" when the same day does not exist.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from cardsvc.rules.errors import RuleError


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months, clamped to the last day of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def full_years(start: date, on: date) -> int:
    """Completed years from `start` to `on` (周岁 when `start` is a birth date)."""
    if on < start:
        raise RuleError("on", f"{on.isoformat()} is before {start.isoformat()}")
    years = on.year - start.year
    if add_years(start, years) > on:
        years -= 1
    return years


@dataclass(frozen=True)
class Period:
    """A span written in a regulation as months and/or days ("1个月", "三十日", "半年")."""

    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if self.months < 0 or self.days < 0:
            raise RuleError("period", f"months and days must be >= 0, got {self.months}, {self.days}")
        if self.months == 0 and self.days == 0:
            raise RuleError("period", "a period needs months or days")

    def after(self, day: date) -> date:
        return add_months(day, self.months) + timedelta(days=self.days)

    def before(self, day: date) -> date:
        return add_months(day, -self.months) - timedelta(days=self.days)

    def describe(self) -> str:
        parts = [f"{self.months} month(s)"] if self.months else []
        if self.days:
            parts.append(f"{self.days} day(s)")
        return " ".join(parts)
