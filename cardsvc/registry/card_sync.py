"""Records the registry writes to a card after issuance (endorsements, ZZ Art.14 change records): the
registry commits a record first (card_sync pending), the writer appends it, and the card is the witness of
what reached it. One comparison and one confirmation for every such record kind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from cardsvc.registry.audit import Actor, audit
from cardsvc.registry.models import Card, CardSync, ChangeRecord, Endorsement

R = TypeVar("R", Endorsement, ChangeRecord)


@dataclass(frozen=True)
class Reconciliation(Generic[R]):
    confirmed: tuple[int, ...]  # seqs now marked written (they were on the card)
    to_write: tuple[R, ...]  # registry records the card lacks: write them
    unknown_on_card: tuple[int, ...]  # seqs on the card that the registry never committed


def compare_with_card(rows: Sequence[R], seqs_on_card: Iterable[int]) -> Reconciliation[R]:
    """Marks written the registry's records the card holds; the rest are to write (flush is the caller's)."""
    on_card = set(seqs_on_card)
    confirmed = []
    for r in rows:
        if r.seq in on_card and r.card_sync != CardSync.WRITTEN.value:
            r.card_sync = CardSync.WRITTEN.value
            confirmed.append(r.seq)
    return Reconciliation(tuple(confirmed), tuple(r for r in rows if r.seq not in on_card),
                          tuple(sorted(on_card - {r.seq for r in rows})))


def confirm_written(session: Session, actor: Actor, row: Endorsement | ChangeRecord, action: str, reason: str, *,
                    at: datetime) -> None:
    """The writer saw `row` on the card: written, audited once."""
    if row.card_sync == CardSync.WRITTEN.value:
        return
    row.card_sync = CardSync.WRITTEN.value
    card = session.get(Card, row.card_id)
    assert card is not None  # foreign key
    audit(session, actor, action, at=at, card_number=card.card_number, permit_number=card.permit.permit_number,
          reason=reason)
    session.flush()


def reconcile_reason(result: Reconciliation[R]) -> str:
    return (f"confirmed {list(result.confirmed)}, to write {[r.seq for r in result.to_write]}, "
            f"unknown on card {list(result.unknown_on_card)}")
