"""The former status list payload (kind 2), still read for one release; the wire format now is
`cardsvc.status_list.compact` (kind 3), which signs and opens both.

Payload, a CBOR map with small integer keys:

    0  kind         uint (=2)     never accepted as a QR code payload (kind 1), nor the reverse
    1  issuer       tstr (6)      GB/T 2260 code of the publishing registry
    2  sequence     uint          strictly increasing
    3  issued_at    uint          seconds since 1970-01-01T00:00Z
    4  next_update  uint          seconds since 1970-01-01T00:00Z
    5  entries      array of [card_number tstr, status uint, reason uint / null], sorted by card number

One `StatusEntry` per card: 1.9 MB of CBOR and 0.9 s to decode at 100,000 entries (issue 15), hence kind 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import cbor2
from cryptography import x509

from cardsvc.security.pki import authority_code
from cardsvc.status_list.errors import StatusListFormatError, StatusListIssuerError
from cardsvc.status_list.model import (
    REASON_CODES,
    REASONS_BY_CODE,
    ListStatus,
    StatusEntry,
    StatusList,
    check_region_code,
    region_prefix,
)

KIND_STATUS_LIST = 2
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
_KEYS = frozenset(range(6))


def encode_payload(status_list: StatusList) -> bytes:
    entries = [[e.card_number, int(e.status), REASON_CODES[e.reason] if e.reason else None]
               for e in status_list.entries]
    return cbor2.dumps({
        0: KIND_STATUS_LIST,
        1: status_list.issuer,
        2: status_list.sequence,
        3: int(status_list.issued_at.timestamp()),
        4: int(status_list.next_update.timestamp()),
        5: entries,
    }, canonical=True)


def check_signer_region(cert: x509.Certificate, issuer: str) -> None:
    code = authority_code(cert)
    if not code.startswith(region_prefix(issuer)):
        raise StatusListIssuerError(f"signer belongs to authority {code}, outside the issuer region {issuer}")


def decode_payload(value: Any) -> StatusList:
    if not isinstance(value, Mapping):
        raise StatusListFormatError("status list payload: must be a CBOR map")
    keys = set(value)
    if keys != _KEYS:
        raise StatusListFormatError(
            f"status list payload: missing keys {sorted(_KEYS - keys)}, unknown keys {sorted(keys - _KEYS, key=repr)}")
    if value[0] != KIND_STATUS_LIST:
        raise StatusListFormatError(f"status list key 0 (kind): {value[0]!r} is not a status list")
    issuer = check_region_code(value[1], "issuer")
    sequence = uint(value[2], "sequence")
    issued_at = time(value[3], "issued_at")
    next_update = time(value[4], "next_update")
    raw_entries = value[5]
    if not isinstance(raw_entries, Sequence) or isinstance(raw_entries, str | bytes):
        raise StatusListFormatError("entries: must be an array")
    entries = [_entry(i, item) for i, item in enumerate(raw_entries)]
    numbers = [e.card_number for e in entries]
    if numbers != sorted(numbers):
        raise StatusListFormatError("entries: not sorted by card number (canonical form)")
    return StatusList(issuer, sequence, issued_at, next_update, tuple(entries))


def _entry(index: int, item: Any) -> StatusEntry:
    field = f"entries[{index}]"
    if not isinstance(item, Sequence) or isinstance(item, str | bytes) or len(item) != 3:
        raise StatusListFormatError(f"{field}: must be [card_number, status, reason]")
    card_number = item[0]
    if not isinstance(card_number, str):  # the full check runs once, in StatusEntry
        raise StatusListFormatError(f"{field}.card_number: must be a text string")
    code = uint(item[1], f"{field}.status")
    try:
        status = ListStatus(code)
    except ValueError:
        raise StatusListFormatError(f"{field}.status: unknown status code {code}") from None
    reason = None
    if item[2] is not None:
        reason_code = uint(item[2], f"{field}.reason")
        if reason_code not in REASONS_BY_CODE:
            raise StatusListFormatError(f"{field}.reason: {reason_code} is not an SMX Art.19 clause (1-6)")
        reason = REASONS_BY_CODE[reason_code]
    try:
        return StatusEntry(card_number, status, reason)
    except StatusListFormatError as exc:
        raise StatusListFormatError(f"{field}: {exc}") from exc


def uint(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StatusListFormatError(f"{field}: must be an unsigned integer")
    return value


def time(value: object, field: str) -> dt.datetime:
    seconds = uint(value, field)
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise StatusListFormatError(f"{field}: {seconds} is not a representable time") from None
