"""Loading records by the numbers people and cards carry; local (China) dates for the rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cardsvc.registry.errors import NotFoundError, RegistryError
from cardsvc.registry.models import Card, Permit
from cardsvc.rules.status import CardStatus

# China Standard Time has had no daylight saving since 1991: a fixed offset needs no tz database.
T = TypeVar("T", bound=Any)

CHINA = timezone(timedelta(hours=8), "CST")


def local_date(at: datetime) -> date:
    """The calendar day in China at instant `at` (the day the regulations count in)."""
    if at.tzinfo is None:
        raise RegistryError("at: must be timezone-aware", field="at")
    return at.astimezone(CHINA).date()


def locked(stmt: Select[T]) -> Select[T]:
    """`FOR UPDATE` (PostgreSQL row lock; SQLite already holds its write lock, see db.py), and refresh the
    row from the database: an object loaded earlier in the session would otherwise keep the values read
    before the lock was granted, and a check-then-write would act on them."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def permit_by_number(session: Session, permit_number: str, *, lock: bool = False) -> Permit:
    stmt = select(Permit).where(Permit.permit_number == permit_number)
    if lock:
        stmt = locked(stmt)
    permit = session.scalars(stmt).one_or_none()
    if permit is None:
        raise NotFoundError(f"permit_number: no permit {permit_number!r}", field="permit_number")
    return permit


def card_by_number(session: Session, card_number: str, *, lock: bool = False) -> Card:
    stmt = select(Card).where(Card.card_number == card_number)
    if lock:
        stmt = locked(stmt)
    card = session.scalars(stmt).one_or_none()
    if card is None:
        raise NotFoundError(f"card_number: no card {card_number!r}", field="card_number")
    return card


def current_card(session: Session, permit: Permit) -> Card | None:
    """The card in the holder's hands: the newest generation that is not pending or revoked."""
    cards = session.scalars(select(Card).where(Card.permit_id == permit.id)
                            .order_by(Card.generation.desc()))
    for card in cards:
        status = CardStatus(card.status)
        if status is not CardStatus.PENDING and not status.revoked:
            return card
    return None
