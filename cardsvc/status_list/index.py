"""The status list as a counter holds it: two flat arrays, looked up by bisection, never one object per card.

A card number (digits + ISO 7064 MOD 11-2 check character, `cardsvc.permit.permit_number`) is keyed by the
integer of "1" + its digits without the check character: the leading 1 keeps leading zeros and the body
length, so the key is unique and fits an unsigned 64-bit integer for bodies of up to 18 digits (the layouts
use 12 and 14). `keys` is an `array('Q')` sorted strictly increasing; `codes[i]` is one byte per key: the
`ListStatus` wire code in the low nibble, the SMX Art.19 clause (1-6) of a suspension in the high nibble.

The same arrays carry a delta (the changes from one list to the next): there code 0 (ACTIVE) means the card
left the list. `digest` binds issuer, sequence and the whole content; deltas name the digest they start
from and the one they end at, so a counter detects a gap, a fork or a bad merge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from cardsvc.permit.iso7064 import mod11_2
from cardsvc.rules.status import SuspensionReason
from cardsvc.status_list.errors import StatusListFormatError
from cardsvc.status_list.model import REASON_CODES, REASONS_BY_CODE, ListStatus, StatusEntry, StatusList

MAX_BODY_DIGITS = 18  # "1" + 18 digits < 2**64
_DIGEST_TAG = b"cardsvc status list v3\x00"


def card_key(card_number: str, field_name: str = "card_number") -> int:
    """The 64-bit key of a card number (its check character is not part of the key)."""
    body = card_number[:-1]
    if not 3 <= len(body) <= MAX_BODY_DIGITS or not body.isascii() or not body.isdigit():
        raise StatusListFormatError(
            f"{field_name}: {card_number!r}: the compact list keys card numbers of 4-{MAX_BODY_DIGITS + 1} "
            "characters, digits and a check character")
    return int("1" + body)


def key_card(key: int) -> str:
    body = str(key)[1:]
    return body + mod11_2(body)


def encode_code(status: ListStatus, reason: SuspensionReason | None) -> int:
    return int(status) | ((REASON_CODES[reason] if reason is not None else 0) << 4)


def decode_code(code: int) -> tuple[ListStatus, SuspensionReason | None]:
    status = ListStatus(code & 0x0F)
    return status, REASONS_BY_CODE[code >> 4] if code >> 4 else None


# Every byte a list may carry: a listed status, with a reason exactly when SUSPENDED.
LISTED_CODES = bytes(sorted(
    [int(s) for s in ListStatus if s not in (ListStatus.ACTIVE, ListStatus.SUSPENDED)]
    + [encode_code(ListStatus.SUSPENDED, r) for r in REASON_CODES]))
DELTA_CODES = bytes([0]) + LISTED_CODES  # a delta may also say: no longer listed (active)


def check_arrays(keys: array[int], codes: bytes, allowed: bytes, part: str) -> None:
    """Sorted, unique keys and one valid code per key, at C speed (no Python object kept per entry)."""
    if keys.typecode != "Q":
        raise StatusListFormatError(f"{part}.keys: must be unsigned 64-bit")
    if len(keys) != len(codes):
        raise StatusListFormatError(f"{part}: {len(keys)} keys but {len(codes)} codes")
    bad = codes.translate(None, allowed)
    if bad:
        raise StatusListFormatError(
            f"{part}.codes[{codes.index(bad[0])}]: 0x{bad[0]:02x} is not a status code (with an SMX Art.19 "
            "reason exactly for SUSPENDED)")
    if not all(map(operator.lt, keys, islice(keys, 1, None))):
        raise StatusListFormatError(f"{part}.keys: not strictly increasing (canonical form)")


def keys_le(keys: array[int]) -> bytes:
    """The keys as little-endian bytes, whatever the host's byte order."""
    if sys.byteorder == "little":
        return keys.tobytes()
    swapped = array("Q", keys)
    swapped.byteswap()
    return swapped.tobytes()


def keys_from_le(raw: bytes) -> array[int]:
    keys = array("Q")
    keys.frombytes(raw)
    if sys.byteorder != "little":
        keys.byteswap()
    return keys


