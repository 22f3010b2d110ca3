"""Termination of residence (ZZ Art.25).

¶1 "在出租房屋居住的流动人口终止居住的，房屋出租人应当在 7 个工作日内向居住地公安派出所报告" and ¶2 the
same for an employer's lodging: a report is on time through the 7th working day after the residence ended.
¶3 "应当注销而未注销的居住证，由公安机关核查注销": every permit with such a report and not yet cancelled is on
the worklist of permits to cancel.

Working days are the State Council's (cardsvc.duties.workdays: public holidays off, 调休 weekend days on).
A due date in a year the calendar does not hold yet is never guessed: the report is kept with its due date
pending, and the worklist counts it again on every read, so it appears once the calendar holds that year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.duties.workdays import CalendarNotCoveredError, add_working_days
from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.duty_models import TerminationReport
from cardsvc.registry.errors import RegistryError
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import Permit
from cardsvc.rules.status import PermitStatus

REPORT_WORKING_DAYS = 7  # ZZ Art.25 ¶1-2


def report_due_on(ended_on: date) -> date | None:
    """The last day of a timely report (ZZ Art.25 ¶1-2), or None while the calendar lacks its year."""
    try:
        return add_working_days(ended_on, REPORT_WORKING_DAYS, field="ended_on")
    except CalendarNotCoveredError:
        return None


def is_late(reported_on: date, due_on: date | None) -> bool | None:
    """Late, on time, or None: undetermined while the due date is pending."""
    return None if due_on is None else reported_on > due_on


class Reporter(StrEnum):
    LANDLORD = "landlord"  # ¶1 房屋出租人
    EMPLOYER = "employer"  # ¶2 用人单位和雇主


def report_termination(session: Session, actor: Actor, permit_number: str, reporter: Reporter, ended_on: date, *,
                       at: datetime) -> TerminationReport:
    today = local_date(at)
    if ended_on > today:
        raise RegistryError(f"ended_on: {ended_on.isoformat()} is in the future", field="ended_on")
    permit = permit_by_number(session, permit_number)
    due = report_due_on(ended_on)
    row = TerminationReport(permit_id=permit.id, reporter=reporter.value, ended_on=ended_on, reported_on=today,
                            due_on=due, created_at=at)
    session.add(row)
    timeliness = ("due date pending: the working-day calendar does not hold its year yet" if due is None
                  else f"{'late' if today > due else 'on time'} (due {due.isoformat()})")
    audit(session, actor, "permit.residence_ended", at=at, permit_number=permit_number,
          reason=f"ZZ Art.25: {reporter.value} report, residence ended {ended_on.isoformat()}, {timeliness}")
    session.flush()
    return row


@dataclass(frozen=True)
class CancelItem:
    permit_number: str
    permit_status: str
    reporter: str
    ended_on: date
    reported_on: date
    due_on: date | None  # None: pending until the calendar holds the year

    @property
    def late(self) -> bool | None:
        return is_late(self.reported_on, self.due_on)


def cancel_worklist(session: Session) -> list[CancelItem]:
    """ZZ Art.25 ¶3: permits whose residence was reported ended and that are not cancelled, oldest first."""
    stmt = (select(TerminationReport, Permit.permit_number, Permit.status)
            .join(Permit, Permit.id == TerminationReport.permit_id)
            .where(Permit.status != PermitStatus.CANCELLED.value)
            .order_by(TerminationReport.ended_on, TerminationReport.id))
    return [CancelItem(number, status, r.reporter, r.ended_on, r.reported_on,
                       r.due_on if r.due_on is not None else report_due_on(r.ended_on))
            for r, number, status in session.execute(stmt)]
