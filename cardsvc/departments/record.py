"""The bytes of a department-record EF: two equal slots, each

    seq (4, big-endian, 0 = never written) || length (2) || body (BER-TLV of the declared fields) || MAC (8)
    || zero padding to the slot size

A write goes to the slot that does not hold the current record, with seq = current + 1, so a card pulled
mid-write (the simulator keeps 64-byte pages atomic, a slot spans several) leaves the previous record
intact in the other slot; the torn slot fails its MAC and is reported, never returned.

Integrity: a MAC, not a signature. Only the department itself reads its records (its EF's READ needs its
key, design §4), it already holds the per-card key the MAC key is derived from, an 8-byte CMAC costs 8
bytes of EEPROM where an SM2 signature costs 64, and no PKI is needed at a department counter. The MAC key
is separate from the authentication key (SP 800-108 with its own label) and binds card number, EF and
sequence number, so a slot copied from another card, another EF or an older write does not verify there.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.cmac import CMAC

from cardsvc.layout.codec import fields_codec
from cardsvc.layout.entries import Content, EfDecl
from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.schema import Layout
from cardsvc.layout.vocabulary import DEPARTMENT_RECORD_OVERHEAD, DEPARTMENT_RECORD_SLOTS
from cardsvc.security.kdf import SymmetricCipher, check_card_number, sp800_108_cmac

MAC_LENGTH = 8
_HEADER = struct.Struct(">IH")
_MAC_LABEL = b"cardsvc/dept-record-mac"
assert _HEADER.size + MAC_LENGTH == DEPARTMENT_RECORD_OVERHEAD


class DepartmentRecordError(ValueError):
    """A department record that cannot be written as given (names the field and the reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SlotProblem:
    slot: int  # 0 or 1
    reason: str


@dataclass(frozen=True, slots=True)
class RecordRead:
    """What a department reader found: the current record (None when never written) and every slot that
    holds bytes but fails its check (an interrupted write or an alteration: the MAC cannot tell which)."""

    values: dict[str, str] | None
    seq: int
    slot: int | None
    problems: tuple[SlotProblem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def record_efs(layout: Layout, department: str) -> list[EfDecl]:
    """The department-record EFs of `department`, in layout order."""
    return [ef for ef in layout.efs if ef.content is Content.DEPARTMENT_RECORD
            and layout.department_of(ef) == department]


def record_ef(layout: Layout, department: str, name: str) -> EfDecl:
    for ef in record_efs(layout, department):
        if ef.name == name:
            return ef
    known = [ef.name for ef in record_efs(layout, department)]
    raise DepartmentRecordError("record", f"{name!r} is not a record of department {department} in layout "
                                f"{layout.id} (known: {known})")


def slot_size(ef: EfDecl) -> int:
    return ef.capacity // DEPARTMENT_RECORD_SLOTS


def mac_key(department_key: bytes, card_number: str, cipher: SymmetricCipher) -> bytes:
    """The record MAC key of one card and department, from the department's per-card key."""
    return sp800_108_cmac(department_key, _MAC_LABEL, check_card_number(card_number), 16, cipher)


def _mac(key: bytes, cipher: SymmetricCipher, ef: EfDecl, header: bytes, body: bytes) -> bytes:
    mac = CMAC(cipher.algorithm(key))
    mac.update(ef.fid.to_bytes(2, "big") + header + body)
    return mac.finalize()[:MAC_LENGTH]


def encode_slot(layout: Layout, ef: EfDecl, values: Mapping[str, str], seq: int, key: bytes,
                cipher: SymmetricCipher) -> bytes:
    """One slot's bytes (padded to the slot size) holding `values` as write number `seq`."""
    declared = {f.field for f in ef.fields}
    for name in values:
        if name not in declared:
            raise DepartmentRecordError(name, f"not a field of record {ef.name} (fields: {sorted(declared)})")
    if not values:
        raise DepartmentRecordError("values", f"record {ef.name} needs at least one field")
    try:
        body = fields_codec(layout, ef.name).encode(dict(values))
    except FieldValueError as exc:
        raise DepartmentRecordError(exc.field, exc.reason) from None
    if not 1 <= seq <= 0xFFFFFFFF:
        raise DepartmentRecordError("seq", f"{seq} is outside 1..2^32-1")
    header = _HEADER.pack(seq, len(body))
    raw = header + body + _mac(key, cipher, ef, header, body)
    size = slot_size(ef)
    if len(raw) > size:  # unreachable while the layout's fit check holds
        raise DepartmentRecordError("values", f"{len(raw)} bytes exceed the slot of {size}")
    return raw + bytes(size - len(raw))


def _parse_slot(layout: Layout, ef: EfDecl, raw: bytes, key: bytes,
                cipher: SymmetricCipher) -> tuple[int, dict[str, str]] | str | None:
    """(seq, values), None for a blank slot, or the reason the slot fails."""
    if not any(raw):
        return None
    seq, length = _HEADER.unpack_from(raw)
    end = _HEADER.size + length
    if seq == 0 or end + MAC_LENGTH > len(raw):
        return "header out of range"
    header, body = raw[:_HEADER.size], raw[_HEADER.size:end]
    if not hmac.compare_digest(raw[end:end + MAC_LENGTH], _mac(key, cipher, ef, header, body)):
        return "MAC does not verify"
    if any(raw[end + MAC_LENGTH:]):
        return "bytes after the MAC"
    decoded = fields_codec(layout, ef.name).decode(body)
    return seq, {k: str(v) for k, v in decoded.values.items()}


def decode_record(layout: Layout, ef: EfDecl, content: bytes, key: bytes, cipher: SymmetricCipher) -> RecordRead:
    """The current record of an EF's bytes: the verified slot with the higher sequence number."""
    size = slot_size(ef)
    if len(content) < size * DEPARTMENT_RECORD_SLOTS:
        raise DepartmentRecordError(ef.name, f"{len(content)} bytes read, the file holds "
                                    f"{size * DEPARTMENT_RECORD_SLOTS}")
    best: tuple[int, int, dict[str, str]] | None = None
    problems: list[SlotProblem] = []
    for slot in range(DEPARTMENT_RECORD_SLOTS):
        parsed = _parse_slot(layout, ef, content[slot * size:(slot + 1) * size], key, cipher)
        if isinstance(parsed, str):
            problems.append(SlotProblem(slot, parsed))
        elif parsed is not None and (best is None or parsed[0] > best[0]):
            best = (parsed[0], slot, parsed[1])
    if best is None:
        return RecordRead(None, 0, None, tuple(problems))
    return RecordRead(best[2], best[0], best[1], tuple(problems))


def next_slot(current: RecordRead) -> int:
    """The slot a write goes to: never the one holding the current record."""
    return 0 if current.slot is None else (current.slot + 1) % DEPARTMENT_RECORD_SLOTS
