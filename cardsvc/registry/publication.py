"""The status the registry publishes: the list of non-active cards as a `StatusIndex`, signed and kept in
the database so that any service process serves the same list and the delta from any recent sequence;
and the online answer for one card.

Stateless by design (issue 15 item 1): the list, its sequence and its history are database rows; a process
holds nothing between requests. Two processes publishing at once race on the primary key (the sequence);
the loser takes the winner's row.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import cbor2
from sqlalchemy import Connection, Integer, Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from cardsvc.qr.cose import parse_sign1
from cardsvc.registry.errors import NotFoundError, RefusedError
from cardsvc.registry.models import Card, CardSync, ChangeRecord, Endorsement, Permit, StatusPublication
from cardsvc.rules.status import CardStatus, SuspensionReason
from cardsvc.status_list.cache import Binding, OnlineStatus
from cardsvc.status_list.compact import StatusDelta, decode_full
from cardsvc.status_list.index import StatusIndex
from cardsvc.status_list.model import ListStatus

log = logging.getLogger(__name__)

KEEP = 64  # publications kept: a counter more than KEEP publications behind takes the full list
SignList = Callable[[StatusIndex], bytes]
SignDelta = Callable[[StatusDelta], bytes]
_STATUS = {s.value: ListStatus.from_card_status(s) for s in CardStatus}


def listed_rows(conn: Connection | Session, layout_id: str,
                ) -> Iterator[tuple[str, ListStatus, SuspensionReason | None]]:
    """Every allocated card number of a layout that is not active (design §7), in one joined Core query:
    no ORM object per card (100,000 rows at city scale)."""
    stmt = (select(Card.card_number, Card.status, Permit.suspension_reason)
            .join(Permit, Permit.id == Card.permit_id)
            .where(Card.status != CardStatus.ACTIVE.value, Permit.layout_id == layout_id))
    for number, status, reason in conn.execute(stmt):
        yield number, *listed_status(status, reason)


def listed_status(card_status: str, suspension_reason: str | None) -> tuple[ListStatus, SuspensionReason | None]:
    """A registry card status as published, with the SMX Art.19 reason for a suspended card."""
    listed = _STATUS[card_status]
    if listed is not ListStatus.SUSPENDED:
        return listed, None
    return listed, SuspensionReason(suspension_reason or SuspensionReason.OTHER.value)


def _stored(row: StatusPublication) -> StatusIndex:
    """Our own signed bytes, from our own database: decoded without re-verifying the signature."""
    return decode_full(cbor2.loads(parse_sign1(row.signed).payload))


def _kept(layout_id: str) -> Select[StatusPublication]:
    return (select(StatusPublication).where(StatusPublication.layout_id == layout_id)
            .order_by(StatusPublication.sequence.desc()))


def publish(session: Session, layout_id: str, issuer: str, now: dt.datetime, lifetime: dt.timedelta,
            sign: SignList, *, reuse_for: dt.timedelta = dt.timedelta(minutes=1)) -> StatusPublication:
    """The list in force: the latest publication while it says what the registry says now and is younger
    than `reuse_for`, else a new one (sequence = max(latest + 1, epoch seconds), so it only grows)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    latest = session.scalars(_kept(layout_id).limit(1)).first()
    rows = list(listed_rows(session, layout_id))
    if latest is not None and latest.issuer == issuer and now - latest.issued_at < reuse_for:
        held = _stored(latest)
        current = StatusIndex.from_rows(issuer, held.sequence, held.issued_at, held.next_update, rows)
        if current.same_content(held):
            return latest
    sequence = max(int(now.timestamp()), latest.sequence + 1 if latest is not None else 1)
    index = StatusIndex.from_rows(issuer, sequence, now, now + lifetime, rows)
    row = StatusPublication(layout_id=layout_id, sequence=sequence, issuer=issuer, issued_at=now,
                            digest=index.digest, signed=sign(index))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process published this sequence first: serve theirs
        winner = session.get(StatusPublication, (layout_id, sequence))
        if winner is None:  # pragma: no cover - the conflicting row vanished (pruned)
            raise
        return winner
    oldest_kept = session.scalars(_kept(layout_id).offset(KEEP - 1).limit(1)).first()
    if oldest_kept is not None:
        session.execute(delete(StatusPublication).where(StatusPublication.layout_id == layout_id,
                                                        StatusPublication.sequence < oldest_kept.sequence))
    log.info("status list %s (%s) #%d published: %d entries", issuer, layout_id, sequence, len(index))
    return row


def delta_since(session: Session, since: int, current: StatusPublication, sign: SignDelta) -> bytes | None:
    """The signed delta from publication `since` to `current`; None when `since` is current."""
    if since == current.sequence:
        return None
    if since > current.sequence:
        raise RefusedError(f"since: sequence {since} is newer than the registry's {current.sequence}")
    base = session.get(StatusPublication, (current.layout_id, since))
    if base is None:
        raise NotFoundError(f"since: sequence {since} is no longer kept; fetch the full list")
    return sign(StatusDelta.between(_stored(base), _stored(current)))


def online_status(conn: Connection | Session, card_number: str, now: dt.datetime) -> OnlineStatus | None:
    """A card's status and online binding (chip key hash, endorsement counts: design §7) in one joined
    query, or None for a number the registry never allocated."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    row = conn.execute(_online_query(dialect), {"card_number": card_number}).first()
    if row is None:
        return None
    status, reason, key, written, pending, carried, at_issue, changes_written, changes_pending = row
    # Records the card was issued with: the permit record's endorsements and (issue 12) every registry
    # endorsement recorded for an earlier card of the permit, carried onto this generation at
    # personalization; then those the registry added to this card since.
    written = int(at_issue or 0) + int(carried) + int(written)
    return OnlineStatus(*listed_status(status, reason), now,
                        Binding(None if key is None else hashlib.sha256(key).digest(), written, written + int(pending),
                                # ZZ Art.14 change records belong to one card: no carrying across generations
                                int(changes_written), int(changes_written) + int(changes_pending)))


@functools.cache
def _online_query(dialect: str) -> Select[tuple[Any, ...]]:
    """Built once per dialect (building it costs more than running it: ~0.4 ms of the 0.5 on SQLite)."""
    counts = {sync: select(func.count()).where(Endorsement.card_id == Card.id, Endorsement.card_sync == sync.value)
              .correlate(Card).scalar_subquery() for sync in CardSync}
    carried = (select(func.count()).where(Endorsement.permit_id == Card.permit_id, Endorsement.card_id != Card.id)
               .correlate(Card).scalar_subquery())
    changes = {sync: select(func.count()).where(ChangeRecord.card_id == Card.id, ChangeRecord.card_sync == sync.value)
               .correlate(Card).scalar_subquery() for sync in (CardSync.WRITTEN, CardSync.PENDING)}
    return (select(Card.status, Permit.suspension_reason, Card.chip_public_key, counts[CardSync.WRITTEN],
                   counts[CardSync.PENDING], carried, _endorsements_at_issue(dialect), changes[CardSync.WRITTEN],
                   changes[CardSync.PENDING])
            .join(Permit, Permit.id == Card.permit_id).where(Card.card_number == bindparam("card_number")))


def _endorsements_at_issue(dialect: str) -> ColumnElement[Any]:
    """Length of the permit record's `endorsements` array, computed by the database (the record itself,
    personal data, is never loaded for a status answer)."""
    if dialect == "postgresql":
        expr = func.json_array_length(Permit.data.op("->")("endorsements"))
    else:
        expr = func.json_array_length(Permit.data, "$.endorsements")
    return func.coalesce(expr, 0, type_=Integer)
