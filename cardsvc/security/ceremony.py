"""Key ceremony and the store-backed operations stations call (the `cardsvc keys …` CLI wraps these).

Names in the store:
    root                  root CA key + certificate;   crl-root: its current CRL
    ds-<code>             document signer key + certificate of authority <code> (GB/T 2260)
    es-<code>             endorsement signer key + certificate of authority <code>
    master-<role>         symmetric master key of one role (issuer, endorsement, counter, dept-…)
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from cardsvc.security.endorsement import sign_endorsement
from cardsvc.security.errors import KeyNotFound, KeyStoreError
from cardsvc.security.kdf import KeyRole, SymmetricCipher, diversification_input
from cardsvc.security.keystore import KeyStore
from cardsvc.security.pki import (
    Authority,
    RevokedEntry,
    SignerRole,
    TrustStore,
    build_crl,
    issue_signer,
    make_root_ca,
    verify_issued_by,
)
from cardsvc.security.sod import HashAlgorithm, build_sod
from cardsvc.security.suite import PrivateKey

log = logging.getLogger(__name__)

ROOT = "root"
ROOT_CRL = "crl-root"
MASTER_KEY_LENGTH = 16  # AES-128 / SM4


def signer_name(role: SignerRole, code: str) -> str:
    return ("ds-" if role is SignerRole.DOCUMENT else "es-") + code


def master_name(role: str) -> str:
    return "master-" + role


@dataclass(frozen=True, slots=True)
class CeremonyResult:
    root: x509.Certificate
    signers: Mapping[str, x509.Certificate]  # store name → certificate
    master_keys: tuple[str, ...]  # store names


def init_key_ceremony(store: KeyStore, authorities: Sequence[tuple[str, str]],
                      roles: Iterable[str] = tuple(KeyRole), root_common_name: str = "河南省居住证根证书",
                      not_before: dt.datetime | None = None,
                      root_out: Path | None = None) -> CeremonyResult:
    """Create the root CA, per authority a document and an endorsement signer, an empty CRL and one
    master key per role, every key pair of the store's suite (the layouts' `suite` and SM2 signer ID, the
    one the store was opened with). Refuses to overwrite anything already in the store (KeyExists).

    `root_out`: the root CA's private key leaves the store for this file (encrypted) at the end, for the
    operator to move offline; the service's store then holds only signers, the root certificate and the
    CRL (issue 13). `revoke_signer` and `refresh_crl` take the offline key back as `root_key`."""
    parsed = [Authority(code, name) for code, name in authorities]
    if len({a.code for a in parsed}) != len(parsed):
        raise ValueError("authorities: an authority code is listed twice")
    suite = store.suite
    store.generate_key(ROOT)
    root_key = store.private_key(ROOT)
    root = make_root_ca(root_key, root_common_name, not_before=not_before)
    store.put_certificate(ROOT, root)
    signers: dict[str, x509.Certificate] = {}
    for authority in parsed:
        for signer_role in SignerRole:
            name = signer_name(signer_role, authority.code)
            cert = issue_signer(root_key, root, store.generate_key(name), authority, signer_role,
                                not_before=not_before)
            store.put_certificate(name, cert)
            signers[name] = cert
    store.put_crl(ROOT_CRL, build_crl(root_key, root, [], number=1, this_update=not_before))
    masters = []
    for role in roles:
        name = master_name(role)
        store.generate_secret(name, MASTER_KEY_LENGTH, suite.cipher)
        masters.append(name)
    log.info("key ceremony: root, %d signer certificates, %d master keys", len(signers), len(masters))
    if root_out is not None:
        export = getattr(store, "export_private_key", None)
        if export is None:
            raise KeyStoreError(f"{type(store).__name__} cannot export the root key for offline keeping")
        export(ROOT, root_out)
    return CeremonyResult(root, signers, tuple(masters))


def _root_key(store: KeyStore, root_key: PrivateKey | None) -> PrivateKey:
    if root_key is not None:
        return root_key
    try:
        return store.private_key(ROOT)
    except KeyNotFound:
        raise KeyNotFound("root CA key: kept offline; bring it back as root_key (KeyStore.load_exported_key)") \
            from None


def revoke_signer(store: KeyStore, name: str, reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
                  when: dt.datetime | None = None, *, root_key: PrivateKey | None = None,
                  ) -> x509.CertificateRevocationList:
    """Add a signer to the root's CRL and store the new CRL (CRL number + 1)."""
    root_key, root = _root_key(store, root_key), store.certificate(ROOT)
    cert = store.certificate(name)
    old = store.crl(ROOT_CRL)
    at = when or dt.datetime.now(dt.UTC).replace(microsecond=0)
    entries = [RevokedEntry(r.serial_number, r.revocation_date_utc) for r in old]
    if all(e.serial != cert.serial_number for e in entries):
        entries.append(RevokedEntry(cert.serial_number, at, reason))
    number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    crl = build_crl(root_key, root, entries, number=number, this_update=at)
    store.put_crl(ROOT_CRL, crl)
    return crl


def refresh_crl(store: KeyStore, when: dt.datetime | None = None, *,
                root_key: PrivateKey | None = None) -> x509.CertificateRevocationList:
    """Re-issue the CRL with the same entries (before next_update passes)."""
    old = store.crl(ROOT_CRL)
    entries = [RevokedEntry(r.serial_number, r.revocation_date_utc) for r in old]
    number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    crl = build_crl(_root_key(store, root_key), store.certificate(ROOT), entries, number=number, this_update=when)
    store.put_crl(ROOT_CRL, crl)
    return crl


def trust_store(store: KeyStore, require_crl: bool = True) -> TrustStore:
    """A verifier's trust store from the key store's public objects, in the store's suite. The root must
    verify itself under that suite: a store opened for layouts whose SM2 signer ID is not the one its key
    ceremony used is refused here, by name, rather than making every card look forged."""
    root = store.certificate(ROOT)
    if not verify_issued_by(root, root, store.suite):
        raise KeyStoreError(f"key store: its root certificate does not verify under SM2 signer ID "
                            f"{store.suite.distid.decode('ascii', 'replace')!r}: the layouts name another ID than "
                            "its key ceremony used; run a key ceremony for them")
    signers = [store.certificate(n) for n in store.names("certs") if n != ROOT]
    return TrustStore([root], [store.crl(ROOT_CRL)], signers, require_crl=require_crl, suite=store.suite)


def card_key(store: KeyStore, role: str, card_number: str, cipher: SymmetricCipher | None = None) -> bytes:
    """The per-card key of `role` (kdf.diversify_key, computed inside the store), by default with the
    master key's own cipher: SM4-CMAC for a GM ceremony's master keys, AES-CMAC for an intl one's."""
    label, context = diversification_input(role, card_number)
    return store.derive(master_name(role), label, context, MASTER_KEY_LENGTH, cipher)


def sign_security_object(store: KeyStore, authority_code: str, ef_contents: Mapping[int, bytes],
                         hash_algorithm: HashAlgorithm | None = None) -> bytes:
    """EF.SOD by the authority's document signer; EF hashes by `hash_algorithm`, else the signer's suite's."""
    name = signer_name(SignerRole.DOCUMENT, authority_code)
    return build_sod(ef_contents, store.certificate(name), functools.partial(store.sign, name), hash_algorithm)


def sign_endorsement_record(store: KeyStore, authority_code: str, card_number: str, record_no: int,
                            body: bytes) -> bytes:
    name = signer_name(SignerRole.ENDORSEMENT, authority_code)
    return sign_endorsement(card_number, record_no, body, store.certificate(name),
                            functools.partial(store.sign, name))
