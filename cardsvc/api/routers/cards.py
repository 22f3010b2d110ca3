"""Verification (card on a reader, an uploaded card image, a scanned QR text), status, endorsements."""

from __future__ import annotations

import os
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Path, Query, Request, Response, UploadFile

from cardsvc.api.context import AppContext
from cardsvc.api.deps import (
    CachedVerifier,
    CtxDep,
    Endorser,
    PermitNumberPath,
    SessionDep,
    StatusListUser,
    StatusReader,
    Verifier,
)
from cardsvc.api.errors import ApiError
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import CardStatusOut, EndorsementIn, EndorsementOut, QrIn, ReaderIn, VerdictOut
from cardsvc.api.services import cards

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)


@router.post("/verify/reader", tags=["verification"], summary="Verify the card in a reader (audited)")
def verify_reader(body: ReaderIn, principal: Verifier, ctx: CtxDep) -> VerdictOut:
    return cards.verify_reader(ctx, principal, body.reader)


# Async with the cached principal (issue 15 item 3): one thread hop per request, for the verification
# itself, where the sync dependencies (context, session, token query, scope check) took five.
@router.post("/verify/image", tags=["verification"], summary="Verify an uploaded card image (JSON or CBOR)")
async def verify_image(file: UploadFile, principal: CachedVerifier, request: Request) -> VerdictOut:
    ctx: AppContext = request.app.state.ctx
    raw = await file.read(ctx.settings.max_upload_bytes + 1)
    if len(raw) > ctx.settings.max_upload_bytes:
        raise ApiError(413, "too-large", f"file: larger than {ctx.settings.max_upload_bytes} bytes", field="file")
    if not raw:
        raise ApiError(422, "invalid-card-image", "file: empty", field="file")
    return await to_thread.run_sync(cards.verify_image, ctx, principal, raw, file.filename or "",
                                    limiter=_verifying(request))


def _verifying(request: Request) -> CapacityLimiter:
    """Verifications in flight in this service: as many as there are cores (at least two, so one can wait
    on the database while another computes). They are CPU work under one GIL: the default pool's 40
    threads only took turns on it, and each request waited behind all the others (p99 2.7 s with 16
    clients, issue 15); the rest now wait in line here, in order. Made on first use, in the app's loop."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "verifying", None)
    if limiter is None:
        limiter = request.app.state.verifying = CapacityLimiter(max(2, os.cpu_count() or 1))
    return limiter


@router.post("/verify/qr", tags=["verification"], summary="Verify a scanned QR text (signature, signer, status)")
def verify_qr(body: QrIn, principal: Verifier, ctx: CtxDep, session: SessionDep) -> dict[str, Any]:
    return cards.verify_qr(ctx, session, principal, body.text)


@router.get("/status-list", tags=["status"], summary="The signed status list (COSE_Sign1) for offline counters",
            response_class=Response, responses={200: {"content": {"application/cose": {}}}})
def status_list(principal: StatusListUser, ctx: CtxDep, session: SessionDep,
                layout_id: Annotated[str, Query(max_length=16, description="the city's layout (its registry's list)")],
                ) -> Response:
    return Response(cards.status_list_bytes(ctx, session, layout_id), media_type="application/cose")


@router.get("/status-list/delta", tags=["status"],
            summary="The signed changes since list `since` (COSE_Sign1); 204 when `since` is in force, 404 "
                    "when it is no longer kept (then fetch the full list)",
            response_class=Response, responses={200: {"content": {"application/cose": {}}}, 204: {}})
def status_delta(principal: StatusListUser, ctx: CtxDep, session: SessionDep,
                 layout_id: Annotated[str, Query(max_length=16, description="the city's layout (its registry's list)")],
                 since: Annotated[int, Query(ge=1, le=2**62)]) -> Response:
    blob = cards.status_delta_bytes(ctx, session, layout_id, since)
    return Response(status_code=204) if blob is None else Response(blob, media_type="application/cose")


# Async on purpose (issue 15 item 3): no thread hop per request; the principal comes from a short cache and
# the status from one indexed Core query, sub-millisecond, which costs less on the loop than a thread hop.
@router.get("/status/{card_number}", tags=["status"], summary="Online status of one card (no personal data)")
async def card_status(card_number: Annotated[str, Path(min_length=4, max_length=32, pattern=r"^\d+[\dX]$")],
                      principal: StatusReader, request: Request) -> CardStatusOut:
    return cards.card_status(request.app.state.ctx, card_number)


@router.post("/endorsements", tags=["endorsements"], status_code=201,
             summary="Yearly endorsement or address change (SMX Art.16-17, ZZ Art.13-14), written to the card")
def endorse(body: EndorsementIn, principal: Endorser, ctx: CtxDep) -> EndorsementOut:
    return cards.endorse(ctx, principal, body)


@router.post("/endorsements/{permit_number}/sync", tags=["endorsements"],
             summary="Write pending endorsements to the card in a reader (after a failure)")
def sync(permit_number: PermitNumberPath, body: ReaderIn, principal: Endorser, ctx: CtxDep) -> EndorsementOut:
    return cards.sync(ctx, principal, permit_number, body.reader)


@router.get("/endorsements", tags=["endorsements"], summary="A permit's endorsements")
def list_endorsements(principal: Endorser, session: SessionDep,
                      permit_number: Annotated[str, Query(min_length=1, max_length=32)]) -> list[EndorsementOut]:
    return cards.list_endorsements(session, permit_number)
