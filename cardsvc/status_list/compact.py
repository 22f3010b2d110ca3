"""Wire format of the status list (kind 3) and of its deltas (kind 4): COSE_Sign1 over a CBOR map.

Chosen by measurement at 1,000,000 cards / 100,000 listed (`python -m bench scale`, bench/PROFILE.md):
sorted 64-bit card keys (`cardsvc.status_list.index`) split into byte planes (all lowest bytes, then all
second bytes, …) so the near-constant high planes compress to almost nothing, then zlib (RFC 1950); one code
byte per key, zlib. The counter decodes with `zlib` and slice assignment (C speed) into an `array` it bisects.

    0  kind           uint       3 full list, 4 delta (2 is the former CBOR list, cardsvc.status_list.codec)
    1  issuer         tstr (6)   GB/T 2260 code of the publishing registry
    2  sequence       uint       strictly increasing
    3  issued_at      uint       seconds since 1970-01-01T00:00Z
    4  next_update    uint       seconds since 1970-01-01T00:00Z
    5  count          uint       number of keys (entries, or changes in a delta)
    6  keys           bstr       zlib(byte planes of the keys as little-endian uint64), strictly increasing
    7  codes          bstr       zlib(one code byte per key)
   delta only:
    8  base_sequence  uint       the list the changes apply to
    9  base_digest    bstr (32)  `StatusIndex.digest` of that list
   10  digest         bstr (32)  `StatusIndex.digest` of the list after the changes

Signed through `cardsvc.qr.signed` (the QR code's path, whatever suite the signer's key is), by a signer
of an authority inside the issuer's region.
"""

from __future__ import annotations

import datetime as dt
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.qr.cose import strict_loads
from cardsvc.qr.signed import open_signed, sign_with_certificate
from cardsvc.security.pki import SignerRole, TrustStore, authority_code
from cardsvc.security.suite import PrivateKey
from cardsvc.status_list import codec
from cardsvc.status_list.errors import (
    StatusListChainError,
    StatusListFormatError,
    StatusListGapError,
    StatusListIssuerError,
    StatusListNotYetValidError,
    StatusListRollbackError,
)
from cardsvc.status_list.index import (
    DELTA_CODES,
    LISTED_CODES,
    StatusIndex,
    check_arrays,
    keys_from_le,
    keys_le,
)
from cardsvc.status_list.model import StatusList, check_region_code

KIND_FULL = 3
KIND_DELTA = 4
MAX_ENTRIES = 50_000_000  # bounds decompression: a city of 5 million permits lists far fewer
_FULL_KEYS = frozenset(range(8))
_DELTA_KEYS = frozenset(range(11))


@dataclass(frozen=True, slots=True)
class StatusDelta:
    """The changes from list `base_sequence` to list `changes.sequence` (codes 0: no longer listed)."""

    base_sequence: int
    base_digest: bytes
    digest: bytes
    changes: StatusIndex

    @property
    def sequence(self) -> int:
        return self.changes.sequence

    @classmethod
    def between(cls, older: StatusIndex, newer: StatusIndex) -> StatusDelta:
        if newer.sequence <= older.sequence:
            raise StatusListRollbackError(f"delta: sequence {newer.sequence} is not after {older.sequence}")
        keys, codes = newer.changes_since(older)
        changes = StatusIndex(newer.issuer, newer.sequence, newer.issued_at, newer.next_update, keys, codes)
        return cls(older.sequence, older.digest, newer.digest, changes)

    def apply(self, base: StatusIndex) -> StatusIndex:
        """The list after this delta; refuses a base it does not start from."""
        c = self.changes
        if c.issuer != base.issuer:
            raise StatusListChainError(f"delta: for issuer {c.issuer}, the list held is {base.issuer}'s")
        if self.sequence <= base.sequence:
            raise StatusListRollbackError(f"delta: sequence {self.sequence} is not after the held {base.sequence}")
        if self.base_sequence != base.sequence:
            raise StatusListGapError(f"delta: starts from sequence {self.base_sequence}, the list held is "
                                     f"{base.sequence}; fetch the full list")
        if self.base_digest != base.digest:
            raise StatusListChainError(f"delta: base digest differs from list {base.sequence} held (a fork)")
        result = base.merged(c.keys, c.codes, issuer=c.issuer, sequence=c.sequence, issued_at=c.issued_at,
                             next_update=c.next_update)
        if result.digest != self.digest:
            raise StatusListChainError(f"delta: the list after applying does not match digest of {c.sequence}")
        return result


