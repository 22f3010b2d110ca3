"""The papers the registry hands out: the notice of missing materials, kept with its application
(SMX Art.11 "一次性书面告知": made once, a reprint is the same paper), and a receipt per fee payment
(SMX Art.20 ¶2, ZZ Art.15), rendered from the fee row the issuance recorded (registry.jobs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cardsvc.duties.documents import fee_receipt, missing_materials_notice, render_document
from cardsvc.layout.schema import Layout
from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.duty_models import MaterialsNotice
from cardsvc.registry.errors import NotFoundError, RefusedError
from cardsvc.registry.lookup import local_date
from cardsvc.registry.models import Applicant, FeeRecord, Permit, PermitApplication
from cardsvc.rules.fees import CardEvent

EVENT_NAMES = {CardEvent.REPLACEMENT: "补领居住证", CardEvent.RENEWAL: "换领居住证",
               CardEvent.FIRST_ISSUE: "首次申领居住证", CardEvent.CORRECTION: "更正", CardEvent.ENDORSEMENT: "签注"}


def city_name(layouts: dict[str, Layout], city: str) -> str:
    for layout in layouts.values():
        if layout.rules.city == city:
            return layout.layout.city
    return ""


def materials_notice(session: Session, actor: Actor, application_id: int, layouts: dict[str, Layout], *,
                     at: datetime) -> MaterialsNotice:
    """The application's notice: the stored one, else made now from its decision's missing materials."""
    kept = session.get(MaterialsNotice, application_id)
    if kept is not None:
        return kept
    app = session.get(PermitApplication, application_id)
    if app is None:
        raise NotFoundError(f"application_id: no application {application_id}", field="application_id")
    missing = list(app.decision.get("missing", []))
    if not missing:
        raise RefusedError(f"application_id: application {application_id} lacks no material; nothing to notify",
                           field="application_id")
    applicant = session.get(Applicant, app.applicant_id)
    name = "" if applicant is None else str(applicant.data.get("name", ""))
    doc = missing_materials_notice(app.id, city_name(layouts, app.city), app.applied_on, missing, at, name)
    row = MaterialsNotice(application_id=app.id, issued_at=at, pdf=render_document(doc))
    session.add(row)
    audit(session, actor, "application.materials_notice", at=at,
          reason=f"SMX Art.11 notice for application {app.id}: {len(missing)} material(s) missing")
    session.flush()
    return row


def receipt_pdf(session: Session, fee_id: int, layouts: dict[str, Layout]) -> bytes:
    """A receipt for one payment; a fee row of 0 (a free event) has none."""
    fee = session.get(FeeRecord, fee_id)
    if fee is None:
        raise NotFoundError(f"fee_id: no fee {fee_id}", field="fee_id")
    if fee.amount_fen <= 0:
        raise RefusedError(f"fee_id: fee {fee_id} is free ({fee.article}); no receipt", field="fee_id")
    permit = session.get(Permit, fee.permit_id)
    assert permit is not None  # foreign key
    number = f"{permit.city.upper()}-{local_date(fee.at):%Y%m%d}-{fee.id:06d}"
    doc = fee_receipt(number, city_name(layouts, permit.city), permit.permit_number,
                      EVENT_NAMES.get(CardEvent(fee.event), fee.event), fee.amount_fen, fee.article, fee.at)
    return render_document(doc)
