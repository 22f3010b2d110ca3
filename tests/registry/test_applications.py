"""Applications in the registry: decisions stored, permits created, SMX Art.12 deadlines tracked."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from cardsvc.layout import builtin_layout
from cardsvc.registry import Actor, ConflictError, RefusedError, RegistryError
from cardsvc.registry.applications import (
    ApplicationRequest,
    create_permit,
    overdue_applications,
    submit_application,
    upsert_applicant,
)
from cardsvc.registry.audit import audit_trail
from cardsvc.registry.models import AuditEntry
from cardsvc.registry.registrations import add_registration
from cardsvc.rules import Ground, Material, Registration

from .conftest import Builder, at_day, plus

SMX_RULES = builtin_layout("smx").rules

CID = "41120219900101001X"


def test_refusal_stored_with_every_reason(session: Session, actor: Actor) -> None:
    applicant = upsert_applicant(session, CID.lower(), date(1990, 1, 1), {"name": "李四"}, at=at_day(2024, 8, 1))
    assert applicant.citizen_id == CID  # lower-case x normalised
    reg = add_registration(session, applicant, SMX_RULES, Registration("411202", date(2024, 5, 1),
                                                                       date(2024, 5, 1), 365), at=at_day(2024, 8, 1))
    request = ApplicationRequest(grounds=frozenset({Ground.STUDY}), materials=frozenset({Material.ID_CARD}))
    app, _ = submit_application(session, actor, SMX_RULES, applicant, reg, request, at=at_day(2024, 8, 1))
    assert not app.accepted and app.issue_deadline is None
    assert [f["condition"] for f in app.decision["failures"]] == ["registration_too_recent"]
    assert [m["any_of"] for m in app.decision["missing"]] == [["study_proof"], ["registration_cert"]]
    entries = session.query(AuditEntry).all()
    assert [e.action for e in entries] == ["application.refused"]
    assert CID not in entries[0].reason and "李四" not in entries[0].reason
    with pytest.raises(RefusedError, match="was refused"):
        create_permit(session, actor, app, permit_number="P1", layout_id="smx-v1", county_code="411202",
                      data={}, at=at_day(2024, 8, 1))


@pytest.mark.parametrize(("cid", "reason"), [
    ("41120219900101001", "17 digits"),
    ("41120219900101001Y", "17 digits"),
    ("41120219900102001X", "birth date"),
])
def test_citizen_id_shape_checked(session: Session, cid: str, reason: str) -> None:
    with pytest.raises(RegistryError, match=reason):
        upsert_applicant(session, cid, date(1990, 1, 1), {}, at=at_day(2024, 1, 1))


def test_registration_must_be_in_the_city(session: Session) -> None:
    applicant = upsert_applicant(session, CID, date(1990, 1, 1), {}, at=at_day(2024, 1, 1))
    with pytest.raises(RegistryError, match="county_code: 410105 is not in smx"):
        add_registration(session, applicant, SMX_RULES, Registration("410105", date(2024, 1, 1),
                                                                     date(2024, 1, 1), 365), at=at_day(2024, 1, 1))


def test_permit_numbers_unique_and_one_permit_per_application(build: Builder, session: Session,
                                                              actor: Actor) -> None:
    app = build.accepted_application()
    create_permit(session, actor, app, permit_number="P1", layout_id="smx-v1", county_code="411202", data={},
                  at=at_day(2024, 8, 1))
    other = build.accepted_application()
    with pytest.raises(ConflictError, match="'P1' already exists"):
        create_permit(session, actor, other, permit_number="P1", layout_id="smx-v1", county_code="411202",
                      data={}, at=at_day(2024, 8, 1))
    with pytest.raises(ConflictError, match="already has a permit"):
        create_permit(session, actor, app, permit_number="P2", layout_id="smx-v1", county_code="411202",
                      data={}, at=at_day(2024, 8, 1))
    assert [e.action for e in audit_trail(session, "P1")] == ["permit.created"]


def test_smx_art12_fifteen_day_deadline_tracked(build: Builder, session: Session) -> None:
    applied = at_day(2024, 8, 1)
    number = build.pending_permit(applied=applied)
    deadline = date(2024, 8, 16)
    assert overdue_applications(session, date(2024, 8, 15)) == []  # day before the deadline
    assert overdue_applications(session, deadline) == []  # the last allowed day
    late = overdue_applications(session, date(2024, 8, 17))  # day after
    assert [a.issue_deadline for a in late] == [deadline]
    build.issue(number, at=plus(applied, 17))
    assert overdue_applications(session, date(2024, 8, 17)) == []
