"""The duties by name, and one guarded run of a duty (lease taken, work committed, outcome recorded).

The same `run_duty` serves the scheduler inside the service (cardsvc.duties.scheduler) and cron
(`cardsvc duties run`), so both behave alike and never run one duty twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cardsvc.duties import lease
from cardsvc.duties.deadline import issuance_queue
from cardsvc.duties.overdue import run_overdue
from cardsvc.duties.termination import cancel_worklist
from cardsvc.layout.schema import Layout
from cardsvc.registry.audit import Actor
from cardsvc.registry.lookup import local_date
from cardsvc.rules.city import CityRules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DutyContext:
    sessions: sessionmaker[Session]
    layouts: dict[str, Layout]
    station_id: str
    holder: str  # this process (or cron run): the lease holder

    @property
    def rules_by_city(self) -> dict[str, CityRules]:
        return {layout.rules.city or layout.id: layout.rules for layout in self.layouts.values()}

    def actor(self, name: str) -> Actor:
        return Actor(station_id=self.station_id[:64], operator=f"duty:{name}"[:64], role="duty")


def _overdue(ctx: DutyContext, s: Session, at: datetime) -> str:
    return run_overdue(s, ctx.actor("overdue"), ctx.rules_by_city, at=at).summary()


def _deadline(ctx: DutyContext, s: Session, at: datetime) -> str:
    # Reads only: the queue is computed on demand; the run records the per-county backlog it saw.
    return issuance_queue(s, local_date(at)).summary()


def _termination(ctx: DutyContext, s: Session, at: datetime) -> str:
    items = cancel_worklist(s)  # ZZ Art.25 ¶3: the police check and cancel these
    pending = sum(i.late is None for i in items)  # due date not countable until the calendar holds its year
    return (f"to cancel {len(items)}, reported late {sum(i.late is True for i in items)}"
            + (f", due date pending {pending}" if pending else ""))


DUTIES: dict[str, tuple[str, Callable[[DutyContext, Session, datetime], str]]] = {
    "overdue": ("SMX Art.18, 19(3): suspend overdue endorsements, mark re-registration after the grace", _overdue),
    "deadline": ("SMX Art.12: issuance queue by due date, overdue per county", _deadline),
    "termination": ("ZZ Art.25: permits whose residence was reported ended, to cancel", _termination),
}


@dataclass(frozen=True)
class RunResult:
    name: str
    ran: bool  # False: another holder's lease was running
    outcome: str


def run_duty(ctx: DutyContext, name: str, *, at: datetime) -> RunResult:
    if name not in DUTIES:
        raise KeyError(f"duty: no duty {name!r}; known: {sorted(DUTIES)}")
    if not lease.acquire(ctx.sessions, name, ctx.holder, at=at):
        return RunResult(name, False, "skipped: another process holds the duty")
    outcome = "failed"
    try:
        with ctx.sessions.begin() as s:
            outcome = DUTIES[name][1](ctx, s, at)
    except Exception as exc:
        outcome = f"failed: {exc.__class__.__name__}"
        raise
    finally:
        lease.release(ctx.sessions, name, ctx.holder, at=at, outcome=outcome)
    log.info("duty %s: %s", name, outcome)
    return RunResult(name, True, outcome)
