"""Applications, permits, department data and status changes over the registry services.

Every read of personal data writes an audit entry naming who read which permit and why (ZZ Art.29,
SMX Art.27); the entry itself holds numbers only.
"""

from __future__ import annotations

import base64
import binascii
import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal
from cardsvc.api.context import AppContext
from cardsvc.api.errors import ApiError
from cardsvc.api.schemas import (
    ApplicantIn,
    ApplicationIn,
    ApplicationOut,
    PermitOut,
    PermitSummary,
    StatusChangeIn,
)
from cardsvc.api.services import registrations
from cardsvc.duties.losses import report_loss
from cardsvc.layout import Layout
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, Guardian, Permit
from cardsvc.permit.permit_number import make_permit_number
from cardsvc.permit.record import dump_permit, load_permit
from cardsvc.permit.validate import validate_permit
from cardsvc.registry import lifecycle
from cardsvc.registry.applications import (
    ApplicationRequest,
    create_permit,
    submit_application,
    upsert_applicant,
)
from cardsvc.registry.audit import audit, history
from cardsvc.registry.errors import StateConflictError
from cardsvc.registry.lookup import current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, PermitApplication, StatusChange
from cardsvc.registry.models import Permit as PermitRow
from cardsvc.registry.registrations import registration_by_id, registrations_of
from cardsvc.rules.materials import Ground
from cardsvc.rules.registration import Declarer
from cardsvc.rules.status import SuspensionReason
from cardsvc.samples import generate_permit


def audit_read(session: Session, principal: Principal, action: str, at: datetime, *, reason: str,
               permit_number: str | None = None, card_number: str | None = None) -> None:
    audit(session, principal.actor, action, at=at, reason=reason, permit_number=permit_number,
          card_number=card_number)


def _authority(layout: Layout, county_code: str) -> Authority:
    for a in layout.authorities:
        if a.code == county_code:
            return Authority(a.code, a.name)
    raise ApiError(422, "invalid-field", f"registration.county_code: {county_code} has no issuing authority "
                   f"in layout {layout.id}", field="registration.county_code")


def _application_out(row: PermitApplication, permit_number: str | None) -> ApplicationOut:
    return ApplicationOut(id=row.id, city=row.city, applied_on=row.applied_on, accepted=row.accepted,
                          issue_deadline=row.issue_deadline, decision=row.decision, permit_number=permit_number)


_OPTIONAL = ("service_place", "contact", "marital_status", "residence_reason")  # ZZ Art.8, Art.33


def _intake_permit(layout: Layout, a: ApplicantIn, photo: bytes, authority: Authority, today: date,
                   number: str) -> Permit:
    placed = layout.permit_fields()
    optional = {f: getattr(a, f) for f in _OPTIONAL if f in placed}  # what the city's layout records
    return Permit(
        name=a.name, sex=Sex(a.sex), ethnicity=a.ethnicity, birth_date=a.birth_date, citizen_id=a.citizen_id,
        photo=photo, household_address=a.household_address, residence_address=a.residence_address,
        permit_number=number, authority=authority, issue_date=today,
        valid_until=layout.rules.validity.add_to(today), card_number="",
        guardian=None if a.guardian is None else Guardian(a.guardian.citizen_id, a.guardian.name), **optional,
    )


def _refuse(exc: PermitInvalid, prefix: str) -> ApiError:
    """RFC 9457 problem for invalid data: `field` is the request field (the first problem's)."""
    first = exc.problems[0]
    return ApiError(422, "invalid-field", "; ".join(f"{prefix}{p.field}: {p.reason}" for p in exc.problems),
                    field=f"{prefix}{first.field}")


