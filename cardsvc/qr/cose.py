"""COSE_Sign1 (RFC 9052 §4.2), shared by the QR code and the status list, in the layout suite's algorithm.

intl: ES256 (RFC 9053 §2.1). gm: COSE has no registered SM2 algorithm, so SM2-with-SM3 (GB/T 32918.2,
signer ID 1234567812345678) goes under ALG_SM2_SM3 = -65537, a value from the registry's private-use range
(integers below -65536, RFC 9052 §16.4 / IANA "COSE Algorithms"): both ends of a QR code or status list
are ours, and the signature layout is ES256's (r || s, 32 bytes each), so only the number differs. The
alg must match the signer certificate's key suite, so an SM2 key never verifies an ES256 claim or back.
cbor2 does all CBOR encoding and the crypto suite every signature; this module only arranges the RFC's
structures.
Why not pycose: its last release is from 2023 and it pulls in the pure-Python `ecdsa` package next to
`cryptography`; one structure and one algorithm do not justify that.

Both header parameters we use (alg, kid) go into the protected header so the signature covers the key
identifier as well (a kid swapped in transit fails the signature, not just the lookup).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.security.errors import SecurityError, SignatureInvalidError, SignedFormatError
from cardsvc.security.suite import (
    PrivateKey,
    PublicKey,
    SuiteName,
    as_private_key,
    as_public_key,
    der_signature,
    raw_signature,
)

log = logging.getLogger(__name__)

COSE_SIGN1_TAG = 18  # RFC 9052 §4.2
HEADER_ALG = 1  # RFC 9052 §3.1 common header parameters
HEADER_KID = 4
ALG_ES256 = -7  # RFC 9053 §2.1: ECDSA w/ SHA-256 on P-256
ALG_SM2_SM3 = -65537  # private use (< -65536): SM2-with-SM3 on sm2p256v1, see the module docstring
ALGORITHMS = {SuiteName.INTL: ALG_ES256, SuiteName.GM: ALG_SM2_SM3}
_ES256_COORD = 32  # bytes per r and s on P-256 and on sm2p256v1
MAX_COSE_BYTES = 16 * 1024 * 1024  # a status list of a whole city stays far below this


class CoseError(SecurityError):
    """Root of COSE_Sign1 failures."""


class CoseFormatError(CoseError, SignedFormatError):
    """The bytes are not a well-formed COSE_Sign1 of the kind we accept (names the part and reason)."""


class CoseSignatureError(CoseError, SignatureInvalidError):
    """The signature does not verify under the given public key (data altered or another signer)."""


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1; `protected` keeps the exact bytes as received, since they are signed."""

    protected: bytes
    alg: int
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self, external_aad: bytes = b"") -> bytes:
        return _sig_structure(self.protected, external_aad, self.payload)


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload]
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def sign1(payload: bytes, key: PrivateKey | ec.EllipticCurvePrivateKey, kid: bytes,
          external_aad: bytes = b"") -> bytes:
    """Tagged COSE_Sign1 over `payload` in the key's suite, with alg and kid in the protected header."""
    try:
        signer = as_private_key(key)
    except ValueError as exc:
        raise CoseError(f"key: ES256 needs a P-256 key or SM2 an SM2 key ({exc})") from None
    if not kid:
        raise CoseError("kid: must not be empty")
    protected = cbor2.dumps({HEADER_ALG: ALGORITHMS[signer.suite], HEADER_KID: kid}, canonical=True)
    # RFC 9053 §2.1: the signature is r || s, each left-padded to the curve size, not DER (SM2 likewise).
    signature = raw_signature(signer.sign(_sig_structure(protected, external_aad, payload)))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def strict_loads(data: bytes, what: str) -> Any:
    """Decode exactly one CBOR item: no trailing bytes, no duplicate map keys, no indefinite lengths."""
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(stream, allow_indefinite=False, allow_duplicate_keys=False, max_depth=16)
        value = decoder.decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CoseFormatError(f"{what}: not valid CBOR ({exc})") from exc
    if stream.tell() != len(data):
        raise CoseFormatError(f"{what}: {len(data) - stream.tell()} trailing byte(s) after the CBOR item")
    return value


def parse_sign1(data: bytes) -> Sign1:
    """Parse a COSE_Sign1 (tag 18 optional, as RFC 9052 §4.2 allows untagged in a known context)."""
    if len(data) > MAX_COSE_BYTES:
        raise CoseFormatError(f"COSE_Sign1: {len(data)} bytes exceeds the {MAX_COSE_BYTES}-byte limit")
    obj = strict_loads(data, "COSE_Sign1")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise CoseFormatError(f"COSE_Sign1: CBOR tag {obj.tag}, expected {COSE_SIGN1_TAG}")
        obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise CoseFormatError("COSE_Sign1: must be an array of 4 items")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not protected:
        raise CoseFormatError("COSE_Sign1 protected header: must be a non-empty byte string")
    if not isinstance(unprotected, Mapping):
        raise CoseFormatError("COSE_Sign1 unprotected header: must be a map")
    if not isinstance(payload, bytes):
        raise CoseFormatError("COSE_Sign1 payload: must be an attached byte string")
    if not isinstance(signature, bytes) or len(signature) != 2 * _ES256_COORD:
        raise CoseFormatError(f"COSE_Sign1 signature: must be {2 * _ES256_COORD} bytes (ES256 r||s)")
    headers = strict_loads(protected, "COSE_Sign1 protected header")
    if not isinstance(headers, Mapping):
        raise CoseFormatError("COSE_Sign1 protected header: must encode a map")
    overlap = set(headers) & set(unprotected)
    if overlap:  # RFC 9052 §3: a label must not occur in both buckets
        raise CoseFormatError(f"COSE_Sign1 headers: label(s) {sorted(overlap)} in both protected and unprotected")
    alg = headers.get(HEADER_ALG)
    if not isinstance(alg, int) or alg not in ALGORITHMS.values():
        raise CoseFormatError(f"COSE_Sign1 protected header alg: {alg!r} is not ES256 ({ALG_ES256})"
                              f" or SM2-with-SM3 ({ALG_SM2_SM3})")
    kid = headers.get(HEADER_KID)
    if not isinstance(kid, bytes) or not kid:
        raise CoseFormatError("COSE_Sign1 protected header kid: must be a non-empty byte string")
    return Sign1(protected, alg, kid, payload, signature)


def verify_sign1(message: Sign1, public_key: PublicKey | ec.EllipticCurvePublicKey,
                 external_aad: bytes = b"") -> None:
    """Raise `CoseSignatureError` unless `message` verifies under `public_key` with the key suite's alg."""
    try:
        key = as_public_key(public_key)
    except ValueError as exc:
        raise CoseSignatureError(f"signer key: ES256 needs P-256 ({exc})") from None
    if message.alg != ALGORITHMS[key.suite]:
        raise CoseSignatureError(f"COSE_Sign1 alg {message.alg} does not match the signer's {key.suite} key")
    try:
        key.verify(message.to_be_signed(external_aad), der_signature(message.signature))
    except InvalidSignature as exc:
        raise CoseSignatureError("COSE_Sign1 signature does not verify (data altered or signed by another key)") \
            from exc
