"""Yearly endorsement (签注) timing: SMX Art.16/18, ZZ Art.13.

The permit's year is counted from an anchor date (issue, or the day of a late endorsement, SMX
Art.18).  The n-th anniversary A is anchor + n years (month arithmetic clamps to the month's end).
- SMX Art.16 "在居住每满1年之日前1个月内": on time from A − 1 month to A − 1 day; ZZ Art.13
  "在居住满一年之日前三十日内": from A − 30 days to A − 1 day.
- A itself is the first overdue day (1 day overdue; use suspended, SMX Art.19(3)).
- SMX Art.18 "逾期不超过半年补办签注手续的，居住证的使用功能恢复 … 超过半年 … 需重新申报暂住登记": overdue
  by at most half a year, i.e. through A + 6 months − 1 day, a late endorsement restores use and restarts
  the residence-years count; from A + 6 months a new temporary registration is required.
- ZZ states no limit: a late endorsement is always possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from cardsvc.rules.city import CityRules
from cardsvc.rules.dates import add_years, full_years
from cardsvc.rules.errors import RuleError


class Timing(StrEnum):
    TOO_EARLY = "too_early"  # before the window opens: refused
    ON_TIME = "on_time"  # SMX Art.16 / ZZ Art.13
    LATE = "late"  # SMX Art.18: restores use, residence years restart
    REREGISTER = "reregister"  # SMX Art.18: over half a year: 重新申报暂住登记


@dataclass(frozen=True)
class Window:
    anniversary: date
    opens: date  # first on-time day
    last_on_time: date  # the day before the anniversary
    late_until: date | None  # last day a late endorsement is accepted; None: no limit stated


@dataclass(frozen=True)
class Assessment:
    timing: Timing
    window: Window
    days_overdue: int  # 0 unless LATE or REREGISTER; 1 on the anniversary itself
    new_anchor: date  # anchor after this endorsement
    new_years: int  # anniversaries counted from new_anchor after this endorsement

    @property
    def accepted(self) -> bool:
        return self.timing in (Timing.ON_TIME, Timing.LATE)

    @property
    def next_anniversary(self) -> date:
        return add_years(self.new_anchor, self.new_years)


def anniversary(anchor: date, years: int) -> date:
    if years < 1:
        raise RuleError("years", f"must be >= 1, got {years}")
    return add_years(anchor, years)


def window(rules: CityRules, anniversary_day: date) -> Window:
    grace = rules.late_endorsement_grace
    # SMX Art.18: A + 6 months is more than half a year overdue (A is day 1), so the last late day is before it.
    late_until = None if grace is None else grace.add_to(anniversary_day) - timedelta(days=1)
    return Window(
        anniversary=anniversary_day,
        opens=rules.endorsement_window.subtract_from(anniversary_day),
        last_on_time=anniversary_day - timedelta(days=1),
        late_until=late_until,
    )


def assess(rules: CityRules, anchor: date, years: int, on: date) -> Assessment:
    """Classify an endorsement made `on` for the `years`-th anniversary counted from `anchor`."""
    win = window(rules, anniversary(anchor, years))
    if on < win.opens:
        return Assessment(Timing.TOO_EARLY, win, 0, anchor, years)
    if on <= win.last_on_time:
        return Assessment(Timing.ON_TIME, win, 0, anchor, years + 1)
    overdue = (on - win.anniversary).days + 1  # the anniversary is the first overdue day
    if win.late_until is not None and on > win.late_until:
        return Assessment(Timing.REREGISTER, win, overdue, anchor, years)
    if rules.late_restarts_residence_years:
        return Assessment(Timing.LATE, win, overdue, on, 1)  # SMX Art.18
    return Assessment(Timing.LATE, win, overdue, anchor, years + 1)


def is_overdue(anchor: date, years: int, on: date) -> bool:
    """SMX Art.19(3): on or after the anniversary without endorsement, use is suspended."""
    return on >= anniversary(anchor, years)


def residence_years(anchor: date, on: date) -> int:
    """Completed residence years counted from the anchor (restarted by a late endorsement)."""
    return full_years(anchor, on)
