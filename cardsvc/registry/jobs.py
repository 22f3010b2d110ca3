"""Issuance jobs: pending → writing → verifying → issued | failed_retryable | failed.

Jobs are keyed by an idempotency key: asking again with the same key returns the same job, so a
station that crashed resumes instead of starting over.  `record_issued` is the only way to ISSUED
and refuses unless verify-after-write passed for this very card (design §7).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cardsvc.layout.loader import builtin_layout
from cardsvc.permit.permit_number import make_card_number
from cardsvc.registry.audit import Actor, audit, record_status
from cardsvc.registry.errors import (
    ConflictError,
    NotFoundError,
    NotVerifiedError,
    RegistryError,
    StateConflictError,
)
from cardsvc.registry.lookup import current_card, local_date, locked, permit_by_number
from cardsvc.registry.models import Card, FeeRecord, IssuanceJob, JobState, Permit
from cardsvc.rules.fees import CardEvent, fee_for
from cardsvc.rules.status import CardStatus, PermitStatus, check_card_transition, check_permit_transition

__all__ = ["JOB_TRANSITIONS", "LEASE", "OPEN_STATES", "JobState", "Verification", "advance", "check_issuable",
           "claim", "claim_next", "job", "move_to_new_card", "new_card_number", "record_chip_key", "record_issued",
           "release", "start_issuance"]

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
# How long a claim holds a job without renewal: longer than any issuance (seconds), short enough that a
# crashed station's job comes back to the queue.
LEASE = timedelta(minutes=5)

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


def new_card_number(session: Session, prefix: str, digits: int) -> str:
    """A free card number of a layout (prefix, serial digits, check character): the registry allocates
    every card number before anything is written (design §7)."""
    for _ in range(20):
        number = make_card_number(prefix, secrets.randbelow(10**digits), digits)
        if session.scalars(select(Card.id).where(Card.card_number == number)).first() is None:
            return number
    raise ConflictError("card_number: could not allocate a free card number", field="card_number")  # pragma: no cover


def job(session: Session, job_id: int, *, lock: bool = False) -> IssuanceJob:
    """The job; `lock`: its permit's row first, then its own (the order every status change keeps —
    permit, then cards and jobs — so a cancellation and a job step cannot deadlock on PostgreSQL)."""
    stmt = select(IssuanceJob).where(IssuanceJob.id == job_id)
    if lock:
        permit_id = session.scalar(select(IssuanceJob.permit_id).where(IssuanceJob.id == job_id))
        if permit_id is not None:
            session.scalars(locked(select(Permit).where(Permit.id == permit_id))).one()
        stmt = locked(stmt)
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
    permit = permit_by_number(session, permit_number, lock=True)  # first: serialises jobs of one permit
    existing = session.scalars(select(IssuanceJob).where(IssuanceJob.idempotency_key == idempotency_key)
                               ).one_or_none()
    if existing is not None:
        if existing.permit_id != permit.id or existing.event != event.value:
            raise ConflictError(f"idempotency_key: {idempotency_key!r} belongs to another request",
                                field="idempotency_key")
        return existing
    open_job = session.scalars(select(IssuanceJob).where(
        IssuanceJob.permit_id == permit.id, IssuanceJob.state.in_([s.value for s in OPEN_STATES]))).first()
    if open_job is not None:
        raise StateConflictError(f"permit {permit_number}: issuance job {open_job.id} is still {open_job.state}")
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
    fee = fee_for(builtin_layout(permit.city).rules, event)
    # SMX Art.20 / ZZ Art.15: one fee per replacement or renewal *event* — a second job for the same
    # superseded card (after a failed job or spoiled blanks) is the same event, not a new charge.
    charged_before = session.scalar(select(func.count()).select_from(FeeRecord).join(
        IssuanceJob, IssuanceJob.id == FeeRecord.job_id).where(
        IssuanceJob.permit_id == permit.id, IssuanceJob.event == event.value, IssuanceJob.id != row.id,
        IssuanceJob.supersedes_card_id == row.supersedes_card_id if supersedes is not None
        else IssuanceJob.supersedes_card_id.is_(None)))
    if not charged_before:
        session.add(FeeRecord(permit_id=permit.id, job_id=row.id, event=event.value, amount_fen=fee.amount_fen,
                              article=fee.article, at=at))
    else:
        fee = replace(fee, amount_fen=0)  # audited below as no charge
    audit(session, actor, f"issuance.{event.value}.start", at=at, permit_number=permit.permit_number,
          card_number=card_number, reason=f"job {row.id}, generation {generation}, fee {fee.amount_fen} fen")
    session.flush()
    return row


def _check_event(session: Session, permit: Permit, event: CardEvent) -> Card | None:
    status = PermitStatus(permit.status)
    if event is CardEvent.FIRST_ISSUE:
        if status is not PermitStatus.PENDING:
            raise StateConflictError(f"permit {permit.permit_number}: first issue needs a pending permit, "
                               f"it is {status.value}")
        return None
    if event is CardEvent.ENDORSEMENT:
        raise RegistryError("event: endorsements are written by the endorsement service, not issuance jobs",
                            field="event")
    if event is CardEvent.REPLACEMENT:
        if status is not PermitStatus.LOST:
            raise StateConflictError(f"permit {permit.permit_number}: replacement (补领) needs a loss report first "
                               f"(ZZ Art.16); status is {status.value}")
        lost = session.scalars(select(Card).where(Card.permit_id == permit.id,
                                                  Card.status == CardStatus.LOST.value)).first()
        return lost
    if status not in (PermitStatus.ACTIVE, PermitStatus.SUSPENDED):
        raise StateConflictError(f"permit {permit.permit_number}: {event.value} needs an active or suspended "
                           f"permit, it is {status.value}")
    card = current_card(session, permit)
    if card is None:
        raise StateConflictError(f"permit {permit.permit_number}: no card in use to {event.value}")
    return card


def check_issuable(session: Session, row: IssuanceJob) -> None:
    """Design §7: a job never writes a card for a permit that is not issuable.  Checked (under the job's
    lock) before any APDU: the permit must still be in the state the job's event needs (first issue:
    pending; 补领: lost, ZZ Art.16; 换领/correction: active or suspended) and the job's card still pending
    (a cancellation, ZZ Art.25, cancels it)."""
    permit = session.get(Permit, row.permit_id)
    card = session.get(Card, row.card_id)
    assert permit is not None and card is not None  # foreign keys
    if JobState(row.state) not in OPEN_STATES:
        raise ConflictError(f"job_id: job {row.id} is {row.state}; nothing to run", field="job_id")
    if CardStatus(card.status) is not CardStatus.PENDING:
        raise StateConflictError(f"job_id: job {row.id}: card {card.card_number} is {card.status}; "
                                 "nothing may be written for it", field="job_id")
    _check_event(session, permit, CardEvent(row.event))


def claim(session: Session, job_id: int, owner: str, *, at: datetime, lease: timedelta = LEASE) -> IssuanceJob:
    """Take the job for `owner` (one run of one station) until `at + lease`, after checking it may run.

    The job row is locked (PostgreSQL row lock; SQLite's write lock, db.py), so of two callers one claims
    and the other sees the claim: ConflictError.  An expired lease (a crashed process) may be taken over."""
    if not owner or len(owner) > 128:
        raise RegistryError("owner: must be 1-128 characters", field="owner")
    row = job(session, job_id, lock=True)
    lease_until = row.lease_until
    if row.claimed_by is not None and lease_until is not None and lease_until > at:
        raise ConflictError(f"job_id: job {job_id} is already running ({row.claimed_by}, until "
                            f"{lease_until.isoformat()})", field="job_id")
    check_issuable(session, row)
    row.claimed_by, row.lease_until = owner, at + lease
    session.flush()
    return row


def claim_next(session: Session, owner: str, *, at: datetime, lease: timedelta = LEASE) -> IssuanceJob | None:
    """The oldest pending job nobody holds, claimed for `owner`; None when the queue is empty.

    `FOR UPDATE SKIP LOCKED` lets processes on PostgreSQL take different jobs at once; on SQLite the
    write lock serialises them.  Jobs that may no longer run (permit cancelled ...) are skipped."""
    free = (IssuanceJob.claimed_by.is_(None)) | (IssuanceJob.lease_until < at)
    stmt = (select(IssuanceJob).where(IssuanceJob.state == JobState.PENDING.value, free)
            .order_by(IssuanceJob.id).limit(16).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))
    for row in session.scalars(stmt).all():
        try:
            check_issuable(session, row)
        except ConflictError:
            continue
        row.claimed_by, row.lease_until = owner, at + lease
        session.flush()
        return row
    return None


def release(session: Session, job_id: int, owner: str) -> None:
    """Give the job back (the run ended); a claim someone else holds by now is left alone."""
    row = job(session, job_id, lock=True)
    if row.claimed_by == owner:
        row.claimed_by, row.lease_until = None, None
        session.flush()


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


def move_to_new_card(session: Session, actor: Actor, job_id: int, card_number: str, *, at: datetime) -> Card:
    """A resumed job meets a blank card after an earlier attempt generated a chip key: that earlier card
    may have passed its commit point and left the station.  In one transaction its number is spoiled (and
    so published as not valid) and the job continues under a new card number (design §7)."""
    row = job(session, job_id, lock=True)
    old = session.get(Card, row.card_id)
    permit = session.get(Permit, row.permit_id)
    assert old is not None and permit is not None
    if CardStatus(old.status) is not CardStatus.PENDING:
        raise StateConflictError(f"job_id: job {job_id}: card {old.card_number} is {old.status}", field="job_id")
    if session.scalars(select(Card.id).where(Card.card_number == card_number)).first() is not None:
        raise ConflictError(f"card_number: {card_number!r} already exists", field="card_number")
    old.revoked_at = at
    record_status(session, actor, permit, CardStatus.SPOILED.value, at=at, card=old, reason_code="abandoned",
                  reason=f"job {job_id} resumed on a new blank card {card_number}")
    generation = (session.scalar(select(func.max(Card.generation)).where(Card.permit_id == permit.id)) or 0) + 1
    card = Card(card_number=card_number, permit_id=permit.id, generation=generation,
                status=CardStatus.PENDING.value, created_at=at)
    session.add(card)
    session.flush()
    row.card_id, row.updated_at = card.id, at
    audit(session, actor, "issuance.new_card", at=at, permit_number=permit.permit_number, card_number=card_number,
          reason=f"job {job_id}: card {old.card_number} spoiled (abandoned)")
    session.flush()
    return card


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
    if CardStatus(card.status) is not CardStatus.PENDING:  # cancelled or spoiled while it was written
        raise StateConflictError(f"job {job_id}: card {card.card_number} is {card.status}; not activated")
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
        old.revoked_at = at
        if CardStatus(old.status) is CardStatus.LOST:
            # ZZ Art.16-17: a card reported lost stays LOST — the clerk and the status list keep the loss
            # signal; it is superseded (revoked_at) without losing its own status.
            audit(session, actor, "card.superseded", at=at, permit_number=permit.permit_number,
                  card_number=old.card_number, reason=f"lost card superseded by card {card.card_number}")
        else:
            new_old = _SUPERSEDED[event]
            check_card_transition(CardStatus(old.status), new_old)
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
