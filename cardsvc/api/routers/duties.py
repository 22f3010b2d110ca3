"""The registry's standing duties (cardsvc.duties): their lists for the clerk and a manual run for the admin.

The lists carry permit and application numbers and dates, no personal fields; the scheduler in the
service runs the duties by itself (api/app.py lifespan), an admin may run one now.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from cardsvc.api.deps import Admin, CtxDep, PermitsUser, SessionDep
from cardsvc.api.errors import ApiError
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import DutyRunIn, DutyRunOut, OverdueOut, QueueOut, QueueRowOut
from cardsvc.duties import DUTIES, DutyContext, run_duty
from cardsvc.duties.deadline import issuance_queue
from cardsvc.duties.lease import last_runs
from cardsvc.duties.overdue import overdue_permits
from cardsvc.registry.lookup import local_date

router = APIRouter(prefix="/api/duties", tags=["duties"], responses=PROBLEM_RESPONSES)
OnQuery = Annotated[date | None, Query(description="as of this day (default: today in China)")]


@router.get("/queue", summary="SMX Art.12: the print queue by due date, overdue per county")
def queue(ctx: CtxDep, session: SessionDep, _: PermitsUser, on: OnQuery = None) -> QueueOut:
    q = issuance_queue(session, on or local_date(ctx.clock()))
    return QueueOut(on=q.on, overdue_by_county=q.overdue_by_county, rows=[
        QueueRowOut(application_id=r.application_id, permit_number=r.permit_number, county_code=r.county_code,
                    applied_on=r.applied_on, due=r.due, days_left=r.days_left, overdue=r.overdue) for r in q.rows])


def _duty_context(ctx: CtxDep) -> DutyContext:
    return DutyContext(ctx.sessions, ctx.layouts, ctx.settings.station_id, ctx.instance)


@router.get("/overdue", summary="SMX Art.18-19(3): permits suspended for an overdue endorsement")
def overdue(ctx: CtxDep, session: SessionDep, _: PermitsUser, on: OnQuery = None) -> list[OverdueOut]:
    rows = overdue_permits(session, _duty_context(ctx).rules_by_city, on or local_date(ctx.clock()))
    return [OverdueOut(permit_number=r.permit_number, county_code=r.county_code, due=r.due,
                       days_overdue=r.days_overdue, late_until=r.late_until, reregister_since=r.reregister_since)
            for r in rows]


@router.get("/runs", summary="Each duty and how its last run ended")
def runs(session: SessionDep, _: PermitsUser) -> list[DutyRunOut]:
    last = last_runs(session)
    return [DutyRunOut(name=name, description=desc, last_run_at=last[name].last_run_at if name in last else None,
                       last_outcome=last[name].last_outcome if name in last else None)
            for name, (desc, _fn) in DUTIES.items()]


@router.post("/run", summary="Run a duty now (it also runs on the service's schedule)")
def run(ctx: CtxDep, _: Admin, body: DutyRunIn) -> DutyRunOut:
    name = body.name
    if name not in DUTIES:
        raise ApiError(404, "unknown-duty", f"name: no duty {name!r}; known: {sorted(DUTIES)}", field="name")
    at = ctx.clock()
    result = run_duty(_duty_context(ctx), name, at=at)
    return DutyRunOut(name=name, description=DUTIES[name][0], ran=result.ran, last_run_at=at,
                      last_outcome=result.outcome)
