"""The residence-years record (SMX Art.18, 25-26): continuous years with restarts and their reasons, at the
boundary dates, and the certificate PDF."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from cardsvc.duties.documents import render_document
from cardsvc.duties.residence import Span, certificate, residence_record
from cardsvc.layout import builtin_layouts
from cardsvc.registry import Actor
from cardsvc.registry.endorsements import endorse
from cardsvc.registry.lifecycle import cancel

from .conftest import Builder, at_day

RULES = {layout.rules.city: layout.rules for layout in builtin_layouts()}


@pytest.mark.parametrize(("on", "years"), [
    (date(2026, 8, 31), 0),  # the day before a full year since the late endorsement
    (date(2026, 9, 1), 1),  # SMX Art.18: counted from the late endorsement day
    (date(2026, 9, 2), 1),
])
def test_late_endorsement_restarts_the_count(build: Builder, session: Session, actor: Actor, on: date,
                                             years: int) -> None:
    number, _ = build.issued_permit(issued=at_day(2024, 8, 5))
    endorse(session, actor, number, data={}, at=at_day(2025, 9, 1))  # 28 days late
    record = residence_record(session, number, RULES, on)
    assert record.spans == (
        Span(date(2024, 8, 5), date(2025, 8, 4), "首次发证", "逾期未签注 (SMX Art.19(3))"),
        Span(date(2025, 9, 1), None, "补办签注 (SMX Art.18)", None))
    assert record.continuous_years == years
    pdf = render_document(certificate(record, "三门峡市", "张三", datetime(2026, 9, 1, tzinfo=UTC)))
    assert pdf.startswith(b"%PDF-")


def test_cancel_ends_the_count(build: Builder, session: Session,
                               actor: Actor) -> None:
    number, _ = build.issued_permit("zz", issued=at_day(2024, 8, 5))
    record = residence_record(session, number, RULES, date(2026, 8, 5))
    assert record.spans == (Span(date(2024, 8, 5), None, "首次发证", None),) and record.continuous_years == 2
    cancel(session, actor, number, "left", at=at_day(2026, 9, 1))
    ended = residence_record(session, number, RULES, date(2026, 9, 2))
    assert ended.spans[-1].end == date(2026, 9, 1) and ended.continuous_years == 0