# --- encoding -----------------------------------------------------------------------------------------
def _pack_keys(keys: array[int]) -> bytes:
    raw = keys_le(keys)
    return zlib.compress(b"".join(raw[i::8] for i in range(8)), 9)


def _unpack_keys(blob: bytes, count: int) -> array[int]:
    planes = _inflate(blob, count * 8, "keys")
    raw = bytearray(count * 8)
    for i in range(8):
        raw[i::8] = planes[i * count:(i + 1) * count]
    return keys_from_le(bytes(raw))


def _inflate(blob: object, size: int, field: str) -> bytes:
    if not isinstance(blob, bytes):
        raise StatusListFormatError(f"{field}: must be a byte string")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(blob, size)
    except zlib.error as exc:
        raise StatusListFormatError(f"{field}: not a zlib stream ({exc})") from None
    if len(data) != size or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise StatusListFormatError(f"{field}: does not hold exactly {size} bytes")
    return data


def _header(index: StatusIndex, kind: int) -> dict[int, Any]:
    return {0: kind, 1: index.issuer, 2: index.sequence, 3: int(index.issued_at.timestamp()),
            4: int(index.next_update.timestamp()), 5: len(index), 6: _pack_keys(index.keys),
            7: zlib.compress(index.codes, 9)}


def encode_full(index: StatusIndex) -> bytes:
    return cbor2.dumps(_header(index, KIND_FULL), canonical=True)


def encode_delta(delta: StatusDelta) -> bytes:
    value = _header(delta.changes, KIND_DELTA)
    value.update({8: delta.base_sequence, 9: delta.base_digest, 10: delta.digest})
    return cbor2.dumps(value, canonical=True)


def _decode_index(value: Mapping[Any, Any], expected: frozenset[int], allowed: bytes, part: str) -> StatusIndex:
    keys = set(value)
    if keys != expected:
        raise StatusListFormatError(
            f"{part} payload: missing keys {sorted(expected - keys)}, unknown keys {sorted(keys - expected, key=repr)}")
    count = codec.uint(value[5], "count")
    if count > MAX_ENTRIES:
        raise StatusListFormatError(f"count: {count} is beyond {MAX_ENTRIES}")
    issued_at, next_update = codec.time(value[3], "issued_at"), codec.time(value[4], "next_update")
    shell = StatusList(check_region_code(value[1], "issuer"), codec.uint(value[2], "sequence"), issued_at,
                       next_update, ())
    card_keys = _unpack_keys(value[6], count)
    codes = _inflate(value[7], count, "codes")
    check_arrays(card_keys, codes, allowed, "changes" if part == "delta" else "entries")
    return StatusIndex(shell.issuer, shell.sequence, shell.issued_at, shell.next_update, card_keys, codes)


def decode_full(value: Any) -> StatusIndex:
    if not isinstance(value, Mapping) or value.get(0) != KIND_FULL:
        raise StatusListFormatError("status list payload: kind (key 0) is not 3, a full status list")
    return _decode_index(value, _FULL_KEYS, LISTED_CODES, "status list")


