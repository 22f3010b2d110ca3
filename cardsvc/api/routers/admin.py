"""Tokens (admin command), who-am-I, the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from cardsvc.api import auth
from cardsvc.api.deps import Admin, Auditor, CtxDep, PrincipalDep, RowId, SessionDep
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import AuditOut, IssuedTokenOut, MeOut, TokenIn, TokenOut
from cardsvc.api.tokens_model import ApiToken
from cardsvc.registry.models import AuditEntry

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)


def _token_out(row: ApiToken) -> TokenOut:
    return TokenOut(id=row.id, role=auth.Role(row.role), station_id=row.station_id, label=row.label,
                    department=row.department, created_at=row.created_at, expires_at=row.expires_at,
                    revoked=row.revoked_at is not None)


@router.get("/me", tags=["tokens"], summary="The caller's role, station and scopes")
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(role=principal.role, station_id=principal.station_id, label=principal.label,
                 department=principal.department, scopes=sorted(s.value for s in auth.ROLE_SCOPES[principal.role]))


@router.post("/tokens", tags=["tokens"], status_code=status.HTTP_201_CREATED,
             summary="Issue a token bound to a station and a role (shown once)")
def issue_token(body: TokenIn, principal: Admin, ctx: CtxDep, session: SessionDep) -> IssuedTokenOut:
    hours = body.expires_in_hours
    issued = auth.issue_token(session, principal.actor, role=body.role, station_id=body.station_id, label=body.label,
                              department=body.department, at=ctx.clock(), departments=ctx.departments,
                              lifetime=None if hours is None else timedelta(hours=hours))
    p = issued.principal
    return IssuedTokenOut(id=p.token_id, role=p.role, station_id=p.station_id, label=p.label,
                          department=p.department, token=issued.token, expires_at=issued.expires_at)


@router.get("/tokens", tags=["tokens"], summary="Every token (never the token itself)")
def list_tokens(principal: Admin, session: SessionDep) -> list[TokenOut]:
    return [_token_out(row) for row in auth.list_tokens(session)]


@router.delete("/tokens/{token_id}", tags=["tokens"], summary="Revoke a token")
def revoke_token(token_id: RowId, principal: Admin, ctx: CtxDep, session: SessionDep) -> TokenOut:
    row = auth.revoke_token(session, principal.actor, token_id, at=ctx.clock())
    ctx.principals.clear()  # the revoked token must not keep answering from this process's cache
    return _token_out(row)


@router.get("/audit", tags=["audit"], summary="The audit log, newest first (ZZ Art.29)")
def audit_log(principal: Auditor, session: SessionDep,
              permit_number: Annotated[str | None, Query(max_length=32)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditOut]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if permit_number is not None:
        stmt = stmt.where(AuditEntry.permit_number == permit_number)
    return [AuditOut(at=r.at, station_id=r.station_id, operator=r.operator, role=r.role, action=r.action,
                     permit_number=r.permit_number, card_number=r.card_number, reason=r.reason)
            for r in session.scalars(stmt)]