@dataclass(frozen=True, slots=True, eq=False)
class StatusIndex:
    """A whole status list, or (`base_sequence` set) the changes from one list to another."""

    issuer: str
    sequence: int
    issued_at: dt.datetime
    next_update: dt.datetime
    keys: array[int]
    codes: bytes
    _digest: list[bytes] = field(default_factory=list, repr=False)  # computed once, on first use

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_rows(cls, issuer: str, sequence: int, issued_at: dt.datetime, next_update: dt.datetime,
                  rows: Iterable[tuple[str, ListStatus, SuspensionReason | None]]) -> StatusIndex:
        """From (card number, status, reason) rows in any order; ACTIVE rows are skipped."""
        pairs = sorted((card_key(number), encode_code(status, reason))
                       for number, status, reason in rows if status is not ListStatus.ACTIVE)
        keys = array("Q", [k for k, _ in pairs])
        codes = bytes(c for _, c in pairs)
        # Through the model's checks once (issuer, times, sequence), without materialising entries.
        shell = StatusList(issuer, sequence, issued_at, next_update, ())
        index = cls(shell.issuer, shell.sequence, shell.issued_at, shell.next_update, keys, codes)
        check_arrays(keys, codes, LISTED_CODES, "entries")
        return index

    @classmethod
    def from_list(cls, status_list: StatusList) -> StatusIndex:
        return cls.from_rows(status_list.issuer, status_list.sequence, status_list.issued_at,
                             status_list.next_update, ((e.card_number, e.status, e.reason)
                                                       for e in status_list.entries))

    def get(self, card_number: str) -> tuple[ListStatus, SuspensionReason | None] | None:
        """The listed status of a card, None if the card is not listed (active as far as the list knows)."""
        key = card_key(card_number)
        keys = self.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return decode_code(self.codes[i])
        return None

    def entries(self) -> Iterator[StatusEntry]:
        for key, code in zip(self.keys, self.codes, strict=True):
            status, reason = decode_code(code)
            yield StatusEntry(key_card(key), status, reason)

    def to_list(self) -> StatusList:
        return StatusList(self.issuer, self.sequence, self.issued_at, self.next_update, tuple(self.entries()))

    @property
    def digest(self) -> bytes:
        """SHA-256 over issuer, sequence, times, count, keys (little-endian) and codes: what a delta chains to."""
        if not self._digest:
            h = hashlib.sha256(_DIGEST_TAG)
            h.update(self.issuer.encode("ascii"))
            h.update(self.sequence.to_bytes(8, "big"))
            for t in (self.issued_at, self.next_update):
                h.update(int(t.timestamp()).to_bytes(8, "big"))
            h.update(len(self.keys).to_bytes(8, "big"))
            h.update(keys_le(self.keys))
            h.update(self.codes)
            self._digest.append(h.digest())
        return self._digest[0]

    def same_content(self, other: StatusIndex) -> bool:
        return self.keys == other.keys and self.codes == other.codes

    def changes_since(self, older: StatusIndex) -> tuple[array[int], bytes]:
        """The (keys, codes) that turn `older` into this list; code 0 for a card no longer listed."""
        before = dict(zip(older.keys, older.codes, strict=True))
        now = dict(zip(self.keys, self.codes, strict=True))
        changed = {k: c for k, c in now.items() if before.get(k) != c}
        changed.update((k, 0) for k in before.keys() - now.keys())
        ordered = sorted(changed.items())
        return array("Q", [k for k, _ in ordered]), bytes(c for _, c in ordered)

    def merged(self, keys: array[int], codes: bytes, *, issuer: str, sequence: int, issued_at: dt.datetime,
               next_update: dt.datetime) -> StatusIndex:
        """This list with sorted changes applied: slices of the old arrays between the changed keys."""
        old_keys, old_codes = self.keys, self.codes
        out_keys = array("Q")
        out_codes = bytearray()
        pos = 0
        n = len(old_keys)
        for key, code in zip(keys, codes, strict=True):
            i = bisect_left(old_keys, key, pos)
            out_keys.extend(old_keys[pos:i])
            out_codes += old_codes[pos:i]
            if i < n and old_keys[i] == key:
                i += 1
            if code:
                out_keys.append(key)
                out_codes.append(code)
            pos = i
        out_keys.extend(old_keys[pos:])
        out_codes += old_codes[pos:]
        return StatusIndex(issuer, sequence, issued_at, next_update, out_keys, bytes(out_codes))
