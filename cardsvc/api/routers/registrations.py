"""Temporary registrations (暂住登记) as records: thin over services.registrations (SMX Art.7-8, 17-18;
ZZ Art.10-11). A clerk records a newcomer's registration before the application refers to it, ends one,
and records a holder's new one after a move (SMX Art.17 ¶2) or after more than half a year overdue
(SMX Art.18)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cardsvc.api.deps import ApplicationsUser, CtxDep, PermitNumberPath, PermitsUser, RowId, SessionDep, StatusChanger
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.registration_schemas import (
    NewRegistrationIn,
    RegistrationEndIn,
    RegistrationIn,
    RegistrationLookupIn,
    RegistrationOut,
)
from cardsvc.api.services import registrations

router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES, tags=["registrations"])


@router.post("/registrations", status_code=status.HTTP_201_CREATED,
             summary="Record a temporary registration (SMX Art.7; ZZ Art.10-11: who declared it)")
def record(body: NewRegistrationIn, principal: ApplicationsUser, ctx: CtxDep, session: SessionDep) -> RegistrationOut:
    return registrations.record(ctx, session, principal, body)


@router.post("/registrations/lookup", summary="A person's registrations (the citizen ID in the body; audited)")
def lookup(body: RegistrationLookupIn, principal: ApplicationsUser, ctx: CtxDep,
           session: SessionDep) -> list[RegistrationOut]:
    return registrations.for_citizen(ctx, session, principal, body.citizen_id)


@router.get("/registrations/{registration_id}", summary="One registration (audited)")
def get_one(registration_id: RowId, principal: ApplicationsUser, ctx: CtxDep, session: SessionDep) -> RegistrationOut:
    return registrations.one(ctx, session, principal, registration_id)


@router.post("/registrations/{registration_id}/end",
             summary="End a registration: its last day and why (a move, departure, ZZ Art.25 report)")
def end(registration_id: RowId, body: RegistrationEndIn, principal: ApplicationsUser, ctx: CtxDep,
        session: SessionDep) -> RegistrationOut:
    return registrations.end(ctx, session, principal, registration_id, body)


@router.get("/permits/{permit_number}/registrations", summary="The holder's registrations (audited)")
def of_holder(permit_number: PermitNumberPath, principal: PermitsUser, ctx: CtxDep,
              session: SessionDep) -> list[RegistrationOut]:
    return registrations.for_permit(ctx, session, principal, permit_number)


@router.post("/permits/{permit_number}/registrations", status_code=status.HTTP_201_CREATED,
             summary="A new temporary registration of the holder (SMX Art.17 ¶2, Art.18)")
def add_for_holder(permit_number: PermitNumberPath, body: RegistrationIn, principal: StatusChanger, ctx: CtxDep,
                   session: SessionDep) -> RegistrationOut:
    return registrations.for_holder(ctx, session, principal, permit_number, body)
