"""Layouts, applications, permits, department data and status changes: thin over services.records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from cardsvc.api.deps import (
    ApplicationsUser,
    CtxDep,
    DepartmentUser,
    LayoutUser,
    PermitNumberPath,
    PermitsUser,
    RowId,
    SessionDep,
    StatusChanger,
)
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import (
    ApplicationIn,
    ApplicationOut,
    AuthorityOut,
    DepartmentDataOut,
    LayoutOut,
    PermitOut,
    PermitSummary,
    SampleIn,
    StatusChangeIn,
    StatusChangeOut,
)
from cardsvc.api.services import records
from cardsvc.rules.status import PermitStatus

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)


@router.get("/layouts", tags=["layouts"], summary="City card layouts (SMX Art.13, ZZ Art.2)")
def list_layouts(principal: LayoutUser, ctx: CtxDep) -> list[LayoutOut]:
    return [LayoutOut(id=lay.id, city=lay.layout.city, version=str(lay.layout.version),
                      authorities=[AuthorityOut(code=a.code, name=a.name) for a in lay.authorities],
                      departments=sorted({d.department for d in lay.dfs if d.department}))
            for lay in ctx.layouts.values()]


@router.get("/layouts/{layout_id}", tags=["layouts"], summary="One layout in full (files, fields, access rules)")
def get_layout(layout_id: Annotated[str, Path(max_length=16)], principal: LayoutUser, ctx: CtxDep) -> dict[str, object]:
    return ctx.layout(layout_id).model_dump(mode="json")


@router.post("/applications", tags=["applications"], status_code=status.HTTP_201_CREATED,
             summary="Apply for a permit; accepted on the spot when complete (SMX Art.11)")
def submit_application(body: ApplicationIn, principal: ApplicationsUser, ctx: CtxDep,
                       session: SessionDep) -> ApplicationOut:
    return records.submit(ctx, session, principal, body)


@router.post("/applications/sample", tags=["applications"], status_code=status.HTTP_201_CREATED,
             summary="A synthetic application (no real person) for demos and tests")
def sample_application(body: SampleIn, principal: ApplicationsUser, ctx: CtxDep, session: SessionDep) -> ApplicationOut:
    return records.sample_application(ctx, session, principal, body.layout_id, body.seed)


@router.get("/applications", tags=["applications"], summary="Applications, newest first (no personal data)")
def list_applications(principal: ApplicationsUser, session: SessionDep,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[ApplicationOut]:
    return records.list_applications(session, limit)


@router.get("/applications/{application_id}", tags=["applications"], summary="One application's decision")
def get_application(application_id: RowId, principal: ApplicationsUser, session: SessionDep) -> ApplicationOut:
    return records.get_application(session, application_id)


@router.get("/permits", tags=["permits"], summary="Permits by status (numbers and statuses only)")
def list_permits(principal: PermitsUser, session: SessionDep, status: PermitStatus | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[PermitSummary]:
    return records.list_permits(session, None if status is None else status.value, limit)


@router.get("/permits/{permit_number}", tags=["permits"], summary="A permit's data (audited, ZZ Art.29)")
def get_permit(permit_number: PermitNumberPath, principal: PermitsUser, ctx: CtxDep, session: SessionDep) -> PermitOut:
    return records.permit_out(ctx, session, principal, permit_number)


@router.get("/permits/{permit_number}/photo", tags=["permits"], summary="The holder's photo (audited)",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def get_photo(permit_number: PermitNumberPath, principal: PermitsUser, ctx: CtxDep, session: SessionDep) -> Response:
    return Response(records.permit_photo(ctx, session, principal, permit_number), media_type="image/jpeg")


@router.get("/permits/{permit_number}/history", tags=["permits"], summary="Status history with reasons")
def get_history(permit_number: PermitNumberPath, principal: StatusChanger,
                session: SessionDep) -> list[StatusChangeOut]:
    return [StatusChangeOut(at=c.at, subject=c.subject, from_status=c.from_status, to_status=c.to_status,
                            reason_code=c.reason_code, reason=c.reason, actor=c.actor)
            for c in records.status_history(session, permit_number)]


@router.post("/permits/{permit_number}/status", tags=["permits"],
             summary="Suspend (SMX Art.19), reinstate, report lost (ZZ Art.16) or cancel (ZZ Art.25)")
def change_status(permit_number: PermitNumberPath, body: StatusChangeIn, principal: StatusChanger, ctx: CtxDep,
                  session: SessionDep) -> list[StatusChangeOut]:
    records.change_status(ctx, session, principal, permit_number, body)
    return [StatusChangeOut(at=c.at, subject=c.subject, from_status=c.from_status, to_status=c.to_status,
                            reason_code=c.reason_code, reason=c.reason, actor=c.actor)
            for c in records.status_history(session, permit_number)]


@router.get("/departments/{department}/permits/{permit_number}", tags=["departments"],
            summary="One department's application data of a permit (ZZ Art.6/9/24; own department only)")
def department_data(department: Annotated[str, Path(max_length=32)], permit_number: PermitNumberPath,
                    principal: DepartmentUser, ctx: CtxDep, session: SessionDep) -> DepartmentDataOut:
    items = records.department_data(ctx, session, principal, department, permit_number)
    return DepartmentDataOut(permit_number=permit_number, department=department, items=items)
