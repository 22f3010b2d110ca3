"""Status lifecycle services: suspend (SMX Art.19), reinstate, report loss (ZZ Art.16), replacement
(补领), renewal (换领, SMX Art.20), correction (ZZ Art.27), cancellation (ZZ Art.25), and the sweep
that suspends permits whose endorsement is overdue (SMX Art.19(3)).

The permit's status is the truth; its current card mirrors it.  Services flush, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.layout.schema import Layout
from cardsvc.permit.record import dump_permit, load_permit
from cardsvc.permit.validate import apply_correction
from cardsvc.registry.audit import Actor, record_status
from cardsvc.registry.errors import RefusedError, RegistryError, StateConflictError
from cardsvc.registry.jobs import OPEN_STATES, start_issuance
from cardsvc.registry.lookup import card_by_number, current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, IssuanceJob, JobState, Permit
from cardsvc.rules.endorsement import anniversary, is_overdue
from cardsvc.rules.errors import TransitionError
from cardsvc.rules.fees import CardEvent
from cardsvc.rules.status import CardStatus, PermitStatus, SuspensionReason, check_permit_transition


def _set(session: Session, actor: Actor, permit: Permit, to: PermitStatus, *, at: datetime, code: str,
         reason: str) -> None:
    """Change permit status and mirror it on the current card (if any)."""
    try:
        check_permit_transition(PermitStatus(permit.status), to)
    except TransitionError as exc:
        raise StateConflictError(f"permit {permit.permit_number}: {exc.reason}") from None
    card = current_card(session, permit)
    record_status(session, actor, permit, to.value, at=at, reason_code=code, reason=reason)
    if card is not None and to.value != card.status:
        mirrored = CardStatus(to.value)
        record_status(session, actor, permit, mirrored.value, at=at, card=card, reason_code=code, reason=reason)
        if mirrored.revoked:
            card.revoked_at = at
    session.flush()


def suspend(session: Session, actor: Actor, permit_number: str, reason: SuspensionReason, note: str, *,
            at: datetime) -> Permit:
    permit = permit_by_number(session, permit_number, lock=True)
    if permit.status == PermitStatus.LOST.value:
        # A lost card stays blocked; the suspension applies to the replacement (record it only).
        permit.suspension_reason = reason.value
        record_status(session, actor, permit, permit.status, at=at, reason_code=reason.value,
                      reason=f"{reason.article}: {note} (recorded while lost)")
        session.flush()
        return permit
    _set(session, actor, permit, PermitStatus.SUSPENDED, at=at, code=reason.value, reason=f"{reason.article}: {note}")
    permit.suspension_reason = reason.value
    session.flush()
    return permit


def reinstate(session: Session, actor: Actor, permit_number: str, note: str, *, at: datetime) -> Permit:
    permit = permit_by_number(session, permit_number, lock=True)
    if permit.status != PermitStatus.SUSPENDED.value or permit.suspension_reason is None:
        raise StateConflictError(f"permit {permit_number}: is {permit.status}, not suspended")
    reason = SuspensionReason(permit.suspension_reason)
    if not reason.lifted_by_reinstatement:
        way = {SuspensionReason.ENDORSEMENT_OVERDUE: "a late endorsement (SMX Art.18)",
               SuspensionReason.CROSS_COUNTY_MOVE: "the endorsement of the new address once the new county's "
                                                   "temporary registration is half a year old (SMX Art.17 ¶2)",
               }.get(reason, "cancellation (hukou transferred)")
        raise RefusedError(f"permit {permit_number}: suspended for {reason.value} ({reason.article}); "
                           f"lifted only by {way}")
    permit.suspension_reason = None
    _set(session, actor, permit, PermitStatus.ACTIVE, at=at, code="reinstated", reason=note)
    return permit


def report_lost(session: Session, actor: Actor, card_number: str, note: str, *, at: datetime) -> Permit:
    """ZZ Art.16: the loss report blocks the card at once; replacement follows."""
    # Lock order everywhere: the permit row, then its cards (cancel does the same), or two status
    # changes on PostgreSQL deadlock.
    permit = permit_by_number(session, card_by_number(session, card_number).permit.permit_number, lock=True)
    card = card_by_number(session, card_number, lock=True)
    current = current_card(session, permit)
    if current is None or current.id != card.id:
        raise StateConflictError(f"card {card_number}: is {card.status}, not the card in use")
    _set(session, actor, permit, PermitStatus.LOST, at=at, code="lost", reason=f"ZZ Art.16: {note}")
    return permit


def request_replacement(session: Session, actor: Actor, permit_number: str, *, card_number: str,
                        idempotency_key: str, at: datetime) -> IssuanceJob:
    """补领 (SMX Art.20, ZZ Art.15-16): charged; the lost card is revoked when the new one is issued."""
    return start_issuance(session, actor, permit_number, CardEvent.REPLACEMENT, card_number=card_number,
                          idempotency_key=idempotency_key, at=at)


def request_renewal(session: Session, actor: Actor, permit_number: str, *, old_card_returned: bool,
                    card_number: str, idempotency_key: str, at: datetime) -> IssuanceJob:
    """换领 of a damaged card: the old card must be handed back (SMX Art.20 应当交回原证件)."""
    if not old_card_returned:
        raise RefusedError(f"permit {permit_number}: renewal (换领) needs the old card returned (SMX Art.20)")
    return start_issuance(session, actor, permit_number, CardEvent.RENEWAL, card_number=card_number,
                          idempotency_key=idempotency_key, at=at)


def request_correction(session: Session, actor: Actor, permit_number: str, changes: dict[str, Any], *,
                       evidence: str, card_number: str, idempotency_key: str, at: datetime,
                       layout: Layout) -> IssuanceJob:
    """ZZ Art.27 "持证人发现本人的信息不真实、不准确的，可以提供证明材料向公安机关申请变更、更正": corrected
    data on request with supporting proof; a new card generation carries it. Unknown field names and
    values that do not validate are refused before anything is written (cardsvc.permit.validate)."""
    if not changes:
        raise RegistryError("changes: nothing to correct", field="changes")
    if not evidence.strip():
        raise RegistryError("evidence: ZZ Art.27 needs supporting material for a correction", field="evidence")
    permit = permit_by_number(session, permit_number, lock=True)
    existing = session.scalars(select(IssuanceJob).where(IssuanceJob.idempotency_key == idempotency_key)
                               ).one_or_none()
    corrected = None
    if existing is None:
        corrected = apply_correction(load_permit(permit.data), changes, layout, local_date(at))
    job = start_issuance(session, actor, permit_number, CardEvent.CORRECTION, card_number=card_number,
                         idempotency_key=idempotency_key, at=at)
    if corrected is not None:
        permit.data = dump_permit(corrected)
        permit.citizen_id = corrected.citizen_id  # the indexed column follows the record
        permit.updated_at = at
        fields = ",".join(sorted(changes))  # field names only, never values
        record_status(session, actor, permit, permit.status, at=at, reason_code="corrected",
                      reason=f"ZZ Art.27: fields {fields}; evidence: {evidence}")
        session.flush()
    return job


def cancel(session: Session, actor: Actor, permit_number: str, note: str, *, at: datetime) -> Permit:
    """ZZ Art.25 注销: every card of the permit not already revoked is cancelled with it."""
    permit = permit_by_number(session, permit_number, lock=True)
    try:
        check_permit_transition(PermitStatus(permit.status), PermitStatus.CANCELLED)
    except TransitionError as exc:
        raise StateConflictError(f"permit {permit_number}: {exc.reason}") from None
    record_status(session, actor, permit, PermitStatus.CANCELLED.value, at=at, reason_code="cancelled",
                  reason=f"ZZ Art.25: {note}")
    for card in session.scalars(select(Card).where(Card.permit_id == permit.id)):
        # a superseded lost card (revoked_at set, status LOST: ZZ Art.16-17) keeps its loss signal
        if not CardStatus(card.status).revoked and card.revoked_at is None:
            card.revoked_at = at
            record_status(session, actor, permit, CardStatus.CANCELLED.value, at=at, card=card,
                          reason_code="cancelled", reason=f"ZZ Art.25: {note}")
    # An open job would write a card for a cancelled permit (design §7): it ends here, its card is
    # cancelled above and stays published as such.
    for row in session.scalars(select(IssuanceJob).where(
            IssuanceJob.permit_id == permit.id, IssuanceJob.state.in_([s.value for s in OPEN_STATES]))):
        row.state, row.last_error, row.updated_at = JobState.FAILED.value, "permit cancelled (ZZ Art.25)", at
        row.claimed_by, row.lease_until = None, None
    session.flush()
    return permit


def suspend_overdue(session: Session, actor: Actor, *, at: datetime) -> list[str]:
    """SMX Art.19(3): suspend every active permit whose anniversary passed without endorsement."""
    today = local_date(at)
    done: list[str] = []
    active = session.scalars(select(Permit).where(Permit.status == PermitStatus.ACTIVE.value)
                             .order_by(Permit.id)).all()
    for permit in active:
        if is_overdue(permit.anchor_on, permit.years, today):
            due = anniversary(permit.anchor_on, permit.years)
            suspend(session, actor, permit.permit_number, SuspensionReason.ENDORSEMENT_OVERDUE,
                    f"endorsement was due before {due.isoformat()}", at=at)
            done.append(permit.permit_number)
    return done


@dataclass(frozen=True)
class CardStatusView:
    """What a counter needs to know about a presented card (no personal data)."""

    card_number: str
    permit_number: str
    generation: int
    card_status: CardStatus
    permit_status: PermitStatus
    suspension_reason: SuspensionReason | None
    valid_until: date | None  # next anniversary; None before the first issue

    @property
    def usable(self) -> bool:
        return self.card_status is CardStatus.ACTIVE and self.permit_status is PermitStatus.ACTIVE


def card_status(session: Session, card_number: str) -> CardStatusView:
    card = card_by_number(session, card_number)
    permit = card.permit
    issued = permit.status != PermitStatus.PENDING.value
    return CardStatusView(
        card_number=card.card_number, permit_number=permit.permit_number, generation=card.generation,
        card_status=CardStatus(card.status), permit_status=PermitStatus(permit.status),
        suspension_reason=None if permit.suspension_reason is None else SuspensionReason(permit.suspension_reason),
        valid_until=anniversary(permit.anchor_on, permit.years) if issued else None,
    )
