"""Working days (工作日) as the State Council's yearly holiday notice sets them: public holidays off,
and the adjusted working days (调休, a Saturday or Sunday worked in place of a holiday) on.

Used for ZZ Art.25 ¶1-2 "应当在 7 个工作日内 … 报告". The calendar is the `chinese-calendar` package's data
(one entry per notice, pyproject.toml says why); a date in a year it does not cover is refused by name,
never guessed as Monday-Friday, because around the Spring Festival and National Day a guess moves the
deadline by up to a week.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import chinese_calendar

from cardsvc.errors import FieldError


class CalendarNotCoveredError(FieldError):
    """`field`'s date falls in a year whose holiday notice the calendar does not hold."""


@functools.cache
def covered_years() -> range:
    """The years whose notice the installed calendar holds."""
    years = {d.year for d in (*chinese_calendar.holidays, *chinese_calendar.workdays)}
    return range(min(years), max(years) + 1)


def is_working_day(day: date, *, field: str = "date") -> bool:
    """A working day: Monday-Friday unless a public holiday, or a weekend day made a working day (调休)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        years = covered_years()
        raise CalendarNotCoveredError(
            field, f"{day.isoformat()}: the working-day calendar holds the State Council holiday notices of "
                   f"{years.start}-{years.stop - 1} only, not {day.year} (update the chinese-calendar "
                   f"package once that year's notice is out)") from None


def add_working_days(start: date, days: int, *, field: str = "date") -> date:
    """The `days`-th working day after `start` (`start` itself does not count). `field` names the request
    field an uncovered year is reported against."""
    if days < 1:
        raise ValueError(f"days: {days} is not a positive count")
    day, left = start, days
    while left:
        day += timedelta(days=1)
        if is_working_day(day, field=field):
            left -= 1
    return day
