"""Temporary registrations (暂住登记) as records: record, list, end (SMX Art.7, 17-18; ZZ Art.10-11, 25).

The rules read these records (cardsvc.rules.registration): an application refers to one (SMX Art.8, ZZ
Art.10), a late endorsement past half a year needs one made since (SMX Art.18), and a cross-county move ends
with one in the new county half a year old (SMX Art.17 ¶2). Services flush, the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.errors import ConflictError, NotFoundError, RegistryError, StateConflictError
from cardsvc.registry.lookup import local_date, locked, permit_by_number
from cardsvc.registry.models import Applicant, TemporaryRegistration
from cardsvc.rules.city import CityRules
from cardsvc.rules.registration import (
    Declarer,
    EndReason,
    Registration,
    check_declarer,
    make_certificate_number,
)


def as_rule(row: TemporaryRegistration) -> Registration:
    """The record as the rules read it."""
    return Registration(row.county_code, row.registered_on, row.arrived_on, row.intended_stay_days,
                        declared_by=Declarer(row.declared_by), certificate_number=row.certificate_number,
                        valid_until=row.valid_until, ended_on=row.ended_on)


def _certificate(session: Session, reg: Registration) -> str:
    """The number given (checked by Registration), else the next the county's station issues this year."""
    if reg.certificate_number is not None:
        if session.scalar(select(exists().where(TemporaryRegistration.certificate_number == reg.certificate_number))):
            raise ConflictError(f"certificate_number: {reg.certificate_number} is already recorded",
                                field="certificate_number")
        return reg.certificate_number
    prefix = f"{reg.county_code}{reg.registered_on.year:04d}"
    last = session.scalar(select(func.max(TemporaryRegistration.certificate_number))
                          .where(TemporaryRegistration.certificate_number.like(f"{prefix}%")))
    return make_certificate_number(reg.county_code, reg.registered_on.year, int(last[10:]) + 1 if last else 1)


def add_registration(session: Session, applicant: Applicant, rules: CityRules, reg: Registration, *,
                     at: datetime, actor: Actor | None = None) -> TemporaryRegistration:
    """Record a registration of `applicant` in the city: county in the city (GB/T 2260), a declarer the
    city's text allows, no date after today, a unique certificate number (issued here when not given)."""
    if not rules.county_in_city(reg.county_code):
        raise RegistryError(f"county_code: {reg.county_code} is not in {rules.city} ({rules.city_code}, GB/T 2260)",
                            field="county_code")
    check_declarer(rules.registration_declarers, reg.declared_by, rules.registration_declarers_article)
    today = local_date(at)
    for name, day in (("registered_on", reg.registered_on), ("ended_on", reg.ended_on)):
        if day is not None and day > today:
            raise RegistryError(f"{name}: {day.isoformat()} is after today ({today.isoformat()})", field=name)
    row = TemporaryRegistration(
        applicant_id=applicant.id, city=rules.city, county_code=reg.county_code, arrived_on=reg.arrived_on,
        registered_on=reg.registered_on, intended_stay_days=reg.intended_stay_days,
        declared_by=reg.declared_by.value, certificate_number=_certificate(session, reg),
        valid_until=reg.valid_until, ended_on=reg.ended_on, created_at=at,
    )
    session.add(row)
    session.flush()
    if actor is not None:  # ids, county and dates only: no personal data in the audit log
        audit(session, actor, "registration.added", at=at,
              reason=f"registration {row.id}, county {row.county_code} "
                     f"from {row.registered_on.isoformat()}, declared by {row.declared_by}")
    return row


def register_for_permit(session: Session, actor: Actor, permit_number: str, rules: CityRules, reg: Registration,
                        *, at: datetime) -> TemporaryRegistration:
    """A new registration of a permit holder: in the county moved to (SMX Art.17 ¶2) or anew after more
    than half a year overdue (SMX Art.18)."""
    permit = permit_by_number(session, permit_number)
    applicant = session.get(Applicant, permit.applicant_id)
    assert applicant is not None  # foreign key
    row = add_registration(session, applicant, rules, reg, at=at, actor=actor)
    audit(session, actor, "registration.holder", at=at, permit_number=permit_number,
          reason=f"registration {row.id} in county {row.county_code}")
    return row


def registration_by_id(session: Session, registration_id: int, *, lock: bool = False) -> TemporaryRegistration:
    stmt = select(TemporaryRegistration).where(TemporaryRegistration.id == registration_id)
    row = session.scalars(locked(stmt) if lock else stmt).one_or_none()
    if row is None:
        raise NotFoundError(f"registration_id: no registration {registration_id}", field="registration_id")
    return row


def registrations_of(session: Session, applicant_id: int) -> list[TemporaryRegistration]:
    return list(session.scalars(select(TemporaryRegistration).where(TemporaryRegistration.applicant_id == applicant_id)
                                .order_by(TemporaryRegistration.registered_on, TemporaryRegistration.id)))


def end_registration(session: Session, actor: Actor, registration_id: int, ended_on: date, reason: EndReason, *,
                     at: datetime) -> TemporaryRegistration:
    """The registration held last on `ended_on` (a move, departure, the ZZ Art.25 report, a stay over)."""
    row = registration_by_id(session, registration_id, lock=True)
    if row.ended_on is not None:
        raise StateConflictError(f"registration_id: registration {registration_id} already ended on "
                                 f"{row.ended_on.isoformat()}", field="registration_id")
    if ended_on < row.registered_on:
        raise RegistryError(f"ended_on: {ended_on.isoformat()} is before the registration "
                            f"({row.registered_on.isoformat()})", field="ended_on")
    if ended_on > local_date(at):
        raise RegistryError(f"ended_on: {ended_on.isoformat()} is after today", field="ended_on")
    row.ended_on, row.end_reason = ended_on, reason.value
    session.flush()
    audit(session, actor, "registration.ended", at=at,
          reason=f"registration {row.id} ended {ended_on.isoformat()} ({reason.value})")
    return row
