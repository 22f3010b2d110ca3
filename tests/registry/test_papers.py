"""The papers of the duties: SMX Art.11 one-time notice of missing materials kept with the application, and
a receipt per fee payment (SMX Art.20, ZZ Art.15): PDFs, no citizen ID on them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.duties.papers import materials_notice, receipt_pdf
from cardsvc.layout import builtin_layout, builtin_layouts
from cardsvc.registry import Actor, NotFoundError, RefusedError
from cardsvc.registry.applications import ApplicationRequest, submit_application, upsert_applicant
from cardsvc.registry.lifecycle import report_lost
from cardsvc.registry.models import FeeRecord
from cardsvc.registry.registrations import add_registration
from cardsvc.rules import Ground, Material, Registration

from .conftest import Builder, at_day

LAYOUTS = {layout.id: layout for layout in builtin_layouts()}


def incomplete_application(session: Session, actor: Actor, at: datetime) -> int:
    rules = builtin_layout("smx").rules
    applicant = upsert_applicant(session, "411202199001010019", datetime(1990, 1, 1).date(), {"name": "张三"}, at=at)
    start = (at - timedelta(days=200)).date()
    reg = add_registration(session, applicant, rules, Registration("411202", start, start, 365), at=at)
    request = ApplicationRequest(grounds=frozenset({Ground.EMPLOYMENT}), materials=frozenset({Material.ID_CARD}))
    app, decision = submit_application(session, actor, rules, applicant, reg, request, at=at)
    assert not decision.accepted and decision.missing
    return app.id


def test_notice_of_missing_materials_is_made_once(session: Session, actor: Actor, build: Builder) -> None:
    app_id = incomplete_application(session, actor, at_day(2026, 3, 2))
    first = materials_notice(session, actor, app_id, LAYOUTS, at=at_day(2026, 3, 2))
    again = materials_notice(session, actor, app_id, LAYOUTS, at=at_day(2026, 3, 9))
    assert first.pdf.startswith(b"%PDF-") and len(first.pdf) > 20_000
    assert again.pdf == first.pdf and again.issued_at == at_day(2026, 3, 2)  # the same paper, not a second notice
    assert b"411202199001010019" not in first.pdf
    complete = build.accepted_application()
    with pytest.raises(RefusedError, match="lacks no material"):
        materials_notice(session, actor, complete.id, LAYOUTS, at=at_day(2026, 3, 2))
    with pytest.raises(NotFoundError, match="no application 999"):
        materials_notice(session, actor, 999, LAYOUTS, at=at_day(2026, 3, 2))


def test_receipt_per_charged_payment(session: Session, actor: Actor, build: Builder) -> None:
    number, card = build.issued_permit(issued=at_day(2024, 8, 5))
    report_lost(session, actor, card, "lost", at=at_day(2024, 9, 1))
    build.issue(number, "replacement", at=at_day(2024, 9, 2))
    fees = session.scalars(select(FeeRecord).order_by(FeeRecord.id)).all()
    charged = [f for f in fees if f.amount_fen > 0]
    assert [f.event for f in charged] == ["replacement"]  # SMX Art.20: first issue free, replacement charged
    assert receipt_pdf(session, charged[0].id, LAYOUTS).startswith(b"%PDF-")
    for free in (f for f in fees if f.amount_fen == 0):
        with pytest.raises(RefusedError, match="no receipt"):
            receipt_pdf(session, free.id, LAYOUTS)
    with pytest.raises(NotFoundError):
        receipt_pdf(session, 12345, LAYOUTS)
