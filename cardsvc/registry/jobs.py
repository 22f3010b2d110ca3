"""Issuance jobs: pending → writing → verifying → issued | failed_retryable | failed.

Jobs are keyed by an idempotency key: asking again with the same key returns the same job, so a
station that crashed resumes instead of starting over.  `record_issued` is the only way to ISSUED
and refuses unless verify-after-write passed for this very card (design §7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cardsvc.registry.audit import Actor, audit, record_status
from cardsvc.registry.errors import ConflictError, NotFoundError, NotVerifiedError, RefusedError, RegistryError
from cardsvc.registry.lookup import current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, FeeRecord, IssuanceJob, JobState, Permit
from cardsvc.rules.city import rules_for
from cardsvc.rules.fees import CardEvent, fee_for
from cardsvc.rules.status import CardStatus, PermitStatus, check_card_transition, check_permit_transition

__all__ = ["JOB_TRANSITIONS", "OPEN_STATES", "JobState", "Verification", "advance", "job", "record_chip_key",
           "record_issued", "start_issuance"]

log = logging.getLogger(__name__)

JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.WRITING, JobState.FAILED}),
    # WRITING/VERIFYING → WRITING: resume after a crash or a pulled card (attempt counted).
    JobState.WRITING: frozenset({JobState.WRITING, JobState.VERIFYING, JobState.FAILED_RETRYABLE,
                                 JobState.FAILED}),
    JobState.VERIFYING: frozenset({JobState.WRITING, JobState.VERIFYING, JobState.ISSUED,
                                   JobState.FAILED_RETRYABLE, JobState.FAILED}),
    JobState.FAILED_RETRYABLE: frozenset({JobState.WRITING, JobState.FAILED}),
    JobState.ISSUED: frozenset(),
    JobState.FAILED: frozenset(),
}
OPEN_STATES = frozenset({JobState.PENDING, JobState.WRITING, JobState.VERIFYING, JobState.FAILED_RETRYABLE})

# What the superseded card becomes when the new generation is issued.
_SUPERSEDED = {
    CardEvent.REPLACEMENT: CardStatus.REPLACED,  # 补领: the lost card is revoked
    CardEvent.RENEWAL: CardStatus.RENEWED,  # 换领: old card returned and revoked (SMX Art.20)
    CardEvent.CORRECTION: CardStatus.CORRECTED,  # ZZ Art.27: new generation with corrected data
}


@dataclass(frozen=True)
class Verification:
    """What verify-after-write established about the card in the reader."""

    card_number: str
    chip_public_key: bytes
    image_digest: bytes  # hash of the card image as read back
    passed: bool


def job(session: Session, job_id: int, *, lock: bool = False) -> IssuanceJob:
    stmt = select(IssuanceJob).where(IssuanceJob.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise NotFoundError(f"job_id: no issuance job {job_id}", field="job_id")
    return row


def start_issuance(
    session: Session,
    actor: Actor,
    permit_number: str,
    event: CardEvent,
    *,
    card_number: str,
    idempotency_key: str,
    at: datetime,
) -> IssuanceJob:
    """Create (or return, for the same key) the job that writes the permit's next card generation.

    Replacement needs a loss report first (ZZ Art.16); renewal and correction are requested through
    `lifecycle`, which checks the old card is returned.  The fee is recorded here (SMX Art.20).
    """
    existing = session.scalars(select(IssuanceJob).where(IssuanceJob.idempotency_key == idempotency_key)
                               ).one_or_none()
    permit = permit_by_number(session, permit_number, lock=True)
    if existing is not None:
        if existing.permit_id != permit.id or existing.event != event.value:
            raise ConflictError(f"idempotency_key: {idempotency_key!r} belongs to another request",
                                field="idempotency_key")
        return existing
    open_job = session.scalars(select(IssuanceJob).where(
        IssuanceJob.permit_id == permit.id, IssuanceJob.state.in_([s.value for s in OPEN_STATES]))).first()
    if open_job is not None:
        raise ConflictError(f"permit {permit_number}: issuance job {open_job.id} is still {open_job.state}")
    supersedes = _check_event(session, permit, event)
    generation = (session.scalar(select(func.max(Card.generation)).where(Card.permit_id == permit.id)) or 0) + 1
    if not card_number or len(card_number) > 32:
        raise RegistryError("card_number: must be 1-32 characters", field="card_number")
    if session.scalars(select(Card.id).where(Card.card_number == card_number)).first() is not None:
        raise ConflictError(f"card_number: {card_number!r} already exists", field="card_number")
    card = Card(card_number=card_number, permit_id=permit.id, generation=generation,
                status=CardStatus.PENDING.value, created_at=at)
    session.add(card)
    session.flush()
    row = IssuanceJob(
        idempotency_key=idempotency_key, permit_id=permit.id, card_id=card.id,
        supersedes_card_id=None if supersedes is None else supersedes.id, event=event.value,
        state=JobState.PENDING.value, attempts=0, created_at=at, updated_at=at,
    )
    session.add(row)
    session.flush()
    fee = fee_for(rules_for(permit.city), event)
    session.add(FeeRecord(permit_id=permit.id, job_id=row.id, event=event.value, amount_fen=fee.amount_fen,
                          article=fee.article, at=at))
    audit(session, actor, f"issuance.{event.value}.start", at=at, permit_number=permit.permit_number,
          card_number=card_number, reason=f"job {row.id}, generation {generation}, fee {fee.amount_fen} fen")
    session.flush()
    return row


def _check_event(session: Session, permit: Permit, event: CardEvent) -> Card | None:
    status = PermitStatus(permit.status)
    if event is CardEvent.FIRST_ISSUE:
        if status is not PermitStatus.PENDING:
            raise RefusedError(f"permit {permit.permit_number}: first issue needs a pending permit, "
                               f"it is {status.value}")
        return None
    if event is CardEvent.ENDORSEMENT:
        raise RegistryError("event: endorsements are written by the endorsement service, not issuance jobs",
                            field="event")
    if event is CardEvent.REPLACEMENT:
        if status is not PermitStatus.LOST:
            raise RefusedError(f"permit {permit.permit_number}: replacement (补领) needs a loss report first "
                               f"(ZZ Art.16); status is {status.value}")
        lost = session.scalars(select(Card).where(Card.permit_id == permit.id,
                                                  Card.status == CardStatus.LOST.value)).first()
        return lost
    if status not in (PermitStatus.ACTIVE, PermitStatus.SUSPENDED):
        raise RefusedError(f"permit {permit.permit_number}: {event.value} needs an active or suspended "
                           f"permit, it is {status.value}")
    card = current_card(session, permit)
    if card is None:
        raise RefusedError(f"permit {permit.permit_number}: no card in use to {event.value}")
    return card


def advance(session: Session, job_id: int, state: JobState, *, at: datetime, error: str | None = None) -> IssuanceJob:
    """Move a job along; ISSUED only through `record_issued`.  FAILED spoils the blank card."""
    row = job(session, job_id, lock=True)
    current = JobState(row.state)
    if state is JobState.ISSUED:
        raise NotVerifiedError(f"job {job_id}: use record_issued() with the verification result")
    if state not in JOB_TRANSITIONS[current]:
        raise ConflictError(f"job {job_id}: cannot go from {current.value} to {state.value}")
    if state in (JobState.FAILED, JobState.FAILED_RETRYABLE) and not error:
        raise RegistryError("error: a failed job needs the error text", field="error")
    if state is JobState.WRITING:
        row.attempts += 1
    row.state = state.value
    row.last_error = error if error else row.last_error
    row.updated_at = at
    if state is JobState.FAILED:
        card = session.get(Card, row.card_id)
        assert card is not None
        check_card_transition(CardStatus(card.status), CardStatus.SPOILED)
        card.status = CardStatus.SPOILED.value
        card.revoked_at = at
    session.flush()
    log.debug("job %d: %s → %s (attempt %d)", job_id, current.value, state.value, row.attempts)
    return row


def record_chip_key(session: Session, job_id: int, public_key: bytes, *, at: datetime) -> None:
    """The chip generated its key pair during writing (design §4 EF.CHIPKEY); keep the public half."""
    row = job(session, job_id, lock=True)
    if JobState(row.state) not in (JobState.WRITING, JobState.VERIFYING):
        raise ConflictError(f"job {job_id}: chip key only while writing, state is {row.state}")
    if not public_key:
        raise RegistryError("public_key: empty", field="public_key")
    card = session.get(Card, row.card_id)
    assert card is not None
    card.chip_public_key = bytes(public_key)
    row.updated_at = at
    session.flush()


def record_issued(
    session: Session, actor: Actor, job_id: int, verification: Verification, *, at: datetime
) -> Card:
    """Record the card as issued.  Refuses unless the job is verifying and the verification passed
    for this card number and this chip key; then activates it and revokes the card it supersedes."""
    row = job(session, job_id, lock=True)
    card = session.get(Card, row.card_id)
    permit = session.get(Permit, row.permit_id)
    assert card is not None and permit is not None
    if JobState(row.state) is not JobState.VERIFYING:
        raise NotVerifiedError(f"job {job_id}: is {row.state}, must be verifying before it can be issued")
    if not verification.passed:
        raise NotVerifiedError(f"job {job_id}: verification did not pass")
    if verification.card_number != card.card_number:
        raise NotVerifiedError(f"job {job_id}: verified card {verification.card_number!r} is not "
                               f"{card.card_number!r}")
    if card.chip_public_key is None or verification.chip_public_key != card.chip_public_key:
        raise NotVerifiedError(f"job {job_id}: chip public key read back differs from the one recorded")
    if not verification.image_digest:
        raise NotVerifiedError(f"job {job_id}: verification carries no image digest")
    event = CardEvent(row.event)
    day = local_date(at)
    reason = f"job {job_id} verified"
    if event is CardEvent.FIRST_ISSUE:
        check_permit_transition(PermitStatus(permit.status), PermitStatus.ACTIVE)
        permit.anchor_on, permit.years = day, 1  # the residence year counts from issue
        record_status(session, actor, permit, PermitStatus.ACTIVE.value, at=at, reason_code="issued",
                      reason=reason)
    elif event is CardEvent.REPLACEMENT:
        back = PermitStatus.SUSPENDED if permit.suspension_reason else PermitStatus.ACTIVE
        check_permit_transition(PermitStatus(permit.status), back)
        record_status(session, actor, permit, back.value, at=at, reason_code="replaced", reason=reason)
    if row.supersedes_card_id is not None:
        old = session.get(Card, row.supersedes_card_id)
        assert old is not None
        new_old = _SUPERSEDED[event]
        check_card_transition(CardStatus(old.status), new_old)
        old.revoked_at = at
        record_status(session, actor, permit, new_old.value, at=at, card=old, reason_code=event.value,
                      reason=f"superseded by card {card.card_number}")
    card_status = CardStatus.SUSPENDED if permit.status == PermitStatus.SUSPENDED.value else CardStatus.ACTIVE
    check_card_transition(CardStatus(card.status), card_status)
    card.issued_at = at
    record_status(session, actor, permit, card_status.value, at=at, card=card, reason_code=event.value,
                  reason=reason)
    row.state = JobState.ISSUED.value
    row.verified_digest = bytes(verification.image_digest)
    row.updated_at = at
    session.flush()
    return card
