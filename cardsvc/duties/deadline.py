"""The issuance deadline (SMX Art.12 "自受理之日起15日内制作发放居住证"): the print station's queue.

Every accepted application without an issued card, ordered by its due date (`issue_deadline`, set at
acceptance from the city's [rules] `issue_deadline`); the due day itself is still on time, the day after
is overdue. Overdue ones are counted per county (the county of the holder's temporary registration, or
the permit's issuing county once a permit exists), so each county's office sees its own backlog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.registry.models import Card, Permit, PermitApplication, TemporaryRegistration


@dataclass(frozen=True)
class QueueRow:
    application_id: int
    permit_number: str | None  # None until the permit record is created
    city: str
    county_code: str
    applied_on: date
    due: date
    days_left: int  # 0 on the due day; negative once overdue

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


@dataclass(frozen=True)
class Queue:
    on: date
    rows: list[QueueRow]

    @property
    def overdue_by_county(self) -> dict[str, int]:
        return dict(sorted(Counter(r.county_code for r in self.rows if r.overdue).items()))

    def summary(self) -> str:
        late = sum(self.overdue_by_county.values())
        return f"queued {len(self.rows)}, overdue {late}" + "".join(
            f"; {county}: {n}" for county, n in self.overdue_by_county.items())


def issuance_queue(session: Session, on: date) -> Queue:
    issued = select(Permit.application_id).join(Card, Card.permit_id == Permit.id).where(
        Permit.application_id.is_not(None), Card.issued_at.is_not(None))
    stmt = (
        select(PermitApplication, Permit.permit_number, Permit.county_code, TemporaryRegistration.county_code)
        .outerjoin(Permit, Permit.application_id == PermitApplication.id)
        .outerjoin(TemporaryRegistration, TemporaryRegistration.id == PermitApplication.registration_id)
        .where(PermitApplication.accepted.is_(True), PermitApplication.issue_deadline.is_not(None),
               PermitApplication.id.not_in(issued))
        .order_by(PermitApplication.issue_deadline, PermitApplication.id)
    )
    rows = []
    for app, number, permit_county, reg_county in session.execute(stmt):
        due = app.issue_deadline
        assert due is not None  # filtered in the query
        rows.append(QueueRow(app.id, number, app.city, permit_county or reg_county or "", app.applied_on, due,
                             (due - on).days))
    return Queue(on, rows)
