"""A department at its own counter's reader: read and write its records on the card.

Every exchange runs under the department's per-card key (diversified from its master key by card number,
cardsvc.security.kdf) with secure messaging: GET CHALLENGE + MUTUAL AUTHENTICATE in the department's ADF,
then READ BINARY / UPDATE BINARY wrapped. The card's access conditions (layout: read and update
"sm+key:<the department's key>") refuse any other department's key; this module does not try to.

A write is one UPDATE BINARY of one slot (cardsvc.departments.record): the previous record stays in the
other slot until the next write, so a pulled card leaves the old record or the new one, never a mix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cardsvc.departments.record import (
    DepartmentRecordError,
    RecordRead,
    decode_record,
    encode_slot,
    mac_key,
    next_slot,
    record_ef,
    slot_size,
)
from cardsvc.layout.codec import fields_codec
from cardsvc.layout.schema import Layout
from cardsvc.layout.vocabulary import CARD_EF, PERMIT_DF
from cardsvc.security.kdf import key_store_role
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession

log = logging.getLogger(__name__)

CardKey = Callable[[str, str], bytes]  # (key-store role, card number) -> per-card key, e.g. keys.card_key


@dataclass(frozen=True, slots=True)
class WriteResult:
    card_number: str
    record: str
    seq: int
    slot: int
    replaced_seq: int  # 0 when the card held no record before


def department_key_name(layout: Layout, department: str) -> str:
    """The layout key of `department` (its role is "department:<name>")."""
    for name, decl in layout.keys.items():
        if decl.role == f"department:{department}":
            return name
    raise DepartmentRecordError("department", f"layout {layout.id} declares no key for department {department}")


def read_card_number(card: CardSession, layout: Layout) -> str:
    """The card number from EF.CARD of the permit application (readable always)."""
    card.select_aid(layout.df(PERMIT_DF).aid)
    ef = layout.ef(CARD_EF)
    values = fields_codec(layout, ef.name).decode(card.read_binary(sfi=ef.sfi).rstrip(b"\x00")).values
    number = values.get("card_number")
    if not isinstance(number, str):
        raise DepartmentRecordError("card_number", "EF.CARD holds no card number")
    return number


class DepartmentCard:
    """One department's view of the card in `card` (one session; SM ends with each method)."""

    def __init__(self, card: CardSession, layout: Layout, department: str, card_key: CardKey) -> None:
        self.card = card
        self.layout = layout
        self.department = department
        self.key_name = department_key_name(layout, department)
        self._card_key = card_key
        self.cipher = layout_suite(layout).cipher
        self.card_number = read_card_number(card, layout)

    def _role_key(self) -> bytes:
        return self._card_key(key_store_role(self.layout.keys[self.key_name].role), self.card_number)

    def _adf(self) -> None:
        self.card.select_aid(self.layout.df(record_ef_parent(self.layout, self.department)).aid)

    def read(self, record: str) -> RecordRead:
        ef = record_ef(self.layout, self.department, record)
        role_key = self._role_key()
        self._adf()
        with secure_session(self.card, role_key, self.layout.keys[self.key_name].ref, self.cipher):
            content = self.card.read_binary(sfi=ef.sfi, length=ef.capacity)
        return decode_record(self.layout, ef, content, mac_key(role_key, self.card_number, self.cipher), self.cipher)

    def write(self, record: str, values: Mapping[str, str]) -> WriteResult:
        """Write (or update: the same call) `record` with `values`; returns where it went."""
        ef = record_ef(self.layout, self.department, record)
        role_key = self._role_key()
        key = mac_key(role_key, self.card_number, self.cipher)
        self._adf()
        with secure_session(self.card, role_key, self.layout.keys[self.key_name].ref, self.cipher):
            current = decode_record(self.layout, ef, self.card.read_binary(sfi=ef.sfi, length=ef.capacity),
                                    key, self.cipher)
            slot = next_slot(current)
            data = encode_slot(self.layout, ef, values, current.seq + 1, key, self.cipher)
            self.card.update_binary(data, offset=slot * slot_size(ef), sfi=ef.sfi)
        log.info("card %s: department %s record %s write %d in slot %d", self.card_number, self.department,
                 ef.name, current.seq + 1, slot)
        return WriteResult(self.card_number, ef.name, current.seq + 1, slot, current.seq)


def record_ef_parent(layout: Layout, department: str) -> str:
    """The department's ADF name."""
    for df in layout.dfs:
        if df.department == department:
            return df.name
    raise DepartmentRecordError("department", f"{department!r} is not a department of layout {layout.id}")
