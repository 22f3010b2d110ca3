"""Applicants, permit applications and permits (issue 5, items 1-2); the temporary registrations they
refer to are records of their own (cardsvc.registry.registrations).

Services flush but never commit: the caller owns the transaction (`with factory.begin() as s:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cardsvc.layout.schema import Layout
from cardsvc.permit.citizen_id import parse_citizen_id
from cardsvc.permit.record import load_permit
from cardsvc.permit.validate import validate_permit
from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.errors import ConflictError, RefusedError, RegistryError
from cardsvc.registry.lookup import local_date
from cardsvc.registry.models import Applicant, Card, Permit, PermitApplication, TemporaryRegistration
from cardsvc.registry.registrations import as_rule
from cardsvc.rules.city import CityRules
from cardsvc.rules.eligibility import ApplicationFacts, Decision, evaluate
from cardsvc.rules.materials import Ground, Material
from cardsvc.rules.status import PermitStatus


def _check_citizen_id(citizen_id: str, birth_date: date) -> str:
    """Shape only (GB 11643: 17 digits + digit/X, birth date in digits 7-14); the full check digit
    validation belongs to cardsvc.permit."""
    cid = citizen_id.upper()
    if len(cid) != 18 or not cid[:17].isdigit() or not (cid[17].isdigit() or cid[17] == "X"):
        raise RegistryError("citizen_id: must be 17 digits and a digit or X (GB 11643)", field="citizen_id")
    if cid[6:14] != birth_date.strftime("%Y%m%d"):
        raise RegistryError("citizen_id: birth date digits 7-14 disagree with birth_date", field="citizen_id")
    return cid


def applicant_for(session: Session, citizen_id: str, *, at: datetime) -> Applicant:
    """The applicant of a valid GB 11643 number (checked in full; the birth date is the number's), recorded
    on first sight: a newcomer's temporary registration comes before any application (SMX Art.7-8)."""
    cid = parse_citizen_id(citizen_id)
    return upsert_applicant(session, cid.number, cid.birth_date, {}, at=at)


def upsert_applicant(
    session: Session, citizen_id: str, birth_date: date, data: dict[str, Any], *, at: datetime
) -> Applicant:
    cid = _check_citizen_id(citizen_id, birth_date)
    applicant = session.scalars(select(Applicant).where(Applicant.citizen_id == cid)).one_or_none()
    if applicant is None:
        applicant = Applicant(citizen_id=cid, birth_date=birth_date, data=dict(data), created_at=at)
        session.add(applicant)
    else:
        applicant.data = {**applicant.data, **data}
    session.flush()
    return applicant


@dataclass(frozen=True)
class ApplicationRequest:
    grounds: frozenset[Ground] = frozenset()
    materials: frozenset[Material] = frozenset()
    has_id_card: bool = True
    via_agent: bool = False
    relief_recipient: bool = False


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "failures": [{"condition": f.condition.value, "article": f.article, "detail": f.detail}
                     for f in decision.failures],
        "missing": [{"any_of": [m.value for m in need.any_of], "article": need.article}
                    for need in decision.missing],
        "warnings": [{"condition": f.condition.value, "article": f.article, "detail": f.detail}
                     for f in decision.warnings],
        "obligation": decision.obligation.value,
    }


def submit_application(
    session: Session,
    actor: Actor,
    rules: CityRules,
    applicant: Applicant,
    registration: TemporaryRegistration | None,
    request: ApplicationRequest,
    *,
    at: datetime,
) -> tuple[PermitApplication, Decision]:
    """Evaluate and record an application; accepted on the spot when complete (SMX Art.11)."""
    applied_on = local_date(at)
    if registration is not None and registration.applicant_id != applicant.id:
        raise RegistryError("registration: belongs to another applicant", field="registration")
    reg = None if registration is None else as_rule(registration)  # the record, not dates typed with the form
    facts = ApplicationFacts(
        applied_on=applied_on, birth_date=applicant.birth_date, registration=reg,
        grounds=request.grounds, materials=request.materials, has_id_card=request.has_id_card,
        via_agent=request.via_agent, relief_recipient=request.relief_recipient,
    )
    decision = evaluate(rules, facts)
    row = PermitApplication(
        applicant_id=applicant.id, registration_id=None if registration is None else registration.id,
        city=rules.city, applied_on=applied_on, accepted=decision.accepted,
        issue_deadline=decision.issue_deadline, decision=_decision_json(decision),
        via_agent=request.via_agent, created_at=at,
    )
    session.add(row)
    session.flush()
    conditions = ",".join(f.condition.value for f in decision.failures) or "none"
    missing = ",".join("|".join(m.value for m in need.any_of) for need in decision.missing) or "none"
    audit(session, actor, "application.accepted" if decision.accepted else "application.refused", at=at,
          reason=f"application {row.id}: failed={conditions} missing={missing}")
    return row, decision


def create_permit(
    session: Session,
    actor: Actor,
    application: PermitApplication,
    *,
    permit_number: str,
    layout_id: str,
    county_code: str,
    data: dict[str, Any],
    at: datetime,
    layout: Layout | None = None,
) -> Permit:
    """A permit record for an accepted application; it stays PENDING until its card is verified.

    With the city's `layout` (every service and CLI path passes it) the data is validated first
    (cardsvc.permit.validate): invalid data raises PermitInvalid naming the field, nothing is written."""
    if layout is not None:
        record = load_permit(data)
        if layout.id != layout_id or record.permit_number != permit_number:
            raise RegistryError(f"data: permit record is for {record.permit_number} in layout {layout.id}, "
                                f"not {permit_number} in {layout_id}")
        validate_permit(record, layout, local_date(at), card_allocated=bool(record.card_number))
    if not application.accepted:
        raise RefusedError(f"application {application.id}: was refused; no permit can be created")
    if not permit_number or len(permit_number) > 32:
        raise RegistryError("permit_number: must be 1-32 characters", field="permit_number")
    taken = session.scalar(select(exists().where(Permit.permit_number == permit_number)))
    if taken:
        raise ConflictError(f"permit_number: {permit_number!r} already exists", field="permit_number")
    if session.scalar(select(exists().where(Permit.application_id == application.id))):
        raise ConflictError(f"application {application.id}: already has a permit")
    applicant = session.get(Applicant, application.applicant_id)
    assert applicant is not None  # foreign key
    permit = Permit(
        permit_number=permit_number, applicant_id=applicant.id, application_id=application.id,
        citizen_id=applicant.citizen_id, city=application.city, layout_id=layout_id,
        county_code=county_code, status=PermitStatus.PENDING.value, anchor_on=application.applied_on,
        years=1, data=dict(data), created_at=at, updated_at=at,
    )
    session.add(permit)
    session.flush()
    audit(session, actor, "permit.created", at=at, reason=f"application {application.id} accepted",
          permit_number=permit_number)
    return permit


def overdue_applications(session: Session, on: date) -> list[PermitApplication]:
    """Accepted applications past their SMX Art.12 deadline with no issued card yet."""
    issued = (
        select(Permit.application_id)
        .join(Card, Card.permit_id == Permit.id)
        .where(Permit.application_id.is_not(None), Card.issued_at.is_not(None))
    )
    stmt = (
        select(PermitApplication)
        .where(PermitApplication.accepted.is_(True), PermitApplication.issue_deadline < on,
               PermitApplication.id.not_in(issued))
        .order_by(PermitApplication.issue_deadline)
    )
    return list(session.scalars(stmt))
