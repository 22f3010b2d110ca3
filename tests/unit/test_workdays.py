"""The working-day calendar (cardsvc.duties.workdays) against the State Council's holiday notices for 2025
and 2026 (国务院办公厅关于部分节假日安排的通知): public holidays off, the adjusted working days (调休) on, a year
the calendar does not hold refused by name."""

from __future__ import annotations

from datetime import date

import pytest

from cardsvc.duties.workdays import CalendarNotCoveredError, add_working_days, covered_years, is_working_day


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 9, 30), True),  # Wednesday before National Day
    (date(2026, 10, 1), False),  # 国庆节
    (date(2026, 10, 7), False),  # last day of the National Day week (a Wednesday)
    (date(2026, 10, 8), True),  # back to work
    (date(2026, 10, 10), True),  # Saturday worked in place (调休)
    (date(2026, 9, 20), True),  # Sunday worked in place (调休)
    (date(2026, 9, 25), False),  # 中秋节 (a Friday)
    (date(2026, 2, 14), True),  # Saturday before the Spring Festival, worked (调休)
    (date(2026, 2, 16), False),  # 春节 (a Monday)
    (date(2026, 2, 23), False),  # last day of the Spring Festival holiday (a Monday)
    (date(2026, 2, 28), True),  # Saturday after it, worked (调休)
    (date(2026, 3, 7), False),  # an ordinary Saturday
    (date(2026, 3, 9), True),  # an ordinary Monday
    (date(2025, 9, 28), True),  # 2025: Sunday worked before National Day
    (date(2025, 10, 8), False),  # 2025: National Day and Mid-Autumn together, through 10-08
])
def test_holidays_and_adjusted_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(("start", "due"), [
    (date(2026, 3, 2), date(2026, 3, 11)),  # no holiday: Mon + 7 working days = Wed of the next week
    (date(2026, 9, 29), date(2026, 10, 14)),  # across National Day: 09-30, 10-08, 09, 10 (Sat), 12, 13, 14
    (date(2026, 9, 24), date(2026, 10, 12)),  # across Mid-Autumn and National Day: 09-28, 29, 30, 10-08, 09, 10, 12
    (date(2026, 2, 13), date(2026, 3, 2)),  # across the Spring Festival: 02-14 (Sat), 24-28 (28: Sat), 03-02
])
def test_seventh_working_day(start: date, due: date) -> None:
    assert add_working_days(start, 7) == due


def test_a_year_not_covered_is_refused_by_name() -> None:
    years = covered_years()
    after = date(years.stop, 1, 4)
    with pytest.raises(CalendarNotCoveredError) as e:
        is_working_day(after, field="ended_on")
    assert e.value.field == "ended_on"
    assert f"not {years.stop}" in e.value.reason and f"{years.start}-{years.stop - 1}" in e.value.reason
    # A due date that runs into the uncovered year is refused, not guessed.
    with pytest.raises(CalendarNotCoveredError):
        add_working_days(date(years.stop - 1, 12, 28), 7)
    with pytest.raises(CalendarNotCoveredError):
        is_working_day(date(years.start - 1, 6, 1))


def test_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="days"):
        add_working_days(date(2026, 3, 2), 0)
