"""Readers, their live events (long polling), and the dev card desk (virtual cards in and out)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Response

from cardsvc.api.deps import Admin, CtxDep, ReadersUser, SessionDep
from cardsvc.api.errors import ApiError
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.readers import CardDesk
from cardsvc.api.schemas import DeskCardOut, EventsOut, InsertIn, ReaderEventOut, ReaderOut, RemoveIn
from cardsvc.api.services.records import audit_read

router = APIRouter(prefix="/api", tags=["readers"], responses=PROBLEM_RESPONSES)


@router.get("/readers", summary="Readers and whether a card is in each")
def list_readers(principal: ReadersUser, ctx: CtxDep) -> list[ReaderOut]:
    return [ReaderOut(name=r.name, present=r.present, atr=r.atr.hex().upper(), busy=r.busy)
            for r in ctx.hub.readers()]


@router.get("/readers/events", summary="Card inserted/removed events after `after` (long poll up to `timeout` s)")
async def reader_events(principal: ReadersUser, ctx: CtxDep, after: Annotated[int, Query(ge=0)] = 0,
                        timeout: Annotated[float, Query(ge=0, le=25)] = 0) -> EventsOut:
    # Poll the log from the event loop: a long poll must not hold one of the worker threads for 20 s.
    deadline = time.monotonic() + timeout
    events = ctx.hub.events.since(after)
    while not events and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        events = ctx.hub.events.since(after)
    return EventsOut(last_seq=ctx.hub.events.last_seq,
                     events=[ReaderEventOut(seq=e.seq, kind=e.kind.value, reader=e.reader, at=e.at) for e in events])


def _desk(ctx: CtxDep) -> CardDesk:
    if ctx.hub.desk is None:
        raise ApiError(404, "no-desk", "readers: this service has no virtual card desk (real readers)")
    return ctx.hub.desk


@router.get("/desk", summary="Virtual cards on the desk (dev readers only)")
def desk_cards(principal: ReadersUser, ctx: CtxDep) -> list[DeskCardOut]:
    return [DeskCardOut(card_id=c.card_id, reader=c.reader, label=c.label) for c in _desk(ctx).cards()]


@router.post("/desk/insert", summary="Put a virtual card (or a new blank one) into a reader")
def desk_insert(body: InsertIn, principal: ReadersUser, ctx: CtxDep) -> DeskCardOut:
    c = _desk(ctx).insert(body.reader, body.card_id)
    return DeskCardOut(card_id=c.card_id, reader=c.reader, label=c.label)


@router.post("/desk/remove", summary="Take the virtual card out of a reader")
def desk_remove(body: RemoveIn, principal: ReadersUser, ctx: CtxDep) -> DeskCardOut:
    c = _desk(ctx).remove(body.reader)
    return DeskCardOut(card_id=c.card_id, reader=c.reader, label=c.label)


@router.get("/desk/{card_id}/image", summary="A virtual card's image (CBOR), e.g. to upload for verification",
            response_class=Response, responses={200: {"content": {"application/cbor": {}}}})
def desk_image(card_id: str, principal: Admin, ctx: CtxDep, session: SessionDep) -> Response:
    # The image holds every file of the card and its per-card secret keys (the chip's private key too):
    # dev services only, admins only (issue 13), and a personal-data read (ZZ Art.29).
    if not ctx.settings.dev:
        raise ApiError(403, "dev-only", "card images with their secret keys are exported only by a dev service")
    audit_read(session, principal, "card.image.export", ctx.clock(), reason=f"virtual card {card_id} exported")
    return Response(_desk(ctx).image(card_id), media_type="application/cbor",
                    headers={"Content-Disposition": f'attachment; filename="{card_id}.cbor"'})