def submit(ctx: AppContext, session: Session, principal: Principal, body: ApplicationIn) -> ApplicationOut:
    """Record the application; when the city rules accept it, create the permit (pending its card).

    The door: the applicant's data is validated against the city's layout (validate_permit) before
    anything is written, so invalid data never reaches the registry or a card."""
    layout = ctx.layout(body.layout_id)
    rules = layout.rules
    at = ctx.clock()
    today = local_date(at)
    a = body.applicant
    try:
        photo = base64.b64decode(a.photo, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid-field", "applicant.photo: not base64", field="applicant.photo") from None
    if not photo.startswith(b"\xff\xd8"):
        raise ApiError(422, "invalid-field", "applicant.photo: not a JPEG", field="applicant.photo")
    # The permit is issued by the county the applicant is registered in (SMX Art.14-15): the inline
    # registration's, or the recorded one's the application refers to.
    if body.registration is not None:
        county = body.registration.county_code
    elif body.registration_id is not None:
        county = registration_by_id(session, body.registration_id).county_code
    else:
        raise ApiError(422, "invalid-field", "registration_id: give either registration_id or registration",
                       field="registration_id")
    authority = _authority(layout, county)
    provisional = make_permit_number(authority.code, today.year, 1)  # the real serial needs the row id
    try:
        validate_permit(_intake_permit(layout, a, photo, authority, today, provisional), layout, today,
                        card_allocated=False)
    except PermitInvalid as exc:
        raise _refuse(exc, "applicant.") from None
    applicant = upsert_applicant(session, a.citizen_id, a.birth_date, {}, at=at)
    registration = registrations.for_application(ctx, session, principal, applicant, rules, body.registration,
                                                 body.registration_id)
    row, decision = submit_application(session, principal.actor, rules, applicant, registration, ApplicationRequest(
        grounds=frozenset(body.grounds), materials=frozenset(body.materials),
        via_agent=body.via_agent or a.guardian is not None), at=at)
    if not decision.accepted:
        return _application_out(row, None)
    number = make_permit_number(authority.code, today.year, row.id % 1_000_000 or 1)
    permit = replace(_intake_permit(layout, a, photo, authority, today, provisional), permit_number=number)
    create_permit(session, principal.actor, row, permit_number=number, layout_id=layout.id,
                  county_code=authority.code, data=dump_permit(permit), at=at, layout=layout)
    return _application_out(row, number)


def sample_application(ctx: AppContext, session: Session, principal: Principal, layout_id: str,
                       seed: int) -> ApplicationOut:
    """A synthetic applicant (cardsvc.samples, no real person) through the same path as a real one."""
    layout = ctx.layout(layout_id)
    at = ctx.clock()
    today = local_date(at)
    p = generate_permit(layout, random.Random(seed), today=today, minor=False, max_endorsements=0)
    county = p.authority.code
    arrived = today - timedelta(days=400)
    body = ApplicationIn.model_validate({
        "layout_id": layout.id,
        "applicant": {"name": p.name, "sex": int(p.sex) if p.sex in (1, 2) else 1, "ethnicity": p.ethnicity,
                      "birth_date": p.birth_date, "citizen_id": p.citizen_id,
                      "photo": base64.b64encode(p.photo).decode(), "household_address": p.household_address,
                      "residence_address": p.residence_address, "service_place": p.service_place,
                      "contact": p.contact, "marital_status": p.marital_status,
                      "residence_reason": p.residence_reason},
        # a full registration record (SMX Art.7: the holder reported it; its certificate issued here)
        "registration": {"county_code": county, "arrived_on": arrived, "registered_on": arrived,
                         "intended_stay_days": 730, "declared_by": Declarer.SELF.value},
        "grounds": [Ground.EMPLOYMENT],  # with what the city asks of an employed applicant (its layout)
        "materials": sorted(layout.rules.materials_needed(frozenset({Ground.EMPLOYMENT}))),
    })
    out = submit(ctx, session, principal, body)
    if p.applications and out.permit_number:  # the sample's department data (ZZ Art.6/9/24)
        row = permit_by_number(session, out.permit_number)
        stored = replace(load_permit(row.data), applications=p.applications)
        try:  # the department data is at the door too
            validate_permit(stored, layout, today, card_allocated=False)
        except PermitInvalid as exc:
            raise _refuse(exc, "") from None
        row.data = dump_permit(stored)
    return out


def get_application(session: Session, application_id: int) -> ApplicationOut:
    row = session.get(PermitApplication, application_id)
    if row is None:
        raise ApiError(404, "not-found", f"application_id: no application {application_id}", field="application_id")
    number = session.scalar(select(PermitRow.permit_number).where(PermitRow.application_id == row.id))
    return _application_out(row, number)


def list_applications(session: Session, limit: int) -> list[ApplicationOut]:
    rows = session.scalars(select(PermitApplication).order_by(PermitApplication.id.desc()).limit(limit))
    numbers = {a: n for a, n in session.execute(select(PermitRow.application_id, PermitRow.permit_number))}
    return [_application_out(r, numbers.get(r.id)) for r in rows]


def _summary(session: Session, row: PermitRow) -> dict[str, Any]:
    card = current_card(session, row)
    if card is None:  # pending permit: show the card being made, if any
        card = session.scalars(select(Card).where(Card.permit_id == row.id).order_by(Card.generation.desc())).first()
    return {"permit_number": row.permit_number, "city": row.city, "layout_id": row.layout_id, "status": row.status,
            "card_number": card.card_number if card else None, "card_status": card.status if card else None}


def list_permits(session: Session, status: str | None, limit: int) -> list[PermitSummary]:
    """Numbers and statuses only: no personal data, so no audit entry."""
    stmt = select(PermitRow).order_by(PermitRow.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(PermitRow.status == status)
    return [PermitSummary(**_summary(session, row)) for row in session.scalars(stmt)]


def read_permit(ctx: AppContext, session: Session, principal: Principal, number: str, *, purpose: str) -> Permit:
    """The permit's personal data; audited."""
    row = permit_by_number(session, number)
    audit_read(session, principal, "permit.read", ctx.clock(), reason=purpose, permit_number=number)
    return load_permit(row.data)


def permit_out(ctx: AppContext, session: Session, principal: Principal, number: str) -> PermitOut:
    row = permit_by_number(session, number)
    permit = read_permit(ctx, session, principal, number, purpose="permit record viewed")
    view = lifecycle.card_status(session, _summary(session, row)["card_number"]) if current_card(session, row) else None
    data = dump_permit(permit)
    data.pop("photo")
    return PermitOut(**_summary(session, row), data=data, suspension_reason=row.suspension_reason,
                     valid_until=view.valid_until if view else None,
                     registrations=[registrations.out(r, local_date(ctx.clock()))
                                    for r in registrations_of(session, row.applicant_id)])


def permit_photo(ctx: AppContext, session: Session, principal: Principal, number: str) -> bytes:
    return read_permit(ctx, session, principal, number, purpose="photo viewed").photo


def department_data(ctx: AppContext, session: Session, principal: Principal, department: str,
                    number: str) -> dict[str, str]:
    """ZZ Art.6/9/24: a department sees its own application's items, nothing else of the permit."""
    principal.require_department(department)
    if department not in ctx.departments:
        raise ApiError(404, "unknown-department", f"department: {department!r} is not declared by any layout",
                       field="department")
    row = permit_by_number(session, number)
    audit_read(session, principal, "department.read", ctx.clock(), reason=f"department {department} data",
               permit_number=number)
    data = load_permit(row.data).application(department)
    return {} if data is None else dict(data.items)


def status_history(session: Session, number: str) -> list[StatusChange]:
    return history(session, permit_by_number(session, number))


def change_status(ctx: AppContext, session: Session, principal: Principal, number: str,
                  body: StatusChangeIn) -> None:
    at = ctx.clock()
    if body.action != "report_lost" and (body.bank_certificate is not None or body.reported_at is not None):
        field = "bank_certificate" if body.bank_certificate is not None else "reported_at"
        raise ApiError(422, "invalid-field", f"{field}: only with action report_lost (ZZ Art.16)", field=field)
    if body.action == "suspend":
        if body.reason is None:
            raise ApiError(422, "invalid-field", "reason: suspend needs an SMX Art.19 ground", field="reason")
        lifecycle.suspend(session, principal.actor, number, SuspensionReason(body.reason), body.note, at=at)
    elif body.action == "reinstate":
        lifecycle.reinstate(session, principal.actor, number, body.note, at=at)
    elif body.action == "cancel":
        lifecycle.cancel(session, principal.actor, number, body.note, at=at)
    else:
        row = permit_by_number(session, number)
        card = current_card(session, row)
        if card is None:
            raise StateConflictError(f"permit_number: {number} has no card in use to report lost",
                                     field="permit_number")
        report_loss(session, principal.actor, card.card_number, body.note, at=at,
                    bank_certificate=body.bank_certificate, reported_at=body.reported_at)
