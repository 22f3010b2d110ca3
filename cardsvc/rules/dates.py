"""Calendar arithmetic for the rules: month/year steps that clamp to the month's end, ages, periods.

Rules never read the clock: every date is passed in.  Feb 29 steps to Feb 28 in common years, the
usual reading of "满 N 年/月" when the same day does not exist.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

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


class Period(BaseModel):
    """A span written in a regulation as years, months and/or days ("1个月", "三十日", "半年").

    Years and months are calendar steps clamped to the month's end; days are days. Written in a layout
    TOML as a table, e.g. `{ months = 1 }`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: StrictInt = Field(default=0, ge=0, le=100)
    months: StrictInt = Field(default=0, ge=0, le=1200)
    days: StrictInt = Field(default=0, ge=0, le=36500)

    @model_validator(mode="after")
    def _not_empty(self) -> Period:
        if self.years == 0 and self.months == 0 and self.days == 0:
            raise ValueError("a period needs years, months or days")
        return self

    def add_to(self, start: date) -> date:
        return add_months(start, 12 * self.years + self.months) + timedelta(days=self.days)

    def subtract_from(self, end: date) -> date:
        return add_months(end, -(12 * self.years + self.months)) - timedelta(days=self.days)

    def describe(self) -> str:
        parts = [f"{self.years} year(s)"] if self.years else []
        if self.months:
            parts.append(f"{self.months} month(s)")
        if self.days:
            parts.append(f"{self.days} day(s)")
        return " ".join(parts)
