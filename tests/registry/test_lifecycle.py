"""Status lifecycle: suspension (SMX Art.19), loss (ZZ Art.16), replacement and renewal (SMX Art.20,
ZZ Art.15), correction (ZZ Art.27), cancellation (ZZ Art.25), overdue sweep (SMX Art.19(3))."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.layout import builtin_layout
from cardsvc.permit.record import dump_permit
from cardsvc.registry import Actor, RefusedError, RegistryError
from cardsvc.registry.audit import audit, audit_trail, history
from cardsvc.registry.jobs import JobState, Verification, advance, record_chip_key, record_issued
from cardsvc.registry.lifecycle import (
    cancel,
    card_status,
    reinstate,
    report_lost,
    request_correction,
    request_renewal,
    request_replacement,
    suspend,
    suspend_overdue,
)
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import FeeRecord
from cardsvc.rules import CardStatus, PermitStatus, SuspensionReason
from cardsvc.samples import generate_permit

from .conftest import Builder, at_day

ISSUED = at_day(2024, 8, 5)
LATER = at_day(2024, 10, 1)
ZZ = builtin_layout("zz")


@pytest.mark.parametrize("reason", list(SuspensionReason))
def test_each_smx_art19_reason_suspends_and_is_recorded(build: Builder, session: Session, actor: Actor,
                                                        reason: SuspensionReason) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    suspend(session, actor, number, reason, "counter check", at=LATER)
    view = card_status(session, card)
    assert (view.permit_status, view.card_status, view.suspension_reason) == (
        PermitStatus.SUSPENDED, CardStatus.SUSPENDED, reason)
    assert not view.usable
    last = history(session, permit_by_number(session, number))[-1]
    assert (last.to_status, last.reason_code, last.at) == ("suspended", reason.value, LATER)
    assert reason.article in last.reason and last.actor == "counter:op7@SMX-HB-01"
    if reason.lifted_by_reinstatement:
        reinstate(session, actor, number, "material verified", at=LATER)
        assert card_status(session, card).usable
    else:
        with pytest.raises(RefusedError, match="lifted only by"):
            reinstate(session, actor, number, "try", at=LATER)


def test_loss_then_replacement(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit(issued=ISSUED)
    report_lost(session, actor, old, "holder reported by phone", at=LATER)
    assert card_status(session, old).card_status is CardStatus.LOST
    job = request_replacement(session, actor, number, card_number="NEW1", idempotency_key="r1", at=LATER)
    advance(session, job.id, JobState.WRITING, at=LATER)
    record_chip_key(session, job.id, b"k" * 65, at=LATER)
    advance(session, job.id, JobState.VERIFYING, at=LATER)
    assert card_status(session, old).card_status is CardStatus.LOST  # revoked only once the new card verifies
    record_issued(session, actor, job.id, Verification("NEW1", b"k" * 65, b"d", passed=True), at=LATER)
    old_view, new_view = card_status(session, old), card_status(session, "NEW1")
    # Issue 12 (ZZ Art.16-17): the lost card keeps its own status, LOST, once superseded
    assert old_view.card_status is CardStatus.LOST and not old_view.usable
    assert new_view.usable and new_view.generation == 2
    fees = {f.event: f.amount_fen for f in session.scalars(select(FeeRecord))}
    assert fees["first_issue"] == 0 and fees["replacement"] > 0  # SMX Art.20 / ZZ Art.15


def test_loss_report_only_for_the_card_in_use(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit(issued=ISSUED)
    report_lost(session, actor, old, "lost", at=LATER)
    build.issue(number, "replacement", at=LATER)
    with pytest.raises(RefusedError, match="is lost, not the card in use"):
        report_lost(session, actor, old, "again", at=LATER)


def test_lost_while_suspended_comes_back_suspended(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit(issued=ISSUED)
    suspend(session, actor, number, SuspensionReason.FALSE_MATERIALS, "check", at=LATER)
    report_lost(session, actor, old, "lost", at=LATER)
    _, new = build.issue(number, "replacement", at=LATER)
    view = card_status(session, new)
    assert (view.permit_status, view.card_status) == (PermitStatus.SUSPENDED, CardStatus.SUSPENDED)


def test_renewal_needs_the_old_card_back(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit(issued=ISSUED)
    with pytest.raises(RefusedError, match="needs the old card returned"):
        request_renewal(session, actor, number, old_card_returned=False, card_number="R1", idempotency_key="n1",
                        at=LATER)
    job = request_renewal(session, actor, number, old_card_returned=True, card_number="R1", idempotency_key="n1",
                          at=LATER)
    advance(session, job.id, JobState.WRITING, at=LATER)
    record_chip_key(session, job.id, b"r" * 65, at=LATER)
    advance(session, job.id, JobState.VERIFYING, at=LATER)
    record_issued(session, actor, job.id, Verification("R1", b"r" * 65, b"d", passed=True), at=LATER)
    assert card_status(session, old).card_status is CardStatus.RENEWED
    assert card_status(session, "R1").usable
    assert session.scalars(select(FeeRecord.amount_fen).where(FeeRecord.event == "renewal")).one() > 0


def test_correction_makes_a_new_generation(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit("zz", issued=ISSUED)
    # Issue 12: a correction validates the corrected permit, so the record holds a real permit's data.
    row = permit_by_number(session, number)
    row.data = dump_permit(generate_permit(ZZ, random.Random(3), today=ISSUED.date(), minor=False,
                                           max_endorsements=0))
    with pytest.raises(RegistryError, match="evidence"):
        request_correction(session, actor, number, {"ethnicity": "03"}, evidence=" ", card_number="X1",
                           idempotency_key="c1", at=LATER, layout=ZZ)
    job = request_correction(session, actor, number, {"ethnicity": "03"}, evidence="hukou booklet page",
                             card_number="X1", idempotency_key="c1", at=LATER, layout=ZZ)
    again = request_correction(session, actor, number, {"ethnicity": "03"}, evidence="hukou booklet page",
                               card_number="X1", idempotency_key="c1", at=LATER, layout=ZZ)
    assert again.id == job.id
    assert permit_by_number(session, number).data["ethnicity"] == "03"
    advance(session, job.id, JobState.WRITING, at=LATER)
    record_chip_key(session, job.id, b"x" * 65, at=LATER)
    advance(session, job.id, JobState.VERIFYING, at=LATER)
    record_issued(session, actor, job.id, Verification("X1", b"x" * 65, b"d", passed=True), at=LATER)
    assert card_status(session, old).card_status is CardStatus.CORRECTED
    assert card_status(session, "X1").generation == 2
    corrections = [h for h in history(session, permit_by_number(session, number)) if h.reason_code == "corrected"]
    assert len(corrections) == 1 and "ethnicity" in corrections[0].reason and "03" not in corrections[0].reason


def test_cancellation_revokes_every_card_and_is_final(build: Builder, session: Session, actor: Actor) -> None:
    number, old = build.issued_permit("zz", issued=ISSUED)
    report_lost(session, actor, old, "lost", at=LATER)
    _, new = build.issue(number, "replacement", at=LATER)
    cancel(session, actor, number, "holder left Zhengzhou", at=LATER)
    assert card_status(session, new).card_status is CardStatus.CANCELLED
    assert card_status(session, old).card_status is CardStatus.LOST  # superseded lost card, unchanged (issue 12)
    with pytest.raises(RefusedError, match="cannot go from cancelled"):
        suspend(session, actor, number, SuspensionReason.OTHER, "x", at=LATER)
    with pytest.raises(RefusedError, match="cannot go from cancelled"):
        cancel(session, actor, number, "twice", at=LATER)
    actions = [e.action for e in audit_trail(session, number)]
    assert actions[-2:] == ["permit.status.cancelled", "card.status.cancelled"]


@pytest.mark.parametrize(("day", "suspended"), [
    (at_day(2025, 8, 4), False),  # day before the anniversary
    (at_day(2025, 8, 5), True),  # the anniversary: 逾期未办理签注
    (at_day(2025, 8, 6), True),
])
def test_overdue_sweep_at_the_anniversary(build: Builder, session: Session, actor: Actor, day: object,
                                          suspended: bool) -> None:
    number, card = build.issued_permit(issued=ISSUED)
    done = suspend_overdue(session, actor, at=day)  # type: ignore[arg-type]
    assert done == ([number] if suspended else [])
    view = card_status(session, card)
    assert (view.suspension_reason is SuspensionReason.ENDORSEMENT_OVERDUE) is suspended


def test_reasons_must_not_carry_personal_data(build: Builder, session: Session, actor: Actor) -> None:
    number, _ = build.issued_permit(issued=ISSUED)
    with pytest.raises(RegistryError, match="citizen ID"):
        suspend(session, actor, number, SuspensionReason.OTHER, "id 11010519491231002X", at=LATER)
    with pytest.raises(RegistryError, match="must not be empty"):
        audit(session, actor, "permit.viewed", at=LATER, reason=" ", permit_number=number)
    assert permit_by_number(session, number).status == "active"  # refused reasons change nothing
    with pytest.raises(RegistryError, match=r"actor\.role"):
        Actor("s", "o", "")
