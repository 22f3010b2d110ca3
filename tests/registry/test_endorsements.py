"""Endorsements and address changes in the registry at their boundary dates (SMX Art.16-18,
ZZ Art.13-14), and reconciliation of card and registry."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from cardsvc.registry import Actor, RefusedError
from cardsvc.registry.endorsements import change_address, endorse, mark_written, reconcile
from cardsvc.registry.lifecycle import card_status, suspend_overdue
from cardsvc.registry.lookup import permit_by_number
from cardsvc.rules import ChangeKind, SuspensionReason

from .conftest import Builder, at_day

ISSUED = at_day(2024, 8, 5)  # SMX: anniversary 2025-08-05, window opens 2025-07-05, late through 2026-02-04


@pytest.mark.parametrize(("day", "outcome"), [
    (at_day(2025, 7, 4), "too early"),
    (at_day(2025, 7, 5), "yearly"),
    (at_day(2025, 7, 6), "yearly"),
    (at_day(2025, 8, 4), "yearly"),
    (at_day(2025, 8, 5), "late"),
    (at_day(2026, 2, 4), "late"),  # A + 6 months − 1 day (issue 12: SMX Art.18 逾期不超过半年)
    (at_day(2026, 2, 5), "re-register"),  # A + 6 months
])
def test_smx_endorsement_boundaries(build: Builder, session: Session, actor: Actor, day: datetime,
                                    outcome: str) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    if outcome == "too early":
        with pytest.raises(RefusedError, match="window opens 2025-07-05"):
            endorse(session, actor, number, data={}, at=day)
        return
    if outcome == "re-register":
        with pytest.raises(RefusedError, match="past 2026-02-04; temporary registration must be made anew"):
            endorse(session, actor, number, data={}, at=day)
        return
    row = endorse(session, actor, number, data={"address": "湖滨区…"}, at=day)
    permit = permit_by_number(session, number)
    assert row.kind == outcome and row.seq == 1 and row.card_sync == "pending"
    if outcome == "yearly":
        assert row.valid_until == date(2026, 8, 5) and permit.anchor_on == date(2024, 8, 5)
    else:  # SMX Art.18: the residence-year count restarts on the late endorsement day
        assert permit.anchor_on == day.date() and row.valid_until == date(day.year + 1, day.month, day.day)
    assert card_status(session, card).usable


def test_late_endorsement_restores_an_overdue_suspension(build: Builder, session: Session, actor: Actor) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    assert suspend_overdue(session, actor, at=at_day(2025, 8, 5)) == [number]
    assert card_status(session, card).suspension_reason is SuspensionReason.ENDORSEMENT_OVERDUE
    row = endorse(session, actor, number, data={}, at=at_day(2025, 9, 1))
    view = card_status(session, card)
    assert row.late and view.usable and view.suspension_reason is None
    assert view.valid_until == date(2026, 9, 1)


def test_other_suspensions_block_endorsement(build: Builder, session: Session, actor: Actor) -> None:
    from cardsvc.registry.lifecycle import suspend

    number, _ = build.issued_permit(issued=ISSUED)
    suspend(session, actor, number, SuspensionReason.FALSE_MATERIALS, "check", at=at_day(2025, 7, 1))
    with pytest.raises(RefusedError, match=r"is suspended \(false_materials\); cannot endorse"):
        endorse(session, actor, number, data={}, at=at_day(2025, 7, 10))


@pytest.mark.parametrize(("day", "ok"), [
    (at_day(2025, 7, 5), False),  # anniversary − 31 days
    (at_day(2025, 7, 6), True),  # 前三十日内
    (at_day(2025, 7, 7), True),
])
def test_zz_art13_window(build: Builder, session: Session, actor: Actor, day: datetime, ok: bool) -> None:
    number, _ = build.issued_permit("zz", issued=ISSUED)
    if ok:
        assert endorse(session, actor, number, data={}, at=day).kind == "yearly"
    else:
        with pytest.raises(RefusedError, match="window opens 2025-07-06"):
            endorse(session, actor, number, data={}, at=day)


@pytest.mark.parametrize(("day", "late"), [
    (at_day(2024, 10, 15), False), (at_day(2024, 10, 16), False), (at_day(2024, 10, 17), True)])
def test_smx_art17_in_county_change_is_an_endorsement(build: Builder, session: Session, actor: Actor,
                                                      day: datetime, late: bool) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    change, row = change_address(session, actor, number, new_county="411202", moved_on=date(2024, 10, 1),
                                 data={"address": "新址"}, at=day)
    assert change.kind is ChangeKind.ENDORSE and change.late is late and change.deadline == date(2024, 10, 16)
    assert row is not None and row.kind == "address_change" and row.valid_until == date(2025, 8, 5)
    assert card_status(session, card).usable


def test_smx_art17_cross_county_suspends(build: Builder, session: Session, actor: Actor) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    change, row = change_address(session, actor, number, new_county="411203", moved_on=date(2024, 10, 1),
                                 data={}, at=at_day(2024, 10, 2))
    assert change.kind is ChangeKind.REREGISTER and row is None
    assert card_status(session, card).suspension_reason is SuspensionReason.CROSS_COUNTY_MOVE


def test_zz_any_county_in_city_and_leaving(build: Builder, session: Session, actor: Actor) -> None:
    number, _ = build.issued_permit("zz", issued=ISSUED)
    change, row = change_address(session, actor, number, new_county="410102", moved_on=date(2024, 10, 1),
                                 data={}, at=at_day(2024, 10, 9))
    assert change.kind is ChangeKind.ENDORSE and change.late and row is not None and row.county_code == "410102"
    # The next change compares against the endorsed county.
    with pytest.raises(RefusedError, match="outside the city; cancel"):
        change_address(session, actor, number, new_county="411202", moved_on=date(2024, 11, 1), data={},
                       at=at_day(2024, 11, 1))


def test_reconcile_card_and_registry(build: Builder, session: Session, actor: Actor) -> None:
    number, card = build.issued_permit("zz", issued=ISSUED)
    first = endorse(session, actor, number, data={}, at=at_day(2025, 7, 20))
    _, second = change_address(session, actor, number, new_county="410102", moved_on=date(2025, 7, 25), data={},
                               at=at_day(2025, 7, 26))
    assert second is not None
    # The card write of the second record failed; the card also shows a record the registry lost.
    result = reconcile(session, actor, card, [1, 3], at=at_day(2025, 7, 27))
    assert result.confirmed == (1,) and [r.seq for r in result.to_write] == [2] and result.unknown_on_card == (3,)
    assert first.card_sync == "written" and second.card_sync == "pending"
    mark_written(session, actor, second.id, at=at_day(2025, 7, 27))
    again = reconcile(session, actor, card, [1, 2], at=at_day(2025, 7, 27))
    assert again.confirmed == () and again.to_write == () and again.unknown_on_card == ()
