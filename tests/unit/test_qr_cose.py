"""COSE_Sign1 ES256 (RFC 9052/9053): structure checked against a hand-assembled Sig_structure."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cardsvc.qr.cose import (
    ALG_ES256,
    CoseError,
    CoseFormatError,
    CoseSignatureError,
    parse_sign1,
    sign1,
    verify_sign1,
)

KID = bytes(range(20))


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_structure_and_independent_signature_check(key: ec.EllipticCurvePrivateKey) -> None:
    payload = b"\xa1\x01\x02"
    data = sign1(payload, key, KID)
    assert data[0] == 0xD2  # tag 18, RFC 9052 §4.2
    msg = parse_sign1(data)
    assert (msg.alg, msg.kid, msg.payload) == (ALG_ES256, KID, payload)
    # Protected header {1: -7, 4: h'00..13'} in deterministic order (RFC 8949 §4.2.1).
    assert msg.protected == bytes([0xA2, 0x01, 0x26, 0x04, 0x54]) + KID
    # Sig_structure assembled by hand from RFC 8949 major types: array(4), text(10), bstr, bstr(0), bstr.
    tbs = (bytes([0x84, 0x6A]) + b"Signature1" + bytes([0x58, len(msg.protected)]) + msg.protected
           + bytes([0x40, 0x43]) + payload)
    assert msg.to_be_signed() == tbs
    r, s = int.from_bytes(msg.signature[:32], "big"), int.from_bytes(msg.signature[32:], "big")
    key.public_key().verify(encode_dss_signature(r, s), tbs, ec.ECDSA(hashes.SHA256()))
    verify_sign1(msg, key.public_key())


def test_wrong_key_and_external_aad(key: ec.EllipticCurvePrivateKey) -> None:
    msg = parse_sign1(sign1(b"x", key, KID))
    with pytest.raises(CoseSignatureError):
        verify_sign1(msg, ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(CoseSignatureError):
        verify_sign1(msg, key.public_key(), external_aad=b"other context")


def test_untagged_accepted_and_other_tag_rejected(key: ec.EllipticCurvePrivateKey) -> None:
    tagged = cbor2.loads(sign1(b"x", key, KID))
    untagged = cbor2.dumps(list(tagged.value))
    verify_sign1(parse_sign1(untagged), key.public_key())
    with pytest.raises(CoseFormatError, match="tag 98"):
        parse_sign1(cbor2.dumps(cbor2.CBORTag(98, list(tagged.value))))


def _with(parts_change: dict[int, object], key: ec.EllipticCurvePrivateKey) -> bytes:
    parts = list(cbor2.loads(sign1(b"x", key, KID)).value)
    for index, value in parts_change.items():
        parts[index] = value
    return cbor2.dumps(cbor2.CBORTag(18, parts))


@pytest.mark.parametrize(("change", "reason"), [
    ({0: cbor2.dumps({1: -35, 4: KID})}, "not ES256"),
    ({0: cbor2.dumps({1: -7})}, "kid"),
    ({0: b""}, "protected header"),
    ({0: cbor2.dumps([1])}, "must encode a map"),
    ({1: {4: KID}}, "both protected and unprotected"),
    ({1: []}, "unprotected header"),
    ({2: None}, "payload"),
    ({3: b"\x00" * 63}, "64 bytes"),
])
def test_malformed_parts_named(change: dict[int, object], reason: str, key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(CoseFormatError, match=reason):
        parse_sign1(_with(change, key))


def test_duplicate_keys_and_indefinite_lengths_rejected(key: ec.EllipticCurvePrivateKey) -> None:
    signature = bytes([0x58, 0x40]) + bytes(64)
    # Protected header {1: -7, 1: -7}: a duplicate label.
    with pytest.raises(CoseFormatError, match="protected header: not valid CBOR"):
        parse_sign1(bytes([0xD2, 0x84, 0x45, 0xA2, 0x01, 0x26, 0x01, 0x26, 0xA0, 0x40]) + signature)
    # Indefinite-length array (0x9F ... 0xFF).
    with pytest.raises(CoseFormatError, match="COSE_Sign1: not valid CBOR"):
        parse_sign1(bytes([0xD2, 0x9F, 0x43, 0xA1, 0x01, 0x26, 0xA0, 0x40]) + signature + b"\xff")


def test_only_p256_keys(key: ec.EllipticCurvePrivateKey) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(CoseError, match="P-256"):
        sign1(b"x", p384, KID)
    with pytest.raises(CoseSignatureError, match="P-256"):
        verify_sign1(parse_sign1(sign1(b"x", key, KID)), p384.public_key())
