"""Endorsements, address changes and change registrations (ZZ Art.14) on the card, kept in step with the
registry (issue 5 item 4; issue 12).

Order: the registry records the endorsement first (its own transaction, `card_sync` pending); then
`sync` brings the card up to date: select the permit ADF, read EF.ENDORSE (readable always), let the
registry `reconcile` what the card holds, authenticate with the endorsement key (SMX Art.16 / ZZ Art.13:
the endorsing authority writes) and APPEND RECORD under secure messaging each record the card lacks,
signed by the endorsing authority for this card and record number, then mark it written. A pulled card or
a crash at any point is repaired by calling `sync` again: APPEND RECORD is atomic on the card (a torn
append leaves no record), and reconciliation confirms a record that reached the card when the answer was
lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cardsvc.iso7816.commands import append_record
from cardsvc.iso7816.errors import CardError, FileNotFound
from cardsvc.issuance.endorse_records import sign_change_for_card, sign_for_card
from cardsvc.issuance.keys import IssuerKeys, key_ref
from cardsvc.layout.codec import changes_ef, encode_change, encode_endorsement
from cardsvc.layout.schema import Content, Layout
from cardsvc.layout.vocabulary import PERMIT_DF
from cardsvc.permit.model import Authority, Change, Endorsement
from cardsvc.registry import changes as registry_changes
from cardsvc.registry import endorsements as registry_endorsements
from cardsvc.registry.audit import Actor
from cardsvc.registry.models import ChangeRecord as ChangeRow
from cardsvc.registry.models import Endorsement as EndorsementRow
from cardsvc.security.kdf import key_store_role
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


class EndorsementSyncError(CardError):
    """The card and the registry disagree in a way a retry cannot repair (names the record numbers)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    card_number: str
    on_card_before: int  # records found on the card
    written: tuple[int, ...]  # record numbers appended now
    confirmed: tuple[int, ...]  # record numbers the registry now knows were already on the card
    commands: int
    changes_written: tuple[int, ...] = ()  # change records (ZZ Art.14) appended now


def _endorse_ef(layout: Layout) -> tuple[str, int]:
    for ef in layout.efs:
        if ef.content is Content.ENDORSEMENTS:
            return ef.name, ef.sfi
    raise EndorsementSyncError(f"layout {layout.id} has no endorsement EF")


def record_for(row: EndorsementRow, layout: Layout, keys: IssuerKeys, card_number: str,
               residence_address: str) -> bytes:
    """The EF.ENDORSE record of a registry endorsement, signed for `card_number` and its record number."""
    name = layout.authority_name(row.county_code)
    if name is None:
        raise EndorsementSyncError(f"endorsement {row.seq}: authority {row.county_code} is not in layout {layout.id}")
    e = Endorsement(row.endorsed_on, residence_address, row.valid_until, Authority(row.county_code, name))
    return encode_endorsement(sign_for_card(e, layout, keys, card_number, row.seq), layout)


def change_record_for(row: ChangeRow, layout: Layout, keys: IssuerKeys, card_number: str) -> bytes:
    """The changes-EF record of a registry change registration (ZZ Art.14), signed for the card and record."""
    if layout.authority_name(row.county_code) is None:
        raise EndorsementSyncError(f"change record {row.seq}: authority {row.county_code} is not in layout {layout.id}")
    value = row.data.get("service_place") if isinstance(row.data, dict) else None
    if not isinstance(value, str) or not value:
        raise EndorsementSyncError(f"change record {row.seq}: registry data has no service_place")
    c = Change(row.registered_on, row.changed_on, value, row.county_code)
    return encode_change(sign_change_for_card(c, layout, keys, card_number, row.seq), layout)


