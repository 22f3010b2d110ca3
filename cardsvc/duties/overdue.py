"""Overdue endorsements: use suspended on the anniversary (SMX Art.19(3)), re-registration required
once the late-endorsement grace has run out (SMX Art.18).

A is the anniversary of the current validity (cardsvc.rules.endorsement): A is the first overdue day;
with a grace in the city's [rules] (SMX: half a year) a late endorsement is possible through
A + grace − 1 day, and from A + grace the permit is marked for a new temporary registration. A city
without a grace (ZZ: none stated) is never marked. The suspension reaches counters through the status
list, which lists the card's status (registry.publication): the next published list carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.duty_models import DutyMark
from cardsvc.registry.lifecycle import suspend_overdue
from cardsvc.registry.lookup import local_date
from cardsvc.registry.models import Permit
from cardsvc.rules.city import CityRules
from cardsvc.rules.endorsement import anniversary, window
from cardsvc.rules.status import PermitStatus, SuspensionReason

REREGISTER = "reregister"
REREGISTER_ARTICLE = "SMX Art.18: 逾期超过半年的，需重新申报暂住登记"


@dataclass
class OverdueOutcome:
    suspended: list[str] = field(default_factory=list)  # permit numbers suspended in this run
    marked: list[str] = field(default_factory=list)  # permit numbers marked for re-registration in this run

    def summary(self) -> str:
        return f"suspended {len(self.suspended)}, marked for re-registration {len(self.marked)}"


def reregister_from(rules: CityRules, anchor: date, years: int) -> date | None:
    """The first day a new temporary registration is required (A + grace), None when the city sets none."""
    late_until = window(rules, anniversary(anchor, years)).late_until
    return None if late_until is None else late_until + timedelta(days=1)


def run_overdue(session: Session, actor: Actor, rules_by_city: dict[str, CityRules], *, at: datetime
                ) -> OverdueOutcome:
    """The duty itself: flushes, the caller commits."""
    today = local_date(at)
    out = OverdueOutcome(suspended=suspend_overdue(session, actor, at=at))  # SMX Art.19(3)
    # One mark row per permit (unique); it belongs to the lapse whose A + grace is its `since`. After a
    # re-registration endorsement (SMX Art.18) a later lapse moves the same row to its own date.
    marks = {m.permit_id: m for m in session.scalars(select(DutyMark).where(DutyMark.kind == REREGISTER))}
    overdue = session.scalars(select(Permit).where(
        Permit.status == PermitStatus.SUSPENDED.value,
        Permit.suspension_reason == SuspensionReason.ENDORSEMENT_OVERDUE.value).order_by(Permit.id))
    for permit in overdue:
        rules = rules_by_city.get(permit.city)
        if rules is None:
            continue
        since = reregister_from(rules, permit.anchor_on, permit.years)
        mark = marks.get(permit.id)
        if since is None or today < since or (mark is not None and mark.since == since):
            continue
        if mark is None:
            session.add(DutyMark(permit_id=permit.id, kind=REREGISTER, since=since, article=REREGISTER_ARTICLE,
                                 created_at=at))
        else:
            mark.since, mark.created_at = since, at
        audit(session, actor, "permit.reregistration_required", at=at, permit_number=permit.permit_number,
              reason=f"{REREGISTER_ARTICLE} (from {since.isoformat()})")
        out.marked.append(permit.permit_number)
    session.flush()
    return out


@dataclass(frozen=True)
class OverdueRow:
    permit_number: str
    city: str
    county_code: str
    due: date  # the anniversary A: first overdue day
    days_overdue: int
    late_until: date | None  # last day a late endorsement restores use; None: no limit
    reregister_since: date | None  # set once marked


def overdue_permits(session: Session, rules_by_city: dict[str, CityRules], on: date) -> list[OverdueRow]:
    """Permits suspended for an overdue endorsement, oldest due first (the clerk's list)."""
    marks = {m.permit_id: m.since for m in session.scalars(select(DutyMark).where(DutyMark.kind == REREGISTER))}
    rows = []
    for permit in session.scalars(select(Permit).where(
            Permit.status == PermitStatus.SUSPENDED.value,
            Permit.suspension_reason == SuspensionReason.ENDORSEMENT_OVERDUE.value)):
        due = anniversary(permit.anchor_on, permit.years)
        rules = rules_by_city.get(permit.city)
        late_until = None if rules is None else window(rules, due).late_until
        mark = marks.get(permit.id)  # a mark of an earlier lapse (since before this A) is not this one's
        rows.append(OverdueRow(permit.permit_number, permit.city, permit.county_code, due,
                               max((on - due).days + 1, 0), late_until,
                               mark if mark is not None and mark > due else None))
    return sorted(rows, key=lambda r: (r.due, r.permit_number))
