"""Design §7 / issue 13: job claims are database leases; a job never starts for a permit that is not
issuable; a cancellation ends open jobs; a resumed job can move to a new card number, spoiling the old."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cardsvc.registry import Actor, ConflictError
from cardsvc.registry.errors import StateConflictError
from cardsvc.registry.jobs import (
    LEASE,
    JobState,
    check_issuable,
    claim,
    claim_next,
    job,
    move_to_new_card,
    release,
    start_issuance,
)
from cardsvc.registry.lifecycle import cancel, report_lost
from cardsvc.registry.lookup import card_by_number
from cardsvc.rules import CardEvent

from .conftest import Builder, at_day, plus

AT = at_day(2024, 8, 5)


def _job(build: Builder, session: Session, actor: Actor, card: str = "C1") -> int:
    number = build.pending_permit()
    return start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number=card,
                          idempotency_key=f"k-{card}", at=AT).id


def test_one_claim_at_a_time_until_the_lease_runs_out(build: Builder, session: Session, actor: Actor) -> None:
    job_id = _job(build, session, actor)
    claim(session, job_id, "station-a", at=AT)
    with pytest.raises(ConflictError, match="already running"):
        claim(session, job_id, "station-b", at=AT + timedelta(seconds=5))
    claim(session, job_id, "station-b", at=AT + LEASE + timedelta(seconds=1))  # a: crashed, lease over
    assert job(session, job_id).claimed_by == "station-b"
    release(session, job_id, "station-a")  # not a's any more: left alone
    assert job(session, job_id).claimed_by == "station-b"
    release(session, job_id, "station-b")
    assert job(session, job_id).claimed_by is None


def test_claim_next_takes_the_oldest_free_pending_job(build: Builder, session: Session, actor: Actor) -> None:
    first, second = _job(build, session, actor, "C1"), _job(build, session, actor, "C2")
    taken = claim_next(session, "a", at=AT)
    assert taken is not None and taken.id == first
    again = claim_next(session, "b", at=AT)
    assert again is not None and again.id == second
    assert claim_next(session, "c", at=AT) is None


def test_no_job_starts_for_a_cancelled_permit(build: Builder, session: Session, actor: Actor) -> None:
    job_id = _job(build, session, actor)
    number = card_by_number(session, "C1").permit.permit_number
    cancel(session, actor, number, "ZZ Art.25 注销", at=AT)
    row = job(session, job_id)
    assert row.state == JobState.FAILED.value and "cancelled" in (row.last_error or "")
    assert card_by_number(session, "C1").status == "cancelled"  # published as cancelled
    with pytest.raises(ConflictError):
        claim(session, job_id, "station-a", at=AT)
    assert claim_next(session, "station-a", at=AT) is None


def test_no_renewal_runs_once_the_card_is_reported_lost(build: Builder, session: Session, actor: Actor) -> None:
    number, card = build.issued_permit(issued=AT)
    row = start_issuance(session, actor, number, CardEvent.RENEWAL, card_number="R1", idempotency_key="r1",
                         at=plus(AT, 30))
    report_lost(session, actor, card, "lost at the counter", at=plus(AT, 31))
    with pytest.raises(StateConflictError, match="needs an active or suspended"):
        check_issuable(session, row)
    with pytest.raises(StateConflictError):
        claim(session, row.id, "station-a", at=plus(AT, 31))


def test_move_to_new_card_spoils_the_abandoned_number(build: Builder, session: Session, actor: Actor) -> None:
    job_id = _job(build, session, actor)
    card = move_to_new_card(session, actor, job_id, "C1-NEW", at=AT)
    assert card_by_number(session, "C1").status == "spoiled"
    assert job(session, job_id).card_id == card.id and card.status == "pending"
    with pytest.raises(ConflictError):
        move_to_new_card(session, actor, job_id, "C1-NEW", at=AT)  # the number is taken
