"""ZZ Art.25: landlords' and employers' reports within 7 working days (¶1-2), the worklist of permits to
cancel (¶3), at the boundary dates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from cardsvc.duties.termination import Reporter, add_working_days, cancel_worklist, report_termination
from cardsvc.registry import Actor, RegistryError
from cardsvc.registry.lifecycle import cancel

from .conftest import Builder, at_day

ENDED = date(2026, 3, 2)  # a Monday: the 7th working day after it is Wednesday 2026-03-11


def test_seven_working_days_skip_the_weekend() -> None:
    assert add_working_days(ENDED, 7) == date(2026, 3, 11)
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday


@pytest.mark.parametrize(("reported", "late"), [
    (at_day(2026, 3, 10), False),  # the day before the deadline
    (at_day(2026, 3, 11), False),  # the 7th working day
    (at_day(2026, 3, 12), True),  # the day after
])
def test_report_on_time_or_late_and_the_cancel_worklist(build: Builder, session: Session, actor: Actor,
                                                        reported: object, late: bool) -> None:
    number, _ = build.issued_permit("zz", issued=at_day(2025, 8, 5))
    row = report_termination(session, actor, number, Reporter.LANDLORD, ENDED, at=reported)  # type: ignore[arg-type]
    assert row.due_on == date(2026, 3, 11)
    [item] = cancel_worklist(session)
    assert (item.permit_number, item.reporter, item.late) == (number, "landlord", late)
    cancel(session, actor, number, "ZZ Art.25 ¶3 checked and cancelled", at=at_day(2026, 3, 13))
    assert cancel_worklist(session) == []  # cancelled: off the worklist


def test_a_future_end_is_refused(build: Builder, session: Session, actor: Actor) -> None:
    number, _ = build.issued_permit("zz", issued=at_day(2025, 8, 5))
    with pytest.raises(RegistryError, match="ended_on: 2026-03-03 is in the future"):
        report_termination(session, actor, number, Reporter.EMPLOYER, date(2026, 3, 3), at=at_day(2026, 3, 2))
    assert cancel_worklist(session) == []


@pytest.mark.parametrize(("reported", "late"), [
    (at_day(2026, 10, 13), False),  # the day before the deadline
    (at_day(2026, 10, 14), False),  # the 7th working day: 09-30, 10-08, 10-09, 10-10 (调休 Saturday), 12, 13, 14
    (at_day(2026, 10, 15), True),  # the day after
])
def test_the_deadline_skips_the_national_day_week(build: Builder, session: Session, actor: Actor,
                                                  reported: object, late: bool) -> None:
    """Monday-Friday would have put the deadline on 10-08, inside the holiday's aftermath; the State
    Council's notice puts it on 10-14."""
    number, _ = build.issued_permit("zz", issued=at_day(2025, 8, 5))
    row = report_termination(session, actor, number, Reporter.EMPLOYER, date(2026, 9, 29), at=reported)  # type: ignore[arg-type]
    assert row.due_on == date(2026, 10, 14)
    [item] = cancel_worklist(session)
    assert item.late is late


def test_a_deadline_in_a_year_the_calendar_does_not_hold_is_pending(build: Builder, session: Session, actor: Actor,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """ZZ Art.25 ¶1-2: the due date of a residence that ended on the calendar's last 28 December falls in a
    year whose holiday notice the calendar lacks: the report is kept with the due date pending (never a
    Monday-Friday guess), and the worklist counts it once the calendar holds that year."""
    from cardsvc.duties import workdays
    from cardsvc.duties.workdays import covered_years

    last = covered_years().stop - 1
    number, _ = build.issued_permit("zz", issued=at_day(last - 1, 8, 5))
    row = report_termination(session, actor, number, Reporter.LANDLORD, date(last, 12, 28),
                             at=at_day(last, 12, 29))
    assert row.due_on is None
    [item] = cancel_worklist(session)
    assert item.permit_number == number and item.due_on is None and item.late is None
    # The next year's notice arrives (here: every weekday of it a working day): the same report is counted.
    real = workdays.is_working_day
    monkeypatch.setattr(workdays, "is_working_day", lambda day, field="date": (
        day.weekday() < 5 if day.year > last else real(day, field=field)))
    [item] = cancel_worklist(session)
    assert item.due_on is not None and item.due_on > date(last, 12, 28) and item.late is False
