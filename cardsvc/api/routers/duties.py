"""The registry's standing duties (cardsvc.duties): their lists for the clerk and a manual run for the admin.

The lists carry permit and application numbers and dates, no personal fields; the scheduler in the
service runs the duties by itself (api/app.py lifespan), an admin may run one now.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from cardsvc.api.deps import Admin, ApplicationsUser, CtxDep, PermitNumberPath, PermitsUser, SessionDep, StatusChanger
from cardsvc.api.errors import ApiError
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import (
    CancelItemOut,
    DutyRunIn,
    DutyRunOut,
    NoticeIn,
    OverdueOut,
    QueueOut,
    QueueRowOut,
    TerminationIn,
)
from cardsvc.duties import DUTIES, DutyContext, run_duty
from cardsvc.duties.deadline import issuance_queue
from cardsvc.duties.documents import render_document
from cardsvc.duties.lease import last_runs
from cardsvc.duties.overdue import overdue_permits
from cardsvc.duties.papers import city_name, materials_notice, receipt_pdf
from cardsvc.duties.residence import certificate, residence_record
from cardsvc.duties.termination import Reporter, cancel_worklist, is_late, report_termination
from cardsvc.registry.audit import audit
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import FeeRecord

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


PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "a printable A4 PDF"}}


@router.post("/notice", summary="SMX Art.11: the one-time written notice of missing materials (PDF, kept)",
             response_class=Response, responses=PDF)
def notice(body: NoticeIn, principal: ApplicationsUser, ctx: CtxDep, session: SessionDep) -> Response:
    row = materials_notice(session, principal.actor, body.application_id, ctx.layouts, at=ctx.clock())
    return Response(row.pdf, media_type="application/pdf")


@router.get("/receipt", summary="SMX Art.20, ZZ Art.15: the receipt of one fee payment (PDF)",
            response_class=Response, responses=PDF)
def receipt(fee_id: Annotated[int, Query(ge=1, le=2**31 - 1)], _: PermitsUser, ctx: CtxDep,
            session: SessionDep) -> Response:
    return Response(receipt_pdf(session, fee_id, ctx.layouts), media_type="application/pdf")


@router.post("/terminations/{permit_number}", summary="ZZ Art.25 ¶1-2: a landlord's or employer's report that "
             "the residence ended (7 working days)")
def termination(permit_number: PermitNumberPath, body: TerminationIn, principal: StatusChanger, ctx: CtxDep,
                session: SessionDep) -> CancelItemOut:
    r = report_termination(session, principal.actor, permit_number, Reporter(body.reporter), body.ended_on,
                           at=ctx.clock())
    return CancelItemOut(permit_number=permit_number, permit_status="", reporter=r.reporter, ended_on=r.ended_on,
                         reported_on=r.reported_on, due_on=r.due_on, late=is_late(r.reported_on, r.due_on))


@router.get("/terminations", summary="ZZ Art.25 ¶3: the worklist of permits to cancel")
def terminations(session: SessionDep, _: PermitsUser) -> list[CancelItemOut]:
    return [CancelItemOut(permit_number=i.permit_number, permit_status=i.permit_status, reporter=i.reporter,
                          ended_on=i.ended_on, reported_on=i.reported_on, due_on=i.due_on, late=i.late)
            for i in cancel_worklist(session)]


@router.get("/residence-years", summary="SMX Art.18, 25-26: continuous residence years with restarts and reasons")
def residence_years(permit_number: Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")],
                    ctx: CtxDep, session: SessionDep, _: PermitsUser, on: OnQuery = None) -> dict[str, Any]:
    record = residence_record(session, permit_number, _duty_context(ctx).rules_by_city, on or local_date(ctx.clock()))
    return {"on": record.on, "permit_numbers": record.permit_numbers, "continuous_years": record.continuous_years,
            "spans": [{"start": s.start, "end": s.end, "started_by": s.started_by, "ended_by": s.ended_by}
                      for s in record.spans]}


@router.get("/residence-years.pdf", summary="SMX Art.18, 25-26: the residence-years certificate (PDF, audited)",
            response_class=Response, responses=PDF)
def residence_certificate(permit_number: Annotated[str, Query(min_length=1, max_length=32,
                                                              pattern=r"^[0-9A-Za-z-]+$")],
                          ctx: CtxDep, session: SessionDep, principal: PermitsUser) -> Response:
    now = ctx.clock()
    record = residence_record(session, permit_number, _duty_context(ctx).rules_by_city, local_date(now))
    permit = permit_by_number(session, permit_number)
    name = str(permit.data.get("name", ""))
    audit(session, principal.actor, "permit.residence_certificate", at=now, permit_number=permit_number,
          reason="SMX Art.18 residence-years certificate printed")  # it carries the holder's name (ZZ Art.29)
    return Response(render_document(certificate(record, city_name(ctx.layouts, permit.city), name, now)),
                    media_type="application/pdf")


@router.get("/fees", summary="SMX Art.20, ZZ Art.15: a permit's fee rows (one per charged event), for receipts")
def fees(permit_number: Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")],
         session: SessionDep, _: PermitsUser) -> list[dict[str, Any]]:
    permit = permit_by_number(session, permit_number)
    rows = session.scalars(select(FeeRecord).where(FeeRecord.permit_id == permit.id).order_by(FeeRecord.id))
    return [{"fee_id": f.id, "event": f.event, "amount_fen": f.amount_fen, "article": f.article, "at": f.at}
            for f in rows]
