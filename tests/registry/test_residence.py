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
from cardsvc.registry.lookup import permit_by_number
from cardsvc.rules.dates import full_years

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


LUSHI = "411224"  # 卢氏县: another county of Sanmenxia than the builder's issuing county
MOVED = date(2025, 3, 1)
SUSPENDED = date(2025, 3, 3)  # the move recorded: use suspended (SMX Art.19(5))
READY = date(2025, 9, 3)  # the Lushi registration of 03-03 is half a year old: endorsed (SMX Art.17 ¶2)
MOVE = "跨县（市、区）更换居住地 (SMX Art.17 ¶2, Art.19(5))"
RESTART = "跨县迁居满半年后签注，重新起算 (SMX Art.17 ¶2, Art.18)"


def _move_across_counties(build: Builder, session: Session, actor: Actor, *, complete: bool) -> str:
    from cardsvc.registry.endorsements import change_address
    from cardsvc.registry.registrations import register_for_permit
    from cardsvc.rules.registration import Registration

    number, _ = build.issued_permit(issued=at_day(2024, 8, 5))
    _, row = change_address(session, actor, number, new_county=LUSHI, moved_on=MOVED, data={},
                            at=at_day(SUSPENDED.year, SUSPENDED.month, SUSPENDED.day))
    assert row is None  # suspended, no endorsement yet
    register_for_permit(session, actor, number, RULES["smx"], Registration(LUSHI, SUSPENDED, MOVED, 730),
                        at=at_day(2025, 3, 3))
    if complete:
        _, row = change_address(session, actor, number, new_county=LUSHI, moved_on=MOVED, data={},
                                at=at_day(READY.year, READY.month, READY.day))
        assert row is not None and row.endorsed_on == READY
    return number


@pytest.mark.parametrize(("on", "years"), [
    (date(2026, 9, 2), 0),  # the day before a full year since the endorsement in the new county
    (date(2026, 9, 3), 1),  # counted from the endorsement that restored use (SMX Art.17 ¶2, Art.18)
    (date(2026, 9, 4), 1),
])
def test_a_cross_county_move_restarts_the_count(build: Builder, session: Session, actor: Actor, on: date,
                                                years: int) -> None:
    number = _move_across_counties(build, session, actor, complete=True)
    record = residence_record(session, number, RULES, on)
    assert record.spans == (Span(date(2024, 8, 5), date(2025, 3, 2), "首次发证", MOVE),
                            Span(READY, None, RESTART, None))
    assert record.continuous_years == years
    # Without the move the holder would have had 2 full years by 2026-09-03: the move is what restarted it.
    assert full_years(date(2024, 8, 5), on) == 2


def test_no_count_runs_while_the_move_is_pending(build: Builder, session: Session, actor: Actor) -> None:
    number = _move_across_counties(build, session, actor, complete=False)
    before = residence_record(session, number, RULES, date(2025, 3, 2))  # the day before the move was recorded
    assert before.spans == (Span(date(2024, 8, 5), None, "首次发证", None),) and before.continuous_years == 0
    pending = residence_record(session, number, RULES, date(2025, 9, 2))
    assert pending.spans == (Span(date(2024, 8, 5), date(2025, 3, 2), "首次发证", MOVE),)
    assert pending.continuous_years == 0


def test_a_move_within_the_county_does_not_restart(build: Builder, session: Session, actor: Actor) -> None:
    """SMX Art.17 ¶1: an ordinary endorsement within 15 days; the count runs on."""
    from cardsvc.registry.endorsements import change_address

    number, _ = build.issued_permit(issued=at_day(2024, 8, 5))
    county = permit_by_number(session, number).county_code
    assert county != LUSHI
    _, row = change_address(session, actor, number, new_county=county, moved_on=date(2025, 3, 1), data={},
                            at=at_day(2025, 3, 3))
    assert row is not None
    record = residence_record(session, number, RULES, date(2026, 8, 5))
    assert record.spans == (Span(date(2024, 8, 5), None, "首次发证", None),) and record.continuous_years == 2
