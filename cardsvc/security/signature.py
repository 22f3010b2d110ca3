"""What both suites' signatures share: the suite names, the 256-bit sizes, and the two signature forms.

X.509 and CMS carry DER `SEQUENCE {r, s}`; cards, endorsement records and COSE carry plain r || s
(BSI TR-03111 §5.2.1, RFC 9053 §2.1). Conversion happens at those boundaries only.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

COORDINATE = 32  # both curves are 256-bit: r, s, x and y are 32 bytes each
RAW_SIGNATURE_LENGTH = 2 * COORDINATE


class SuiteName(enum.StrEnum):
    GM = "gm"
    INTL = "intl"


def raw_signature(der: bytes) -> bytes:
    """DER SEQUENCE {r, s} → r || s (64 bytes), as cards and endorsement records carry it."""
    r, s = decode_dss_signature(der)
    if r.bit_length() > 8 * COORDINATE or s.bit_length() > 8 * COORDINATE:
        raise ValueError("signature: r or s is longer than 256 bits")
    return r.to_bytes(COORDINATE, "big") + s.to_bytes(COORDINATE, "big")


def der_signature(raw: bytes) -> bytes:
    """r || s (64 bytes) → DER SEQUENCE {r, s}."""
    if len(raw) != RAW_SIGNATURE_LENGTH:
        raise ValueError(f"signature: {len(raw)} bytes, expected r || s of {RAW_SIGNATURE_LENGTH}")
    return encode_dss_signature(int.from_bytes(raw[:COORDINATE], "big"), int.from_bytes(raw[COORDINATE:], "big"))
