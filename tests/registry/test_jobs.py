"""Issuance jobs: the state machine, idempotency, and "issued only after verified"."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cardsvc.registry import Actor, ConflictError, NotVerifiedError, RefusedError, session_factory
from cardsvc.registry.audit import audit_trail, history
from cardsvc.registry.jobs import JobState, Verification, advance, job, record_chip_key, record_issued, start_issuance
from cardsvc.registry.lifecycle import card_status
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import Card, FeeRecord, IssuanceJob
from cardsvc.rules import CardEvent, CardStatus, PermitStatus

from .conftest import Builder, at_day

AT = at_day(2024, 8, 5)
KEY = b"\x04" + b"\x11" * 64


def _verifying(session: Session, actor: Actor, number: str, card: str = "C1") -> IssuanceJob:
    row = start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number=card, idempotency_key="k1",
                         at=AT)
    advance(session, row.id, JobState.WRITING, at=AT)
    record_chip_key(session, row.id, KEY, at=AT)
    advance(session, row.id, JobState.VERIFYING, at=AT)
    return row


def test_first_issue_happy_path(build: Builder, session: Session, actor: Actor) -> None:
    number = build.pending_permit()
    row = _verifying(session, actor, number)
    card = record_issued(session, actor, row.id, Verification("C1", KEY, b"d" * 32, passed=True), at=AT)
    assert (card.status, card.generation, card.issued_at) == ("active", 1, AT)
    assert job(session, row.id).state == "issued" and job(session, row.id).attempts == 1
    permit = permit_by_number(session, number)
    assert permit.status == "active" and permit.anchor_on.isoformat() == "2024-08-05"
    fee = session.scalars(select(FeeRecord)).one()
    assert (fee.event, fee.amount_fen) == ("first_issue", 0)  # SMX Art.20: first issue free
    assert [(h.subject, h.to_status) for h in history(session, permit)] == [("permit", "active"), ("card", "active")]
    assert [e.action for e in audit_trail(session, number)][-3:] == [
        "issuance.first_issue.start", "permit.status.active", "card.status.active"]
    view = card_status(session, "C1")
    assert view.usable and view.valid_until is not None and view.valid_until.isoformat() == "2025-08-05"


@pytest.mark.parametrize(("verification", "reason"), [
    (Verification("C1", KEY, b"d", passed=False), "did not pass"),
    (Verification("C2", KEY, b"d", passed=True), "'C2' is not 'C1'"),
    (Verification("C1", b"\x04" + b"\x22" * 64, b"d", passed=True), "chip public key"),
    (Verification("C1", KEY, b"", passed=True), "no image digest"),
])
def test_record_issued_refuses_unverified(build: Builder, session: Session, actor: Actor,
                                          verification: Verification, reason: str) -> None:
    number = build.pending_permit()
    row = _verifying(session, actor, number)
    with pytest.raises(NotVerifiedError, match=reason):
        record_issued(session, actor, row.id, verification, at=AT)
    assert session.scalars(select(Card)).one().status == "pending"
    assert permit_by_number(session, number).status == "pending"


@pytest.mark.parametrize("stop", [JobState.PENDING, JobState.WRITING, JobState.FAILED_RETRYABLE])
def test_record_issued_needs_verifying_state(build: Builder, session: Session, actor: Actor,
                                             stop: JobState) -> None:
    number = build.pending_permit()
    row = start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number="C1", idempotency_key="k",
                         at=AT)
    if stop is not JobState.PENDING:
        advance(session, row.id, JobState.WRITING, at=AT)
        record_chip_key(session, row.id, KEY, at=AT)
    if stop is JobState.FAILED_RETRYABLE:
        advance(session, row.id, stop, at=AT, error="card removed at APDU 7")
    with pytest.raises(NotVerifiedError, match=f"is {stop.value}, must be verifying"):
        record_issued(session, actor, row.id, Verification("C1", KEY, b"d", passed=True), at=AT)
    with pytest.raises(NotVerifiedError, match="record_issued"):
        advance(session, row.id, JobState.ISSUED, at=AT)


def test_idempotent_and_resumable_across_sessions(build: Builder, session: Session, actor: Actor,
                                                  engine: Engine) -> None:
    number = build.pending_permit()
    first = start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number="C1",
                           idempotency_key="station-1/42", at=AT)
    advance(session, first.id, JobState.WRITING, at=AT)
    advance(session, first.id, JobState.FAILED_RETRYABLE, at=AT, error="card pulled")
    session.commit()
    # The station restarts: same key, new session → the same job, continued.
    with session_factory(engine)() as again:
        same = start_issuance(again, actor, number, CardEvent.FIRST_ISSUE, card_number="C-other",
                              idempotency_key="station-1/42", at=AT)
        assert same.id == first.id and same.state == "failed_retryable"
        advance(again, same.id, JobState.WRITING, at=AT)
        assert same.attempts == 2 and same.last_error == "card pulled"
        with pytest.raises(ConflictError, match="still writing"):
            start_issuance(again, actor, number, CardEvent.FIRST_ISSUE, card_number="C9", idempotency_key="other",
                           at=AT)
        with pytest.raises(ConflictError, match="belongs to another request"):
            start_issuance(again, actor, number, CardEvent.RENEWAL, card_number="C9",
                           idempotency_key="station-1/42", at=AT)
        assert again.scalars(select(FeeRecord)).all().__len__() == 1  # not charged twice


def test_failed_job_spoils_the_card_and_a_new_job_takes_the_next_generation(build: Builder, session: Session,
                                                                            actor: Actor) -> None:
    number = build.pending_permit()
    row = start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number="C1", idempotency_key="a",
                         at=AT)
    with pytest.raises(Exception, match="needs the error text"):
        advance(session, row.id, JobState.FAILED, at=AT)
    advance(session, row.id, JobState.FAILED, at=AT, error="blank card rejected the key")
    with pytest.raises(ConflictError, match="cannot go from failed to writing"):
        advance(session, row.id, JobState.WRITING, at=AT)
    card = session.get(Card, row.card_id)
    assert card is not None and card.status == CardStatus.SPOILED.value
    _, card_number = build.issue(number, at=AT)
    assert card_status(session, card_number).generation == 2


def test_job_transitions_refused(build: Builder, session: Session, actor: Actor) -> None:
    number = build.pending_permit()
    row = start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number="C1", idempotency_key="a",
                         at=AT)
    with pytest.raises(ConflictError, match="pending to verifying"):
        advance(session, row.id, JobState.VERIFYING, at=AT)
    with pytest.raises(ConflictError, match="chip key only while writing"):
        record_chip_key(session, row.id, KEY, at=AT)
    with pytest.raises(ConflictError, match="'C1' already exists"):
        start_issuance(session, actor, build.pending_permit(), CardEvent.FIRST_ISSUE, card_number="C1",
                       idempotency_key="b", at=AT)


def test_first_issue_only_once_and_replacement_needs_loss(build: Builder, session: Session, actor: Actor) -> None:
    number, _ = build.issued_permit()
    with pytest.raises(RefusedError, match="first issue needs a pending permit"):
        start_issuance(session, actor, number, CardEvent.FIRST_ISSUE, card_number="C9", idempotency_key="x", at=AT)
    with pytest.raises(RefusedError, match=r"loss report first \(ZZ Art.16\)"):
        start_issuance(session, actor, number, CardEvent.REPLACEMENT, card_number="C9", idempotency_key="y", at=AT)
    assert permit_by_number(session, number).status == PermitStatus.ACTIVE.value
