"""Issuance jobs (create, run on a reader, progress, retry) and printed card faces."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from cardsvc.api.deps import CtxDep, FaceUser, Issuer, PermitNumberPath, RowId, SessionDep
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import JobIn, JobOut, ReaderIn
from cardsvc.api.services import cards, issuance

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)


@router.post("/jobs", tags=["issuance"], status_code=status.HTTP_201_CREATED,
             summary="Create (or, for the same idempotency key, find) an issuance job")
def create_job(body: JobIn, principal: Issuer, ctx: CtxDep, session: SessionDep) -> JobOut:
    return issuance.create_job(ctx, session, principal, body)


@router.get("/jobs", tags=["issuance"], summary="The print queue: jobs, newest first")
def list_jobs(principal: Issuer, ctx: CtxDep, session: SessionDep,
              state: Annotated[Literal["open", "pending", "writing", "verifying", "issued", "failed_retryable",
                                       "failed"] | None, Query()] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[JobOut]:
    return issuance.list_jobs(ctx, session, state, limit)


@router.get("/jobs/{job_id}", tags=["issuance"], summary="A job's state and live progress")
def get_job(job_id: RowId, principal: Issuer, ctx: CtxDep, session: SessionDep) -> JobOut:
    return issuance.get_job(ctx, session, job_id)


@router.post("/jobs/{job_id}/run", tags=["issuance"], status_code=status.HTTP_202_ACCEPTED,
             summary="Personalize the card in a reader; poll the job for progress")
def run_job(job_id: RowId, body: ReaderIn, principal: Issuer, ctx: CtxDep, session: SessionDep) -> JobOut:
    return issuance.start_run(ctx, session, principal, job_id, body.reader, retry=False)


@router.post("/jobs/{job_id}/retry", tags=["issuance"], status_code=status.HTTP_202_ACCEPTED,
             summary="Retry a failed-retryable or interrupted job (a partial card is wiped first)")
def retry_job(job_id: RowId, body: ReaderIn, principal: Issuer, ctx: CtxDep, session: SessionDep) -> JobOut:
    return issuance.start_run(ctx, session, principal, job_id, body.reader, retry=True)


@router.get("/faces/{permit_number}/{side}", tags=["faces"], summary="The printed card face: front/back PNG or PDF",
            response_class=Response,
            responses={200: {"content": {"image/png": {}, "application/pdf": {}}}})
def get_face(permit_number: PermitNumberPath, side: Literal["front.png", "back.png", "face.pdf"], principal: FaceUser,
             ctx: CtxDep, session: SessionDep) -> Response:
    kind = side.split(".")[0]
    data = cards.face(ctx, session, principal, permit_number, "pdf" if kind == "face" else kind)
    return Response(data, media_type="application/pdf" if kind == "face" else "image/png")
