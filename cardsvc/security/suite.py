"""The crypto suite: one interface for everything that signs, hashes or encrypts, two implementations.

A layout names its suite (`[layout] suite = "gm" | "intl"`):

| suite | signature                              | hash              | block cipher (CMAC, KDF, SM) |
|-------|----------------------------------------|-------------------|------------------------------|
| gm    | SM2 with SM3, GB/T 32918.2 + GB/T 35276 | SM3, GB/T 32905   | SM4, GB/T 32907              |
| intl  | ECDSA P-256 with SHA-256, FIPS 186-4    | SHA-256, FIPS 180 | AES, FIPS 197                |

Keys are `PrivateKey` / `PublicKey` objects whose suite is fixed by their curve; a public key is loaded
from its SubjectPublicKeyInfo (RFC 5480; GM/T 0015 for SM2: id-ecPublicKey + namedCurve sm2p256v1), so a
verifier needs no suite argument: the key says what it is. Signatures are DER `SEQUENCE {r, s}` (X.509,
CMS); `raw_signature` / `der_signature` convert at the boundary where a card or a record wants r || s.
Every failed verification raises `cryptography.exceptions.InvalidSignature`, whichever suite.
The SM2 primitive library sits behind `cardsvc.security.sm2` alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.security import oids, sm2
from cardsvc.security.kdf import SymmetricCipher
from cardsvc.security.signature import (
    COORDINATE,
    RAW_SIGNATURE_LENGTH,
    SuiteName,
    der_signature,
    raw_signature,
)

__all__ = ["COORDINATE", "GM", "INTL", "RAW_SIGNATURE_LENGTH", "PrivateKey", "PublicKey", "Suite", "SuiteName",
           "common_suite", "der_signature", "layout_suite", "load_private_key", "load_public_key", "raw_signature"]


class PublicKey(Protocol):
    @property
    def suite(self) -> SuiteName: ...

    def verify(self, data: bytes, signature: bytes) -> None:
        """Raise InvalidSignature unless `signature` (DER) signs `data` under this key."""
        ...

    def spki(self) -> bytes:
        """DER SubjectPublicKeyInfo."""
        ...

    def point(self) -> bytes:
        """Uncompressed point 04 || X || Y (SEC 1 §2.3.3), 65 bytes."""
        ...


class PrivateKey(Protocol):
    @property
    def suite(self) -> SuiteName: ...

    def sign(self, data: bytes) -> bytes:
        """DER signature over `data` (the suite's hash is applied inside)."""
        ...

    def public_key(self) -> PublicKey: ...

    def pkcs8(self) -> bytes:
        """Unencrypted DER PKCS#8 (RFC 5208); the key store encrypts it."""
        ...


def as_private_key(key: PrivateKey | ec.EllipticCurvePrivateKey) -> PrivateKey:
    """A suite key; a bare `cryptography` P-256 key is the intl suite's (ValueError for other curves)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"curve {key.curve.name}: the suites use P-256 or SM2")
        return EcdsaPrivateKey(key)
    return key


def as_public_key(key: PublicKey | ec.EllipticCurvePublicKey) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"curve {key.curve.name}: the suites use P-256 or SM2")
        return EcdsaPublicKey(key)
    return key


def key_identifier(key: PublicKey) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (the point)."""
    return hashlib.sha1(key.point(), usedforsecurity=False).digest()


# --- international: ECDSA P-256 / SHA-256 / AES through `cryptography` ----------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class EcdsaPublicKey:
    key: ec.EllipticCurvePublicKey
    suite: SuiteName = SuiteName.INTL

    def verify(self, data: bytes, signature: bytes) -> None:
        self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))

    def spki(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def point(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EcdsaPublicKey) and self.point() == other.point()

    def __hash__(self) -> int:
        return hash(self.point())


@dataclass(frozen=True, slots=True, eq=False)
class EcdsaPrivateKey:
    key: ec.EllipticCurvePrivateKey
    suite: SuiteName = SuiteName.INTL

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def public_key(self) -> EcdsaPublicKey:
        return EcdsaPublicKey(self.key.public_key())

    def pkcs8(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


# --- the suite object ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Suite:
    """What a layout's suite decides; `distid` is the SM2 signer ID (GB/T 35276 default) for gm keys."""

    name: SuiteName
    distid: bytes = b""

    @property
    def cipher(self) -> SymmetricCipher:
        return SymmetricCipher.SM4 if self.name is SuiteName.GM else SymmetricCipher.AES

    @property
    def signature_oid(self) -> str:
        return oids.signature_oid(self.name)

    @property
    def digest_oid(self) -> str:
        return oids.SM3 if self.name is SuiteName.GM else oids.SHA256

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        return hashes.SM3() if self.name is SuiteName.GM else hashes.SHA256()

    def hash(self, data: bytes) -> bytes:
        digest = hashes.Hash(self.hash_algorithm())
        digest.update(data)
        return digest.finalize()

    def generate_key(self) -> PrivateKey:
        if self.name is SuiteName.GM:
            return sm2.Sm2PrivateKey.generate(self.distid or sm2.DEFAULT_DISTID)
        return EcdsaPrivateKey(ec.generate_private_key(ec.SECP256R1()))


GM = Suite(SuiteName.GM, b"1234567812345678")  # GB/T 35276 §5.4 default distinguishing ID
INTL = Suite(SuiteName.INTL)


def suite(name: str, distid: bytes | None = None) -> Suite:
    """The suite a layout names; `distid` overrides the GM default signer ID."""
    try:
        which = SuiteName(name)
    except ValueError:
        raise ValueError(f"suite: {name!r} is not one of {[s.value for s in SuiteName]}") from None
    if which is SuiteName.INTL:
        return INTL
    return GM if distid is None else Suite(SuiteName.GM, distid)


class _LayoutLike(Protocol):  # cardsvc.layout.schema.Layout; not imported, the layout package needs none of this
    @property
    def layout(self) -> _LayoutInfoLike: ...


class _LayoutInfoLike(Protocol):
    @property
    def suite(self) -> str: ...


def layout_suite(layout: _LayoutLike) -> Suite:
    """The suite a layout declares (`[layout] suite`)."""
    return suite(layout.layout.suite)


def common_suite(layouts: Iterable[_LayoutLike]) -> Suite:
    """The one suite a key ceremony for these layouts uses (one root per suite: they must agree)."""
    names = {layout.layout.suite for layout in layouts}
    if len(names) != 1:
        raise ValueError(f"layouts: suites {sorted(names)} differ; run one key ceremony per suite")
    return suite(names.pop())


def load_public_key(spki_der: bytes, distid: bytes | None = None) -> PublicKey:
    """A public key from DER SubjectPublicKeyInfo: P-256 → intl, sm2p256v1 → gm; anything else ValueError."""
    if sm2.is_sm2_spki(spki_der):
        return sm2.Sm2PublicKey.from_spki(spki_der, distid or sm2.DEFAULT_DISTID)
    try:
        key = serialization.load_der_public_key(spki_der)
    except Exception as exc:  # cryptography raises ValueError or UnsupportedAlgorithm
        raise ValueError(f"public key: not a supported SubjectPublicKeyInfo ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("public key: neither a P-256 nor an SM2 key")
    return EcdsaPublicKey(key)


def load_private_key(pkcs8_der: bytes, distid: bytes | None = None) -> PrivateKey:
    """A private key from unencrypted DER PKCS#8: P-256 → intl, sm2p256v1 → gm."""
    if sm2.is_sm2_pkcs8(pkcs8_der):
        return sm2.Sm2PrivateKey.from_pkcs8(pkcs8_der, distid or sm2.DEFAULT_DISTID)
    key = serialization.load_der_private_key(pkcs8_der, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("private key: neither a P-256 nor an SM2 key")
    return EcdsaPrivateKey(key)


def public_key_from_point(point: bytes, name: SuiteName, distid: bytes | None = None) -> PublicKey:
    """A card's GENERATE ASYMMETRIC KEY PAIR answer (uncompressed point) on the suite's curve."""
    if len(point) != 1 + 2 * COORDINATE or point[0] != 0x04:
        raise ValueError(f"public point: {len(point)} bytes, expected 65 starting 04 (uncompressed)")
    if name is SuiteName.GM:
        return sm2.Sm2PublicKey.from_point(point, distid or sm2.DEFAULT_DISTID)
    return EcdsaPublicKey(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))
