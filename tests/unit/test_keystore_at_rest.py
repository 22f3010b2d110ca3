"""Issue 13: private keys at rest use PBKDF2 with ≥ 600,000 iterations, and the key ceremony can keep the
root CA key offline — the service's store then holds signers, the root certificate and the CRL only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography import x509

from cardsvc.security import ceremony
from cardsvc.security.errors import KeyNotFound
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.security.pki import crl_signed_by
from cardsvc.security.suite import GM


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EncryptedFileKeyStore:
    monkeypatch.setenv(PASSPHRASE_ENV, "key store at rest test")
    return EncryptedFileKeyStore(tmp_path / "ks", suite=GM)


def iterations(pem: bytes) -> int:
    _, _, der = asn1_pem.unarmor(pem)
    params = asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]["parameters"]
    return int(params["key_derivation_func"]["parameters"]["iteration_count"].native)


def test_every_private_key_is_encrypted_with_600k_pbkdf2_iterations(store: EncryptedFileKeyStore,
                                                                    tmp_path: Path) -> None:
    store.generate_key("ds-410105")
    pem = (tmp_path / "ks" / "keys" / "ds-410105.p8.pem").read_bytes()
    assert iterations(pem) >= 600_000
    assert store.public_key("ds-410105") is not None  # and it loads back


def test_the_ceremony_moves_the_root_key_offline(store: EncryptedFileKeyStore, tmp_path: Path) -> None:
    offline = tmp_path / "root.offline.p8.pem"
    ceremony.init_key_ceremony(store, [("410105", "郑州市公安局金水分局")], roles=["issuer"], root_out=offline)
    assert store.names("keys") == ["ds-410105", "es-410105"]  # signers only, no root
    assert ceremony.ROOT in store.names("certs") and store.crl(ceremony.ROOT_CRL) is not None
    assert offline.stat().st_mode & 0o777 == 0o600 and iterations(offline.read_bytes()) >= 600_000
    with pytest.raises(KeyNotFound, match="offline"):
        ceremony.refresh_crl(store)
    root_key = store.load_exported_key(offline)  # the operator brings it back for the CRL
    crl = ceremony.refresh_crl(store, dt.datetime.now(dt.UTC), root_key=root_key)
    assert crl_signed_by(crl, store.certificate(ceremony.ROOT), GM)  # either suite's root (SM2 by default)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert store.crl(ceremony.ROOT_CRL) == crl
    trust = ceremony.trust_store(store)  # the counter's trust: root certificate, CRL, signers
    assert trust.roots and trust.signers
