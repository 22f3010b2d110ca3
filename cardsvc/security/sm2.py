"""SM2 keys of the GM suite (GB/T 32918.2 signatures on the sm2p256v1 curve of GB/T 32918.5).

We compute the signer's Z value (GB/T 32918.2 §5.5) and e = SM3(Z || M) here, with the curve as data, and
hand e to the primitive library's digest signing. Z is where the distinguishing ID enters (default
`1234567812345678`, GB/T 35276 §5.4; a layout may name another, `sm2_distid`): every key here is made
with the ID its caller names (`cardsvc.security.suite.Suite`, built from the layout), never a default,
and the same `z_value` reproduces the standard's Annex A example on its own test curve
(tests/unit/test_security_gm_vectors.py).

Library: gmalglib (C, measured ~7,000 sign/s and ~1,500 verify/s on one core here; see pyproject.toml).
Its default nonce source is not a CSPRNG, so every signing and key generation passes `rnd_fn=os.urandom`.
Keys serialise as SubjectPublicKeyInfo / PKCS#8 with id-ecPublicKey + namedCurve sm2p256v1 (GM/T 0015
§7.2.5; what OpenSSL 3 writes), built with asn1crypto.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from gmalglib.core import SM2 as _Sm2

from cardsvc.security import oids
from cardsvc.security.signature import COORDINATE, SuiteName, der_signature, raw_signature

DEFAULT_DISTID = b"1234567812345678"  # GB/T 35276 §5.4
_MAX_DISTID = 8191  # ENTL is a 16-bit count of bits (GB/T 32918.2 §5.5)
if oids.SM2_CURVE not in asn1_keys.NamedCurve._map:  # asn1crypto needs the key length for PKCS#8
    asn1_keys.NamedCurve.register("sm2p256v1", oids.SM2_CURVE, COORDINATE)


@dataclass(frozen=True, slots=True)
class Curve:
    """Short-Weierstrass curve y² = x³ + ax + b over GF(p) with base point G of order n."""

    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int


# GB/T 32918.5-2017 §2 recommended curve (sm2p256v1).
SM2P256V1 = Curve(
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def z_value(point: bytes, distid: bytes, curve: Curve = SM2P256V1) -> bytes:
    """GB/T 32918.2 §5.5: Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), ENTL = bit length of ID."""
    if len(point) != 1 + 2 * COORDINATE or point[0] != 0x04:
        raise ValueError("SM2 public point: expected 65 bytes 04 || X || Y")
    if not 0 < len(distid) <= _MAX_DISTID:
        raise ValueError(f"SM2 distinguishing ID: {len(distid)} bytes, must be 1..{_MAX_DISTID}")
    field_bytes = b"".join(v.to_bytes(COORDINATE, "big") for v in (curve.a, curve.b, curve.gx, curve.gy))
    return _sm3((8 * len(distid)).to_bytes(2, "big") + distid + field_bytes + point[1:])


def _spki_algorithm() -> asn1_keys.PublicKeyAlgorithm:
    return asn1_keys.PublicKeyAlgorithm({
        "algorithm": "ec", "parameters": asn1_keys.ECDomainParameters("named", oids.SM2_CURVE)})


def _named_sm2(params: asn1_keys.ECDomainParameters) -> bool:
    return bool(params.name == "named" and params.chosen.dotted == oids.SM2_CURVE)


def is_sm2_spki(der: bytes) -> bool:
    try:
        info = asn1_keys.PublicKeyInfo.load(der)
        alg = info["algorithm"]
        return bool(alg["algorithm"].native == "ec" and _named_sm2(alg["parameters"]))
    except (ValueError, TypeError):
        return False


def is_sm2_pkcs8(der: bytes) -> bool:
    try:
        info = asn1_keys.PrivateKeyInfo.load(der)
        alg = info["private_key_algorithm"]
        return bool(alg["algorithm"].native == "ec" and _named_sm2(alg["parameters"]))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True, slots=True, eq=False)
class Sm2PublicKey:
    _point: bytes
    distid: bytes  # the signer's ID (no default here: the layout's Suite always names it)
    suite: SuiteName = SuiteName.GM
    _z: bytes = field(default=b"", repr=False)
    _impl: _Sm2 = field(default=None, repr=False)

    @classmethod
    def from_point(cls, point: bytes, distid: bytes) -> Sm2PublicKey:
        if len(point) != 1 + 2 * COORDINATE or point[0] != 0x04 or not _Sm2.is_pk_valid(point):
            raise ValueError("SM2 public key: not an uncompressed point on sm2p256v1")
        return cls(point, distid, SuiteName.GM, z_value(point, distid), _Sm2(pk=point, uid=distid))

    @classmethod
    def from_spki(cls, der: bytes, distid: bytes) -> Sm2PublicKey:
        info = asn1_keys.PublicKeyInfo.load(der)
        if info.dump() != der or not is_sm2_spki(der):
            raise ValueError("SM2 public key: not a DER SubjectPublicKeyInfo on sm2p256v1")
        return cls.from_point(bytes(info["public_key"]), distid)

    def digest(self, data: bytes) -> bytes:
        """e = SM3(Z || M), GB/T 32918.2 §6.1 A1-A2."""
        return _sm3(self._z + data)

    def verify(self, data: bytes, signature: bytes) -> None:
        try:
            raw = raw_signature(signature)
        except ValueError:
            raise InvalidSignature("SM2 signature is not a DER SEQUENCE {r, s}") from None
        if not self._impl.verify_digest(self.digest(data), raw):
            raise InvalidSignature("SM2 signature does not verify")

    def spki(self) -> bytes:
        return bytes(asn1_keys.PublicKeyInfo({"algorithm": _spki_algorithm(), "public_key": self._point}).dump())

    def point(self) -> bytes:
        return self._point

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sm2PublicKey) and self._point == other._point

    def __hash__(self) -> int:
        return hash(self._point)


@dataclass(frozen=True, slots=True, eq=False)
class Sm2PrivateKey:
    _scalar: bytes = field(repr=False)
    _public: Sm2PublicKey
    suite: SuiteName = SuiteName.GM
    _impl: _Sm2 = field(default=None, repr=False)

    @classmethod
    def from_scalar(cls, scalar: bytes, distid: bytes) -> Sm2PrivateKey:
        if len(scalar) != COORDINATE or not _Sm2.is_sk_valid(scalar):
            raise ValueError("SM2 private key: scalar outside 1..n-2")
        public = Sm2PublicKey.from_point(_Sm2.get_pk(scalar), distid)
        return cls(scalar, public, SuiteName.GM, _Sm2(sk=scalar, uid=distid, rnd_fn=os.urandom))

    @classmethod
    def generate(cls, distid: bytes) -> Sm2PrivateKey:
        scalar, _ = _Sm2(rnd_fn=os.urandom).generate_keypair()
        return cls.from_scalar(scalar, distid)

    @classmethod
    def from_pkcs8(cls, der: bytes, distid: bytes) -> Sm2PrivateKey:
        if not is_sm2_pkcs8(der):
            raise ValueError("SM2 private key: not a PKCS#8 key on sm2p256v1")
        inner = asn1_keys.PrivateKeyInfo.load(der)["private_key"].parsed
        return cls.from_scalar(inner["private_key"].native.to_bytes(COORDINATE, "big"), distid)

    def sign(self, data: bytes) -> bytes:
        return der_signature(self._impl.sign_digest(self._public.digest(data)))

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def scalar(self) -> bytes:
        """The private scalar d (the card applet and tests need it; nothing else should)."""
        return self._scalar

    def pkcs8(self) -> bytes:
        ec_key = asn1_keys.ECPrivateKey({
            "version": "ecPrivkeyVer1", "private_key": int.from_bytes(self._scalar, "big"),
            "public_key": self._public.point()})
        info = asn1_keys.PrivateKeyInfo({
            "version": 0, "private_key_algorithm": asn1_keys.PrivateKeyAlgorithm({
                "algorithm": "ec", "parameters": asn1_keys.ECDomainParameters("named", oids.SM2_CURVE)}),
            "private_key": ec_key})
        return bytes(info.dump())
