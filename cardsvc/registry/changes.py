"""Change registrations written to the card (ZZ Art.14 变更登记 of the service place, 服务处所).

ZZ Art.14 "居住证持有人现居住地址、服务处所等登记事项发生变更的，应当自变更之日起 7 日内，
到现居住地公安派出所办理变更登记".
A changed address is an endorsement record (cardsvc.registry.endorsements.change_address). A changed service
place is a record of the layout's changes EF: the registry records it first (card_sync pending) and updates
the permit's data, then the endorsement writer appends it to the card (cardsvc.issuance.endorse) and
confirms it. The records belong to the card they were written to: a new card generation writes the current
service place into its machine-readable file from the permit data and starts with no change records.
Services flush, the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cardsvc.layout.schema import Content, Layout
from cardsvc.permit.record import dump_permit, load_permit
from cardsvc.permit.validate import validate_endorsement_data
from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.errors import NotFoundError, RefusedError
from cardsvc.registry.lookup import card_by_number, current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, CardSync, ChangeKind, ChangeRecord, Endorsement
from cardsvc.rules.changes import ChangeAssessment, assess_registered_change
from cardsvc.rules.status import CardStatus, PermitStatus


def _county(session: Session, permit_id: int, default: str) -> str:
    """The authority registering the change: the county of the holder's latest endorsement, else of issue."""
    latest = session.scalars(select(Endorsement.county_code).where(Endorsement.permit_id == permit_id)
                             .order_by(Endorsement.seq.desc())).first()
    return latest or default


def record_service_place(session: Session, actor: Actor, permit_number: str, *, service_place: str,
                         changed_on: date, at: datetime, layout: Layout) -> tuple[ChangeAssessment, ChangeRecord]:
    """Record a changed service place (ZZ Art.14): refused when the city's card holds none, when the value
    does not fit the record (PermitInvalid names `service_place`), or when the permit is not in use;
    reported after the deadline it is recorded and flagged late."""
    validate_endorsement_data(layout, {"service_place": service_place}, content=Content.CHANGES)
    permit = permit_by_number(session, permit_number, lock=True)
    change = assess_registered_change(layout.rules, changed_on, local_date(at))
    if permit.status != PermitStatus.ACTIVE.value:
        raise RefusedError(f"permit {permit_number}: is {permit.status}; a change registration is written to "
                           "a card in use", field="permit_number")
    card = current_card(session, permit)
    if card is None or card.status != CardStatus.ACTIVE.value:
        raise RefusedError(f"permit {permit_number}: no card in use", field="permit_number")
    seq = (session.scalar(select(func.max(ChangeRecord.seq)).where(ChangeRecord.card_id == card.id)) or 0) + 1
    ef = next(e for e in layout.efs if e.content is Content.CHANGES)  # validate_endorsement_data found it
    assert ef.records is not None
    if seq > ef.records:
        raise RefusedError(f"permit {permit_number}: card {card.card_number} holds {ef.records} change records; "
                           "a new card (换领) carries the current service place", field="service_place")
    row = ChangeRecord(
        permit_id=permit.id, card_id=card.id, seq=seq, kind=ChangeKind.SERVICE_PLACE.value, changed_on=changed_on,
        registered_on=local_date(at), late=change.late, county_code=_county(session, permit.id, permit.county_code),
        data={"service_place": service_place}, card_sync=CardSync.PENDING.value, created_at=at,
    )
    session.add(row)
    # The permit record holds the current value: the next card generation writes it (no change records).
    permit.data = dump_permit(replace(load_permit(permit.data), service_place=service_place))
    permit.updated_at = at
    session.flush()
    audit(session, actor, "change.service_place", at=at, permit_number=permit_number, card_number=card.card_number,
          reason=f"change record {seq}, changed {changed_on.isoformat()}, due {change.deadline.isoformat()}"
                 f"{' (reported late)' if change.late else ''} ({change.article})")
    return change, row


def changes_of(session: Session, card_id: int) -> list[ChangeRecord]:
    return list(session.scalars(select(ChangeRecord).where(ChangeRecord.card_id == card_id)
                                .order_by(ChangeRecord.seq)))


@dataclass(frozen=True)
class ChangeReconciliation:
    confirmed: tuple[int, ...]  # seqs now marked written (they were on the card)
    to_write: tuple[ChangeRecord, ...]  # registry records the card lacks
    unknown_on_card: tuple[int, ...]  # record numbers on the card the registry never committed


def reconcile_changes(session: Session, actor: Actor, card_number: str, seqs_on_card: Iterable[int], *,
                      at: datetime) -> ChangeReconciliation:
    card = card_by_number(session, card_number, lock=True)
    on_card = set(seqs_on_card)
    rows = changes_of(session, card.id)
    confirmed = []
    for r in rows:
        if r.seq in on_card and r.card_sync != CardSync.WRITTEN.value:
            r.card_sync = CardSync.WRITTEN.value
            confirmed.append(r.seq)
    result = ChangeReconciliation(tuple(confirmed), tuple(r for r in rows if r.seq not in on_card),
                                  tuple(sorted(on_card - {r.seq for r in rows})))
    if rows or on_card:
        audit(session, actor, "change.reconcile", at=at, card_number=card_number,
              permit_number=card.permit.permit_number,
              reason=f"confirmed {list(result.confirmed)}, to write {[r.seq for r in result.to_write]}, "
                     f"unknown on card {list(result.unknown_on_card)}")
    session.flush()
    return result


def mark_change_written(session: Session, actor: Actor, change_id: int, *, at: datetime) -> ChangeRecord:
    row = session.get(ChangeRecord, change_id)
    if row is None:
        raise NotFoundError(f"change_id: no change record {change_id}", field="change_id")
    if row.card_sync != CardSync.WRITTEN.value:
        row.card_sync = CardSync.WRITTEN.value
        card = session.get(Card, row.card_id)
        assert card is not None
        audit(session, actor, "change.written", at=at, card_number=card.card_number,
              permit_number=card.permit.permit_number, reason=f"change record {row.seq} on card")
        session.flush()
    return row