def decode_delta(value: Any) -> StatusDelta:
    if not isinstance(value, Mapping) or value.get(0) != KIND_DELTA:
        raise StatusListFormatError("status delta payload: kind (key 0) is not 4, a status list delta")
    changes = _decode_index(value, _DELTA_KEYS, DELTA_CODES, "delta")
    base_sequence = codec.uint(value[8], "base_sequence")
    if base_sequence >= changes.sequence:
        raise StatusListFormatError(f"base_sequence: {base_sequence} is not before sequence {changes.sequence}")
    digests = []
    for key, name in ((9, "base_digest"), (10, "digest")):
        if not isinstance(value[key], bytes) or len(value[key]) != 32:
            raise StatusListFormatError(f"{name}: must be 32 bytes (SHA-256)")
        digests.append(value[key])
    return StatusDelta(base_sequence, digests[0], digests[1], changes)


# --- signing and opening ------------------------------------------------------------------------------
Key = PrivateKey | ec.EllipticCurvePrivateKey


def sign_status_list(status_list: StatusList | StatusIndex, key: Key, signer_cert: x509.Certificate) -> bytes:
    """COSE_Sign1 of the full list (kind 3), by a signer of an authority inside the issuer's region."""
    index = status_list if isinstance(status_list, StatusIndex) else StatusIndex.from_list(status_list)
    codec.check_signer_region(signer_cert, index.issuer)
    return sign_with_certificate(encode_full(index), key, signer_cert)


def sign_status_delta(delta: StatusDelta, key: Key, signer_cert: x509.Certificate) -> bytes:
    codec.check_signer_region(signer_cert, delta.changes.issuer)
    return sign_with_certificate(encode_delta(delta), key, signer_cert)


def _open(data: bytes, trust: TrustStore, now: dt.datetime, role: SignerRole) -> tuple[Any, x509.Certificate]:
    if now.tzinfo is None:
        raise StatusListFormatError("now: must be timezone-aware")
    opened = open_signed(data, trust, role, now)
    value = strict_loads(opened.payload, "status list payload")
    if not isinstance(value, Mapping) or 0 not in value:
        raise StatusListFormatError("status list payload: must be a CBOR map with a kind (key 0)")
    return value, opened.signer


def _checked(index: StatusIndex, signer: x509.Certificate, now: dt.datetime,
             signer_authority: str | None) -> StatusIndex:
    codec.check_signer_region(signer, index.issuer)
    if signer_authority is not None and authority_code(signer) != signer_authority:
        raise StatusListIssuerError(f"list signed by authority {authority_code(signer)}, this counter takes "
                                    f"only the signer of {signer_authority}")
    if index.issued_at > now + codec.MAX_CLOCK_SKEW:
        raise StatusListNotYetValidError(f"issued_at {index.issued_at.isoformat()} is after now {now.isoformat()}")
    return index


def open_status_list(data: bytes, trust: TrustStore, now: dt.datetime,
                     role: SignerRole = SignerRole.DOCUMENT, *, signer_authority: str | None = None) -> StatusIndex:
    """Verify signature and signer at `now`, then decode a full list: kind 3, or the former CBOR list
    (kind 2, still read for one release). Freshness is the cache's concern, not this.
    `signer_authority` pins the signer: any other trusted signer, even in the issuer's region, is refused."""
    value, signer = _open(data, trust, now, role)
    if value[0] == codec.KIND_STATUS_LIST:
        return _checked(StatusIndex.from_list(codec.decode_payload(value)), signer, now, signer_authority)
    return _checked(decode_full(value), signer, now, signer_authority)


def verify_status_list(data: bytes, trust: TrustStore, now: dt.datetime,
                       role: SignerRole = SignerRole.DOCUMENT, *, signer_authority: str | None = None) -> StatusList:
    """As `open_status_list`, with every entry as a `StatusEntry` (tools and small lists)."""
    return open_status_list(data, trust, now, role, signer_authority=signer_authority).to_list()


def open_status_delta(data: bytes, trust: TrustStore, now: dt.datetime,
                      role: SignerRole = SignerRole.DOCUMENT, *, signer_authority: str | None = None) -> StatusDelta:
    value, signer = _open(data, trust, now, role)
    delta = decode_delta(value)
    _checked(delta.changes, signer, now, signer_authority)
    return delta
