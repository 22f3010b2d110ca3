"""City rules carried by a layout (the numbers cardsvc.rules works with), as a pydantic block.

Each number's article is cited in the city's TOML file beside it; this module only gives the shape.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field


class Period(BaseModel):
    """A calendar period: years and months are calendar steps (clamped to month end), days are days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: int = Field(default=0, ge=0, le=100)
    months: int = Field(default=0, ge=0, le=1200)
    days: int = Field(default=0, ge=0, le=36500)

    def add_to(self, start: date) -> date:
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, _month_days(year, month))
        return date(year, month, day) + timedelta(days=self.days)

    def subtract_from(self, end: date) -> date:
        month_index = end.year * 12 + end.month - 1 - self.months - 12 * self.years
        year, month = month_index // 12, month_index % 12 + 1
        day = min(end.day, _month_days(year, month))
        return date(year, month, day) - timedelta(days=self.days)


def _month_days(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


class CityRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    validity: Period  # validity granted by issue or by one endorsement
    endorsement_window: Period  # before each anniversary
    late_endorsement_grace: Period | None = None  # overdue endorsement still accepted
    address_change_deadline: Period  # report/endorse a changed residence address
    issue_deadline: Period | None = None  # card made and issued after acceptance
    min_registration: Period  # temporary registration before a permit can be applied for
    registration_deadline: Period | None = None  # temporary registration after arrival
    guardian_age: int = Field(ge=0, le=18)  # under this age a guardian may/must apply
    mandatory_age: int | None = Field(default=None, ge=0, le=18)  # from this age a permit is required
    first_issue_free: bool = True
    status_list_max_age_hours: int = Field(ge=1, le=24 * 30)  # operational, not from the seeds
