"""Endorsement timing (SMX Art.16/18, ZZ Art.13) and address changes (SMX Art.17, ZZ Art.14)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.layout import builtin_layout
from cardsvc.rules import (
    ChangeKind,
    RuleError,
    Timing,
    add_months,
    add_years,
    assess,
    assess_address_change,
    full_years,
    is_overdue,
    residence_years,
    window,
)

SMX_RULES = builtin_layout("smx").rules  # layouts/sanmenxia.toml [rules]
ZZ_RULES = builtin_layout("zz").rules  # layouts/zhengzhou.toml [rules]

ANCHOR = date(2023, 9, 10)  # issued; first anniversary 2024-09-10


@pytest.mark.parametrize(("on", "timing"), [
    (date(2024, 8, 9), Timing.TOO_EARLY),  # day before 前1个月 opens
    (date(2024, 8, 10), Timing.ON_TIME),  # window opens
    (date(2024, 8, 11), Timing.ON_TIME),
    (date(2024, 9, 9), Timing.ON_TIME),  # last day before 满1年之日
    (date(2024, 9, 10), Timing.LATE),  # the anniversary itself is overdue (day 1)
    (date(2024, 9, 11), Timing.LATE),
    (date(2025, 3, 8), Timing.LATE),
    (date(2025, 3, 9), Timing.LATE),  # 逾期不超过半年: last day, A + 6 months − 1 day (issue 12)
    (date(2025, 3, 10), Timing.REREGISTER),  # 超过半年 from A + 6 months (issue 12)
])
def test_smx_window_and_grace(on: date, timing: Timing) -> None:
    result = assess(SMX_RULES, ANCHOR, 1, on)
    assert result.timing is timing
    assert result.accepted is (timing in (Timing.ON_TIME, Timing.LATE))


def test_smx_on_time_keeps_anchor_late_restarts_count() -> None:
    on_time = assess(SMX_RULES, ANCHOR, 1, date(2024, 9, 1))
    assert (on_time.new_anchor, on_time.new_years, on_time.next_anniversary) == (ANCHOR, 2, date(2025, 9, 10))
    late = assess(SMX_RULES, ANCHOR, 1, date(2024, 11, 3))  # SMX Art.18
    assert (late.new_anchor, late.new_years, late.next_anniversary) == (date(2024, 11, 3), 1, date(2025, 11, 3))
    assert late.days_overdue == 55  # 2024-09-10 is day 1 (issue 12)
    assert residence_years(late.new_anchor, date(2025, 11, 2)) == 0
    assert residence_years(late.new_anchor, date(2025, 11, 3)) == 1


@pytest.mark.parametrize(("on", "timing"), [
    (date(2024, 8, 10), Timing.TOO_EARLY),  # anniversary − 31 days
    (date(2024, 8, 11), Timing.ON_TIME),  # 前三十日内 opens
    (date(2024, 8, 12), Timing.ON_TIME),
    (date(2024, 9, 9), Timing.ON_TIME),
    (date(2024, 9, 10), Timing.LATE),
    (date(2026, 9, 10), Timing.LATE),  # ZZ states no upper limit
])
def test_zz_art13_thirty_days(on: date, timing: Timing) -> None:
    assert assess(ZZ_RULES, ANCHOR, 1, on).timing is timing


def test_window_fields_and_later_years() -> None:
    win = window(SMX_RULES, date(2026, 3, 31))
    assert (win.opens, win.last_on_time, win.late_until) == (date(2026, 2, 28), date(2026, 3, 30),
                                                             date(2026, 9, 29))
    assert window(ZZ_RULES, date(2026, 3, 31)).late_until is None
    assert assess(SMX_RULES, ANCHOR, 3, date(2026, 8, 10)).timing is Timing.ON_TIME
    with pytest.raises(RuleError, match="years"):
        assess(SMX_RULES, ANCHOR, 0, date(2024, 1, 1))


@pytest.mark.parametrize(("on", "overdue"), [
    (date(2024, 9, 9), False), (date(2024, 9, 10), True), (date(2024, 9, 11), True)])
def test_smx_art19_3_overdue_from_the_anniversary(on: date, overdue: bool) -> None:
    assert is_overdue(ANCHOR, 1, on) is overdue


def test_leap_day_anchor_steps_to_feb_28() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert full_years(date(2008, 2, 29), date(2024, 2, 28)) == 15
    assert full_years(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert assess(SMX_RULES, date(2024, 2, 29), 1, date(2025, 2, 28)).timing is Timing.LATE
    with pytest.raises(RuleError, match="before"):
        full_years(date(2024, 1, 2), date(2024, 1, 1))


@pytest.mark.parametrize(("reported", "late"), [
    (date(2024, 5, 15), False), (date(2024, 5, 16), False), (date(2024, 5, 17), True)])
def test_smx_art17_within_county_endorse_in_15_days(reported: date, late: bool) -> None:
    change = assess_address_change(SMX_RULES, "411202", "411202", date(2024, 5, 1), reported)
    assert (change.kind, change.deadline, change.late) == (ChangeKind.ENDORSE, date(2024, 5, 16), late)


def test_smx_art17_cross_county_reregisters() -> None:
    change = assess_address_change(SMX_RULES, "411202", "411203", date(2024, 5, 1), date(2024, 5, 2))
    assert change.kind is ChangeKind.REREGISTER and "Art.19(5)" in change.article


@pytest.mark.parametrize(("reported", "late"), [
    (date(2024, 5, 7), False), (date(2024, 5, 8), False), (date(2024, 5, 9), True)])
def test_zz_art14_change_registration_in_7_days(reported: date, late: bool) -> None:
    change = assess_address_change(ZZ_RULES, "410105", "410102", date(2024, 5, 1), reported)
    assert (change.kind, change.deadline, change.late) == (ChangeKind.ENDORSE, date(2024, 5, 8), late)
    assert change.article == "ZZ Art.14"


def test_leaving_the_city_and_bad_codes() -> None:
    assert assess_address_change(ZZ_RULES, "410105", "411202", date(2024, 5, 1),
                                 date(2024, 5, 1)).kind is ChangeKind.LEAVES_CITY
    with pytest.raises(RuleError, match="new_county"):
        assess_address_change(ZZ_RULES, "410105", "4101", date(2024, 5, 1), date(2024, 5, 1))
    with pytest.raises(RuleError, match="reported_on"):
        assess_address_change(ZZ_RULES, "410105", "410102", date(2024, 5, 2), date(2024, 5, 1))


@given(anchor=st.dates(date(2000, 1, 1), date(2090, 12, 31)), years=st.integers(1, 8),
       offset=st.integers(-400, 400), city=st.sampled_from([SMX_RULES, ZZ_RULES]))
@settings(max_examples=300, deadline=None)
def test_timing_partitions_the_calendar(anchor: date, years: int, offset: int, city: object) -> None:
    rules = SMX_RULES if city is SMX_RULES else ZZ_RULES
    ann = add_years(anchor, years)
    on = ann + timedelta(days=offset)
    result = assess(rules, anchor, years, on)
    grace = rules.late_endorsement_grace
    expected = (Timing.TOO_EARLY if on < result.window.opens else Timing.ON_TIME if on < ann
                else Timing.REREGISTER if grace is not None and on >= grace.add_to(ann)
                else Timing.LATE)
    assert result.timing is expected
    assert result.next_anniversary > on or not result.accepted  # an accepted endorsement always looks ahead
    assert is_overdue(anchor, years, on) is (on >= ann)
