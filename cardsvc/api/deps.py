"""Annotated dependencies: the app context, a per-request transaction, the caller's principal and scope.

Tokens come as `Authorization: Bearer …` (API clients) or the `cardsvc_token` cookie that the pages
set at login (HttpOnly, SameSite=Strict). Every route except login, static assets and the OpenAPI
document depends on `Allowed(scope)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal, Scope, authenticate, hash_token
from cardsvc.api.context import AppContext
from cardsvc.registry.db import read_only_session

COOKIE = "cardsvc_token"
# Path parameters shared by the routers: bounded so no value can overflow a database integer.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="row id")]
PermitNumberPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")]
bearer = HTTPBearer(auto_error=False, description="token from `cardsvc tokens issue` (shown once)")


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on any error."""
    with ctx.sessions.begin() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(request: Request, ctx: CtxDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    page = credentials is None
    token = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    # A read-only transaction of its own, ended before the route's: on SQLite every ordinary transaction
    # holds the write lock (registry/db.py), and routes that run several short transactions would wait
    # on this one.
    with read_only_session(ctx.engine) as session, session.begin():
        principal = authenticate(session, token, at=ctx.clock(), page=page and token is not None)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def cached_principal(request: Request,
                           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """`get_principal` for async routes: on the event loop, from the cache; a miss authenticates once
    (a single indexed read, short enough to run on the loop rather than hop to a thread)."""
    ctx: AppContext = request.app.state.ctx
    token = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    now = ctx.clock()
    key = hash_token(token) if token else ""
    principal = ctx.principals.get(key, now) if token else None
    if principal is None:
        with read_only_session(ctx.engine) as session, session.begin():
            principal = authenticate(session, token, at=now)
        ctx.principals.put(key, principal, now)
    request.state.principal = principal
    return principal


def requires_cached(scope: Scope) -> Callable[..., object]:
    async def check(principal: Annotated[Principal, Depends(cached_principal)]) -> Principal:
        principal.require(scope)
        return principal

    check.__name__ = f"requires_{scope.name.lower()}"  # the role matrix test reads the scope from it
    return check


def requires(scope: Scope) -> Callable[..., Principal]:
    def check(principal: PrincipalDep) -> Principal:
        principal.require(scope)
        return principal

    check.__name__ = f"requires_{scope.name.lower()}"
    return check


ReadersUser = Annotated[Principal, Depends(requires(Scope.READERS))]
ApplicationsUser = Annotated[Principal, Depends(requires(Scope.APPLICATIONS))]
PermitsUser = Annotated[Principal, Depends(requires(Scope.PERMITS_READ))]
Issuer = Annotated[Principal, Depends(requires(Scope.ISSUE))]
Endorser = Annotated[Principal, Depends(requires(Scope.ENDORSE))]
StatusChanger = Annotated[Principal, Depends(requires(Scope.STATUS_CHANGE))]
Verifier = Annotated[Principal, Depends(requires(Scope.VERIFY))]
CachedVerifier = Annotated[Principal, Depends(requires_cached(Scope.VERIFY))]  # async, cached
StatusListUser = Annotated[Principal, Depends(requires(Scope.STATUS_LIST))]
StatusReader = Annotated[Principal, Depends(requires_cached(Scope.STATUS_LIST))]  # async, cached
LayoutUser = Annotated[Principal, Depends(requires(Scope.LAYOUTS))]
FaceUser = Annotated[Principal, Depends(requires(Scope.FACES))]
DepartmentUser = Annotated[Principal, Depends(requires(Scope.DEPARTMENT_DATA))]
Admin = Annotated[Principal, Depends(requires(Scope.TOKENS))]
Auditor = Annotated[Principal, Depends(requires(Scope.AUDIT))]
