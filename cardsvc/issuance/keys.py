"""What a printing station needs from the key store: per-card keys, EF.SOD and endorsement signatures,
the trust store its own verify-after-write checks against.

`StationKeys` wraps a `cardsvc.security.keystore.KeyStore` through the ceremony functions, so every
private key stays behind the store's `sign` and every master key behind its `derive`. Per-card keys are
derived once per card number and role (a batch derives each once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from cryptography import x509

from cardsvc.layout.schema import Layout
from cardsvc.security import ceremony
from cardsvc.security.kdf import key_store_role
from cardsvc.security.keystore import KeyStore
from cardsvc.security.pki import SignerRole, TrustStore
from cardsvc.security.sod import HashAlgorithm


class IssuerKeys(Protocol):
    """The station's keys, behind whatever store holds them."""

    def card_key(self, role: str, card_number: str) -> bytes: ...

    def sign_sod(self, authority_code: str, ef_contents: Mapping[int, bytes]) -> bytes: ...

    def sign_endorsement(self, authority_code: str, card_number: str, record_no: int, body: bytes) -> bytes:
        """The DER EndorsementRecord of cardsvc.security.endorsement."""
        ...

    def endorsement_signer(self, authority_code: str) -> x509.Certificate: ...

    def trust(self) -> TrustStore: ...


class StationKeys:
    """`IssuerKeys` over a key store made by `cardsvc keys init` (cardsvc.security.ceremony names)."""

    def __init__(self, store: KeyStore, hash_algorithm: HashAlgorithm | None = None) -> None:
        """`hash_algorithm` of EF.SOD's EF hashes: by default the document signer's suite's (SM3 / SHA-256)."""
        self.store = store
        self.hash_algorithm = hash_algorithm
        self._trust: TrustStore | None = None
        self._signers: dict[str, x509.Certificate] = {}

    def __repr__(self) -> str:
        return f"StationKeys({self.store!r})"

    def card_key(self, role: str, card_number: str) -> bytes:
        return ceremony.card_key(self.store, role, card_number)

    def sign_sod(self, authority_code: str, ef_contents: Mapping[int, bytes]) -> bytes:
        return ceremony.sign_security_object(self.store, authority_code, ef_contents, self.hash_algorithm)

    def sign_endorsement(self, authority_code: str, card_number: str, record_no: int, body: bytes) -> bytes:
        return ceremony.sign_endorsement_record(self.store, authority_code, card_number, record_no, body)

    def endorsement_signer(self, authority_code: str) -> x509.Certificate:
        name = ceremony.signer_name(SignerRole.ENDORSEMENT, authority_code)
        cert = self._signers.get(name)
        if cert is None:
            cert = self._signers[name] = self.store.certificate(name)
        return cert

    def trust(self) -> TrustStore:
        """The station's own view of the trust anchors (root, CRL, signers), loaded once."""
        if self._trust is None:
            self._trust = ceremony.trust_store(self.store)
        return self._trust


def card_keys(keys: IssuerKeys, layout: Layout, card_number: str) -> dict[str, bytes]:
    """Every layout key (by layout key name) diversified for `card_number`."""
    return {name: keys.card_key(key_store_role(decl.role), card_number) for name, decl in layout.keys.items()}


def key_ref(layout: Layout, role: str) -> int:
    """The key reference the layout gives the key of `role` ("counter", "endorsement", ...)."""
    for decl in layout.keys.values():
        if decl.role == role:
            return decl.ref
    raise KeyError(f"layout {layout.id} declares no key with role {role!r}")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
