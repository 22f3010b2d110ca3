"""The crypto suite: one interface for everything that signs, hashes or encrypts, two implementations.

A layout names its suite (`[layout] suite = "gm" | "intl"`):

| suite | signature                              | hash              | block cipher (CMAC, KDF, SM) |
|-------|----------------------------------------|-------------------|------------------------------|
| gm    | SM2 with SM3, GB/T 32918.2 + GB/T 35276 | SM3, GB/T 32905   | SM4, GB/T 32907              |
| intl  | ECDSA P-256 with SHA-256, FIPS 186-4    | SHA-256, FIPS 180 | AES, FIPS 197                |

Keys are `PrivateKey` / `PublicKey` objects whose suite is fixed by their curve; a public key is loaded
through its suite's `load_public_key` from its SubjectPublicKeyInfo (RFC 5480; GM/T 0015 for SM2:
id-ecPublicKey + namedCurve sm2p256v1): the key says its curve, the suite (from the layout) gives an SM2
key its signer ID, so no path loads an SM2 key with a default ID behind the layout's back. Signatures are
DER `SEQUENCE {r, s}` (X.509, CMS); `raw_signature` / `der_signature` convert at the boundary where a card
or a record wants r || s.
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
           "common_suite", "der_signature", "layout_suite", "raw_signature", "spki_suite"]


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
    """What a layout's suite decides. `distid` is the SM2 signer's distinguishing ID (GB/T 32918.2 §5.5
    ID_A, hashed into Z before every message), the layout's `sm2_distid`: every SM2 key of the layout's PKI
    and chip is made and loaded through this object, so signers and verifiers use the same ID. The intl
    suite has none (it keeps the GB/T 35276 default, unused)."""

    name: SuiteName
    distid: bytes = sm2.DEFAULT_DISTID

    def __post_init__(self) -> None:
        if self.name is SuiteName.INTL and self.distid != sm2.DEFAULT_DISTID:
            raise ValueError("distid: only the gm suite has an SM2 signer ID")
        if not 0 < len(self.distid) <= MAX_DISTID_BYTES:
            raise ValueError(f"distid: {len(self.distid)} bytes, must be 1..{MAX_DISTID_BYTES}")

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
            return sm2.Sm2PrivateKey.generate(self.distid)
        return EcdsaPrivateKey(ec.generate_private_key(ec.SECP256R1()))

    def load_public_key(self, spki_der: bytes) -> PublicKey:
        """A public key from DER SubjectPublicKeyInfo: P-256 → intl, sm2p256v1 → gm with this suite's signer
        ID; anything else ValueError. The key says its curve; the suite gives an SM2 key its ID."""
        if sm2.is_sm2_spki(spki_der):
            return sm2.Sm2PublicKey.from_spki(spki_der, self.distid)
        try:
            key = serialization.load_der_public_key(spki_der)
        except Exception as exc:  # cryptography raises ValueError or UnsupportedAlgorithm
            raise ValueError(f"public key: not a supported SubjectPublicKeyInfo ({type(exc).__name__})") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("public key: neither a P-256 nor an SM2 key")
        return EcdsaPublicKey(key)

    def load_private_key(self, pkcs8_der: bytes) -> PrivateKey:
        """A private key from unencrypted DER PKCS#8: P-256 → intl, sm2p256v1 → gm with this suite's ID."""
        if sm2.is_sm2_pkcs8(pkcs8_der):
            return sm2.Sm2PrivateKey.from_pkcs8(pkcs8_der, self.distid)
        key = serialization.load_der_private_key(pkcs8_der, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("private key: neither a P-256 nor an SM2 key")
        return EcdsaPrivateKey(key)

    def public_key_from_point(self, point: bytes) -> PublicKey:
        """A card's GENERATE ASYMMETRIC KEY PAIR answer (uncompressed point) on this suite's curve."""
        if len(point) != 1 + 2 * COORDINATE or point[0] != 0x04:
            raise ValueError(f"public point: {len(point)} bytes, expected 65 starting 04 (uncompressed)")
        if self.name is SuiteName.GM:
            return sm2.Sm2PublicKey.from_point(point, self.distid)
        return EcdsaPublicKey(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))


# GB/T 32918.2 §5.5: ENTL_A is the ID's length in bits in two bytes (so ≤ 8191 bytes, sm2._MAX_DISTID); a
# layout takes 1..8191 bits, i.e. 1..1023 whole bytes (the layout schema's limit), which also keeps the ID
# well inside one APDU to the card.
MAX_DISTID_BYTES = 1023
GM = Suite(SuiteName.GM)  # GB/T 35276 §5.4 default distinguishing ID 1234567812345678
INTL = Suite(SuiteName.INTL)


def suite(name: str, distid: bytes | None = None) -> Suite:
    """The suite a layout names; `distid` is its SM2 signer ID (None: the GB/T 35276 default)."""
    try:
        which = SuiteName(name)
    except ValueError:
        raise ValueError(f"suite: {name!r} is not one of {[s.value for s in SuiteName]}") from None
    if which is SuiteName.INTL:
        if distid is not None:
            raise ValueError("sm2_distid: only a suite = \"gm\" layout names an SM2 signer ID")
        return INTL
    return GM if distid is None else Suite(SuiteName.GM, distid)


class LayoutLike(Protocol):  # cardsvc.layout.schema.Layout; not imported, the layout package needs none of this
    @property
    def layout(self) -> _LayoutInfoLike: ...


class _LayoutInfoLike(Protocol):
    @property
    def suite(self) -> str: ...

    @property
    def sm2_distid(self) -> str | None: ...


def layout_suite(layout: LayoutLike) -> Suite:
    """The suite a layout declares (`[layout] suite` and, for gm, `sm2_distid`)."""
    info = layout.layout
    return suite(info.suite, None if info.sm2_distid is None else info.sm2_distid.encode("utf-8"))


def common_suite(layouts: Iterable[LayoutLike]) -> Suite:
    """The one suite a key ceremony for these layouts uses (one root per suite and signer ID: they must
    agree)."""
    found = {layout_suite(layout) for layout in layouts}
    if len(found) != 1:
        named = sorted(f"{s.name.value} (SM2 ID {s.distid!r})" if s.name is SuiteName.GM else s.name.value
                       for s in found)
        raise ValueError(f"layouts: suites {named} differ; run one key ceremony per suite and SM2 signer ID")
    return found.pop()


def spki_suite(spki_der: bytes) -> SuiteName:
    """Which suite's curve a SubjectPublicKeyInfo is on (no key is built: the signer ID does not matter)."""
    return SuiteName.GM if sm2.is_sm2_spki(spki_der) else SuiteName.INTL