def _address(row: EndorsementRow) -> str:
    address = row.data.get("residence_address") if isinstance(row.data, dict) else None
    if not isinstance(address, str) or not address:
        raise EndorsementSyncError(f"endorsement {row.seq}: registry data has no residence_address")
    return address


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EndorsementService:
    def __init__(self, factory: sessionmaker[Session], actor: Actor, keys: IssuerKeys, *,
                 clock: Clock = _utc_now) -> None:
        self.factory = factory
        self.actor = actor
        self.keys = keys
        self.clock = clock

    def record(self, permit_number: str, data: Mapping[str, Any], layout: Layout | None = None) -> EndorsementRow:
        """The registry side of a yearly (or late, SMX Art.18) endorsement; `data` carries
        residence_address, checked against `layout`'s endorsement record. Refusals (too early, past the
        grace period) raise RefusedError, invalid data PermitInvalid."""
        with self.factory.begin() as s:
            return registry_endorsements.endorse(s, self.actor, permit_number, data=dict(data), at=self.clock(),
                                                 layout=layout)

    def change_address(self, permit_number: str, *, new_county: str, moved_on: dt.date,
                       data: Mapping[str, Any], layout: Layout | None = None) -> EndorsementRow | None:
        """The registry side of an address change (SMX Art.17 / ZZ Art.14): an endorsement record with the
        new address, or — moving across counties in SMX — use suspended until re-registration (None)."""
        with self.factory.begin() as s:
            _, row = registry_endorsements.change_address(s, self.actor, permit_number, new_county=new_county,
                                                          moved_on=moved_on, data=dict(data), at=self.clock(),
                                                          layout=layout)
            return row

    def change_service_place(self, permit_number: str, *, service_place: str, changed_on: dt.date,
                             layout: Layout) -> ChangeRow:
        """The registry side of a changed service place (ZZ Art.14): a change record, pending on the card."""
        with self.factory.begin() as s:
            _, row = registry_changes.record_service_place(s, self.actor, permit_number, service_place=service_place,
                                                           changed_on=changed_on, at=self.clock(), layout=layout)
            return row

    def endorse(self, permit_number: str, card_number: str, layout: Layout, card: CardSession,
                data: Mapping[str, Any]) -> SyncResult:
        self.record(permit_number, data, layout)
        return self.sync(card_number, layout, card)

    def sync(self, card_number: str, layout: Layout, card: CardSession) -> SyncResult:
        """Make the card hold every endorsement and change record (ZZ Art.14) the registry has for it, and
        the registry know it: one secure session appends what each file lacks, in record order."""
        ef_name, sfi = _endorse_ef(layout)
        changes = changes_ef(layout)
        permit = layout.df(PERMIT_DF)
        commands = 1
        card.select_aid(permit.aid)
        on_card = card.read_records(sfi=sfi)
        commands += len(on_card) + 1
        changes_on_card: list[bytes] = []
        if changes is not None:
            try:
                changes_on_card = card.read_records(sfi=changes.sfi)
            except FileNotFound:  # a card made before its layout declared the change file
                changes = None
            commands += len(changes_on_card) + 1
        with self.factory.begin() as s:
            result = registry_endorsements.reconcile(s, self.actor, card_number, range(1, len(on_card) + 1),
                                                     at=self.clock())
            if result.unknown_on_card:
                raise EndorsementSyncError(f"card {card_number}: records {list(result.unknown_on_card)} are on the "
                                           "card but not in the registry")
            pending = [(r.id, r.seq, record_for(r, layout, self.keys, card_number, _address(r)))
                       for r in result.to_write]
            pending_changes: list[tuple[int, int, bytes]] = []
            if changes is None and changes_ef(layout) is not None and \
                    registry_changes.reconcile_changes(s, self.actor, card_number, (), at=self.clock()).to_write:
                raise EndorsementSyncError(f"card {card_number}: has no change-registration file (made before "
                                           "the layout declared it); a new card (换领) carries the service place")
            if changes is not None:
                found = registry_changes.reconcile_changes(s, self.actor, card_number,
                                                           range(1, len(changes_on_card) + 1), at=self.clock())
                if found.unknown_on_card:
                    raise EndorsementSyncError(f"card {card_number}: change records {list(found.unknown_on_card)} "
                                               "are on the card but not in the registry")
                pending_changes = [(r.id, r.seq, change_record_for(r, layout, self.keys, card_number))
                                   for r in found.to_write]
        _in_order(card_number, pending, len(on_card), "")
        _in_order(card_number, pending_changes, len(changes_on_card), "change ")
        written: list[int] = []
        if pending or pending_changes:
            ref = key_ref(layout, "endorsement")
            role_key = self.keys.card_key(key_store_role("endorsement"), card_number)
            with secure_session(card, role_key, ref, layout_suite(layout).cipher):
                commands += 2
                for row_id, seq, record in pending:
                    card.send(append_record(record, sfi=sfi),
                              context=f"APPEND RECORD {ef_name} record {seq}")
                    commands += 1
                    with self.factory.begin() as s:
                        registry_endorsements.mark_written(s, self.actor, row_id, at=self.clock())
                    written.append(seq)
                    log.info("card %s: endorsement record %d written", card_number, seq)
                for row_id, seq, record in pending_changes:
                    assert changes is not None
                    card.send(append_record(record, sfi=changes.sfi),
                              context=f"APPEND RECORD {changes.name} record {seq}")
                    commands += 1
                    with self.factory.begin() as s:
                        registry_changes.mark_change_written(s, self.actor, row_id, at=self.clock())
                    log.info("card %s: change record %d written", card_number, seq)
        return SyncResult(card_number, len(on_card), tuple(written), result.confirmed, commands,
                          tuple(seq for _, seq, _ in pending_changes))


def _in_order(card_number: str, pending: list[tuple[int, int, bytes]], on_card: int, kind: str) -> None:
    """The registry's records the card lacks follow the card's last record without a gap."""
    expected = on_card + 1
    for _, seq, _ in pending:
        if seq != expected:
            raise EndorsementSyncError(f"card {card_number}: next {kind}record on the card is {expected}, "
                                       f"registry wants {kind}record {seq} written")
        expected += 1
