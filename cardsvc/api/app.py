"""`create_app(settings)`: the FastAPI service. The lifespan owns the database, key store and readers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from cardsvc.api import problems
from cardsvc.api.auth import authenticate, hash_token, needs_touch, touch
from cardsvc.api.context import AppContext
from cardsvc.api.middleware import Door
from cardsvc.api.readers import ReaderHub
from cardsvc.api.routers import admin, cards, departments, duties, issuance, pages, readers, registrations, registry
from cardsvc.api.schemas import Problem
from cardsvc.cardside import CardSide
from cardsvc.duties import DutyContext
from cardsvc.duties.scheduler import schedule
from cardsvc.registry.db import read_only_session
from cardsvc.settings import Settings, load_settings

log = logging.getLogger(__name__)
ROUTERS = (admin.router, readers.router, registry.router, registrations.router, issuance.router, cards.router,
           departments.router, duties.router, pages.router)
STATIC = Path(__file__).with_name("static")

DESCRIPTION = """Residence-permit (居住证) card service: applications, issuance at printing stations,
verification at counters, endorsements, status (SMX 2017, ZZ 2013 rules).

Every route needs `Authorization: Bearer <token>`; tokens are bound to a station and a role
(print_station, counter, endorsement, department, admin) and are issued with `cardsvc tokens issue`.
Errors are RFC 9457 problem details (`application/problem+json`) naming the field at fault; card errors
carry the status word (`sw`, `sw_name`). Every read of personal data is audited (ZZ Art.29)."""


def create_app(settings: Settings | None = None, *, hub: ReaderHub | None = None,
               card_side: CardSide | None = None, context: AppContext | None = None) -> FastAPI:
    """The service. `hub` replaces the readers the settings name (tests, `serve --dev`); `card_side` builds
    virtual readers and opens uploaded card images (default: the installed one, see cardsvc.cardside);
    `context` replaces a whole prepared one."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context if context is not None else AppContext.open(settings, hub=hub, card_side=card_side)
        app.state.ctx = ctx
        log.info("service up: readers=%s database=%s", settings.readers.value, ctx.engine.url.render_as_string())
        duties = None
        if settings.duties_interval_seconds > 0:  # the standing duties on a schedule (issue 16 item 2)
            duty_ctx = DutyContext(ctx.sessions, ctx.layouts, settings.station_id, ctx.instance)
            duties = asyncio.create_task(schedule(duty_ctx, lambda: ctx.clock(), settings.duties_interval_seconds,
                                                  settings.duties_first_delay_seconds), name="duties")
        try:
            yield
        finally:
            if duties is not None:
                duties.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await duties
            if context is None:
                ctx.close()

    app = FastAPI(title="cardsvc", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": t} for t in ("readers", "applications", "permits", "issuance", "faces",
                                                      "verification", "status", "endorsements", "departments", "duties",
                                                      "layouts", "tokens", "audit")])
    problems.install(app)

    def authenticate_token(token: str | None, page: bool) -> None:
        ctx: AppContext = app.state.ctx
        now = ctx.clock()
        with read_only_session(ctx.engine) as session, session.begin():
            principal = authenticate(session, token, at=now, page=page)
            stale = page and token is not None and needs_touch(session, token, at=now)
        if stale:  # a page session in use: push its idle timeout on (a short write, once a minute)
            with ctx.sessions.begin() as session:
                touch(session, token, at=now)  # type: ignore[arg-type]
        if token:
            ctx.principals.put(hash_token(token), principal, now)

    def known_token(token: str | None) -> bool:
        """Authenticated moments ago (api/principals.py): the door need not hop to a thread for it."""
        ctx: AppContext = app.state.ctx
        return bool(token) and ctx.principals.get(hash_token(token or ""), ctx.clock()) is not None

    # Authentication, Origin and the body limit before any route reads a byte (issue 13): the largest
    # body a route takes is a card image upload, plus room for its multipart envelope.
    app.add_middleware(Door, authenticate=authenticate_token, known=known_token,
                       max_body=settings.max_upload_bytes + 64 * 1024)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, tags=app.openapi_tags)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            # FastAPI documents its own 422 as HTTPValidationError; ours is a problem document.
            for path in schema.get("paths", {}).values():
                for op in path.values():
                    if isinstance(op, dict) and "422" in op.get("responses", {}):
                        op["responses"]["422"] = problems.PROBLEM_RESPONSES[422]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
