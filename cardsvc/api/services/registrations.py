"""Temporary registrations (暂住登记) as records at the service: record, look up, end (SMX Art.7, 17-18;
ZZ Art.10-11). A registration holds no name or address, but it is a person's record: reads are audited
(ZZ Art.29) with ids only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal
from cardsvc.api.context import AppContext
from cardsvc.api.errors import ApiError
from cardsvc.api.registration_schemas import (
    NewRegistrationIn,
    RegistrationEndIn,
    RegistrationIn,
    RegistrationOut,
)
from cardsvc.errors import FieldError
from cardsvc.registry.applications import applicant_for
from cardsvc.registry.audit import audit
from cardsvc.registry.errors import RegistryError
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import Applicant, TemporaryRegistration
from cardsvc.registry.registrations import (
    add_registration,
    as_rule,
    end_registration,
    register_for_permit,
    registration_by_id,
    registrations_of,
)
from cardsvc.rules.city import CityRules
from cardsvc.rules.registration import Registration


def as_record(body: RegistrationIn, prefix: str = "") -> Registration:
    """The body as the rules read it; a bad combination (dates, certificate) names the request field."""
    try:
        return Registration(body.county_code, body.registered_on, body.arrived_on, body.intended_stay_days,
                            declared_by=body.declared_by, certificate_number=body.certificate_number,
                            valid_until=body.valid_until)
    except FieldError as exc:
        raise FieldError(prefix + exc.field, exc.reason) from None


def out(row: TemporaryRegistration, today: date) -> RegistrationOut:
    return RegistrationOut(id=row.id, county_code=row.county_code, arrived_on=row.arrived_on,
                           registered_on=row.registered_on, intended_stay_days=row.intended_stay_days,
                           declared_by=row.declared_by, certificate_number=row.certificate_number,
                           valid_until=row.valid_until, ended_on=row.ended_on, end_reason=row.end_reason,
                           in_force=as_rule(row).in_force(today))


def record(ctx: AppContext, session: Session, principal: Principal, body: NewRegistrationIn) -> RegistrationOut:
    at = ctx.clock()
    reg = as_record(body)
    rules = ctx.layout(body.layout_id).rules
    row = add_registration(session, applicant_for(session, body.citizen_id, at=at), rules, reg, at=at,
                           actor=principal.actor)
    return out(row, local_date(at))


def for_citizen(ctx: AppContext, session: Session, principal: Principal, citizen_id: str) -> list[RegistrationOut]:
    at = ctx.clock()
    from cardsvc.permit.citizen_id import parse_citizen_id

    number = parse_citizen_id(citizen_id).number
    applicant = session.scalars(select(Applicant).where(Applicant.citizen_id == number)).one_or_none()
    rows = [] if applicant is None else registrations_of(session, applicant.id)
    audit(session, principal.actor, "registration.read", at=at,
          reason=f"registrations of an applicant looked up: {len(rows)} found")
    return [out(r, local_date(at)) for r in rows]


def for_permit(ctx: AppContext, session: Session, principal: Principal, number: str) -> list[RegistrationOut]:
    """The holder's registrations, oldest first (shown in the permit's registry view)."""
    at = ctx.clock()
    row = permit_by_number(session, number)
    audit(session, principal.actor, "registration.read", at=at, permit_number=number,
          reason="registrations of the holder viewed")
    return [out(r, local_date(at)) for r in registrations_of(session, row.applicant_id)]


def one(ctx: AppContext, session: Session, principal: Principal, registration_id: int) -> RegistrationOut:
    at = ctx.clock()
    row = registration_by_id(session, registration_id)
    audit(session, principal.actor, "registration.read", at=at, reason=f"registration {registration_id} viewed")
    return out(row, local_date(at))


def end(ctx: AppContext, session: Session, principal: Principal, registration_id: int,
        body: RegistrationEndIn) -> RegistrationOut:
    at = ctx.clock()
    row = end_registration(session, principal.actor, registration_id, body.ended_on, body.reason, at=at)
    return out(row, local_date(at))


def for_holder(ctx: AppContext, session: Session, principal: Principal, number: str,
               body: RegistrationIn) -> RegistrationOut:
    """SMX Art.17 ¶2 (the county moved to) / Art.18 (anew after more than half a year overdue)."""
    at = ctx.clock()
    permit = permit_by_number(session, number)
    row = register_for_permit(session, principal.actor, number, ctx.layout(permit.layout_id).rules, as_record(body),
                              at=at)
    return out(row, local_date(at))


def for_application(ctx: AppContext, session: Session, principal: Principal, applicant: Applicant,
                    rules: CityRules, inline: RegistrationIn | None,
                    registration_id: int | None) -> TemporaryRegistration:
    """The registration an application refers to: a recorded one of this applicant, or the inline block
    recorded first as a full record (the same checks as POST /api/registrations)."""
    if (inline is None) == (registration_id is None):
        raise ApiError(422, "invalid-field", "registration_id: give either registration_id or registration",
                       field="registration_id")
    if inline is not None:
        reg = as_record(inline, "registration.")
        try:
            return add_registration(session, applicant, rules, reg, at=ctx.clock(), actor=principal.actor)
        except FieldError as exc:
            raise FieldError(f"registration.{exc.field}", exc.reason) from None
        except RegistryError as exc:
            if exc.field is None:
                raise
            raise type(exc)(str(exc).replace(f"{exc.field}:", f"registration.{exc.field}:", 1),
                            field=f"registration.{exc.field}") from None
    assert registration_id is not None
    row = registration_by_id(session, registration_id)
    if row.applicant_id != applicant.id:
        raise ApiError(422, "invalid-field", f"registration_id: registration {registration_id} is another "
                       "person's", field="registration_id")
    return row
